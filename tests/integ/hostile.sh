#!/usr/bin/env bash
# test: alone
# hostile — every listener keeps serving real clients while thousands of
# idle sockets sit on it, and nobody spins or floods the log when the
# descriptors run out (issue #20).  Idle sockets come from 127.0.0.2 and up
# (tests/tools/idlesock.py), real clients from 127.0.0.1:
#   lsp-ingest  5 000 idle from 80 addresses (they wait in the parent, no
#               fork; over 4 096 the oldest is closed) → ffmpeg still
#               publishes; --max-conn 20 with 40 stalled handshakes (the
#               oldest not publishing make room) → still publishes; refusals
#               logged once a second with a count held back
#   lsp-api     5 000 idle → /api/v1/health answered; --max-conns 100 with
#               300 idle → still answered (eviction); one address over
#               --max-per-addr refused
#   lsp-chat,   5 000 idle → still served
#   lsp-edge
#   out of fds  lsp-edge and lsp-chat under a 96-descriptor limit with 300
#               idle clients: a handful of log lines, little CPU, served
#               again once the clients leave
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
need ffmpeg
need curl
IDLE=$ROOT/tests/tools/idlesock.py
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# idle PORT COUNT PER_ADDR [extra] → pid in $IDLEPID once all were tried
idle() {
	local out=$T/idle-$1-$RANDOM
	python3 "$IDLE" "$1" "$2" --per-addr "$3" --hold 300 "${@:4}" >"$out" 2>&1 &
	IDLEPID=$!
	_pids+=($IDLEPID)
	wait_grep '^opened' "$out" 120 || fail "idlesock on :$1 never finished: $(cat "$out")"
	echo "    $(cat "$out") on :$1"
}

# ---- lsp-ingest ----
K=$(new_channel alpha)
P=$(free_port) M=$(free_port)
bg "$BIN/lsp-ingest" -l "127.0.0.1:$P" -o "$T/{channel}.ts" --metrics "127.0.0.1:$M" 2>"$T/ingest.log"
IPID=$!
wait_port "$P" 10 || fail "lsp-ingest did not listen"
idle "$P" 5000 64; I1=$IDLEPID
idle "$P" 100 100 --from 127.0.0.200 # one address over --max-per-addr (64)
kids=$(grep -ls "^PPid:[[:space:]]*$IPID$" /proc/[0-9]*/status | wc -l)
[ "$kids" -le 5 ] || fail "lsp-ingest forked $kids processes for idle sockets"
publish "rtmp://127.0.0.1:$P/live/$K" 3 2>"$T/ff.err" || { cat "$T/ff.err"; tail -5 "$T/ingest.log"; fail "publish beside 5 000 idle sockets failed"; }
wait_grep '"publish stopped","channel":"alpha"' "$T/ingest.log" 10 || fail "publish never stopped"
check_ts "$T/alpha.ts" 3
curl -sf "http://127.0.0.1:$M/metrics" >"$T/ingest.prom" || fail "no ingest metrics"
ev=$(awk '/^lsp_ingest_connections_evicted_total/ { print $NF }' "$T/ingest.prom")
n=$(grep -c '"connection refused"' "$T/ingest.log")
nref=$(awk '/^lsp_ingest_connections_refused_total/ { s += $NF } END { print s + 0 }' "$T/ingest.prom")
[ "$nref" -ge 36 ] || fail "only $nref refusals counted (36 over the per-address cap)"
[ "$n" -le 60 ] && [ "$n" -lt "$nref" ] || fail "$n refusal lines for $nref refusals: not rate-limited"
grep -q "$K" "$T/ingest.log" && fail "stream key in the log"
kill "$IDLEPID" "$I1"
ok "lsp-ingest: publish served beside 5 100 idle sockets ($kids children, ${ev:-0} evicted, $nref refused in $n log lines)"
P2=$(free_port) M2=$(free_port)
bg "$BIN/lsp-ingest" -l "127.0.0.1:$P2" -o "$T/small-{channel}.ts" --max-conn 20 --metrics "127.0.0.1:$M2" 2>"$T/ingest2.log"
wait_port "$P2" 10 || fail "lsp-ingest (small) did not listen"
idle "$P2" 40 10 --send 03
publish "rtmp://127.0.0.1:$P2/live/$K" 2 2>"$T/ff2.err" || { cat "$T/ff2.err"; fail "stalled handshakes locked the publisher out"; }
curl -sf "http://127.0.0.1:$M2/metrics" >"$T/ingest2.prom" || fail "no ingest metrics"
ev=$(awk '/^lsp_ingest_connections_evicted_total/ { print $NF }' "$T/ingest2.prom")
awk -v e="${ev:-0}" 'BEGIN { exit !(e >= 20) }' || fail "stalled handshakes were not evicted (${ev:-none})"
check_ts "$T/small-alpha.ts" 2 0.3
kill "$IDLEPID"
ok "lsp-ingest: 40 stalled handshakes over --max-conn 20 make room for a publisher ($ev evicted)"

# ---- lsp-api ----
A=$(free_port)
bg "$BIN/lsp-api" -l "127.0.0.1:$A" --scrypt-log2n 10 2>"$T/api.log"
wait_port "$A" 10 || fail "lsp-api did not listen"
idle "$A" 5000 200
curl -sf --max-time 5 "http://127.0.0.1:$A/api/v1/health" >/dev/null || fail "lsp-api: health not served beside 5 000 idle sockets"
kill "$IDLEPID"
A2=$(free_port)
bg "$BIN/lsp-api" -l "127.0.0.1:$A2" --max-conns 100 --max-per-addr 50 --scrypt-log2n 10 2>"$T/api2.log"
wait_port "$A2" 10 || fail "lsp-api (small) did not listen"
idle "$A2" 300 40
curl -sf --max-time 5 "http://127.0.0.1:$A2/api/v1/health" >/dev/null || fail "lsp-api: full table locked a client out"
kill "$IDLEPID"
idle "$A2" 60 60 --from 127.0.0.99
wait_grep '"too many connections from this address"' "$T/api2.log" 5 || fail "per-address cap not applied"
kill "$IDLEPID"
ok "lsp-api: served beside 5 000 idle sockets; a full table makes room; one address capped"

# ---- lsp-chat and lsp-edge ----
C=$(free_port) E=$(free_port)
mkdir -p "$T/hls" "$T/web"; echo hello >"$T/web/index.html"
bg "$BIN/lsp-chat" -l "127.0.0.1:$C" 2>"$T/chat.log"
bg "$BIN/lsp-edge" --listen "127.0.0.1:$E" --hls-root "$T/hls" --web-root "$T/web" 2>"$T/edge.log"
wait_port "$C" 10 && wait_port "$E" 10 || fail "lsp-chat/lsp-edge did not listen"
idle "$C" 5000 5000; PC=$IDLEPID
idle "$E" 5000 5000; PE=$IDLEPID
curl -sf --max-time 5 "http://127.0.0.1:$C/presence?channels=alpha" >/dev/null || fail "lsp-chat not served beside 5 000 idle sockets"
curl -sf --max-time 5 "http://127.0.0.1:$E/healthz" >/dev/null || fail "lsp-edge not served beside 5 000 idle sockets"
kill "$PC" "$PE"
ok "lsp-chat and lsp-edge: served beside 5 000 idle sockets"

# ---- out of descriptors ----
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
for who in edge chat; do
	Q=$(free_port)
	if [ $who = edge ]; then
		bg prlimit --nofile=96:96 "$BIN/lsp-edge" --listen "127.0.0.1:$Q" --hls-root "$T/hls" --web-root "$T/web" 2>"$T/fd-$who.log"
		url=http://127.0.0.1:$Q/healthz
	else
		bg prlimit --nofile=96:96 "$BIN/lsp-chat" -l "127.0.0.1:$Q" 2>"$T/fd-$who.log"
		url="http://127.0.0.1:$Q/presence?channels=alpha"
	fi
	SP=$!
	wait_port "$Q" 10 || fail "$who (96 fds) did not listen"
	idle "$Q" 300 300
	wait_grep '"accept: out of descriptors"' "$T/fd-$who.log" 10 || fail "$who: running out of descriptors not logged"
	t0=$(ticks "$SP"); sleep 3; t1=$(ticks "$SP")
	lines=$(grep -c '"accept: out of descriptors"' "$T/fd-$who.log")
	[ "$lines" -le 20 ] || fail "$who: $lines out-of-descriptor lines (not rate-limited)"
	# spinning on a readable listener burns a whole core; shedding burns ~nothing
	[ $((t1 - t0)) -lt 150 ] || fail "$who: $((t1 - t0)) CPU ticks in 3 s while out of descriptors (spinning)"
	kill "$IDLEPID"; wait "$IDLEPID" 2>/dev/null
	for _ in $(seq 50); do curl -sf --max-time 2 "$url" >/dev/null && break; sleep 0.2; done
	curl -sf --max-time 5 "$url" >/dev/null || fail "$who: not served again once descriptors were free"
	ok "$who out of descriptors: $lines log lines, $((t1 - t0)) CPU ticks in 3 s, served again after"
done
