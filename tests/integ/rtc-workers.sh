#!/usr/bin/env bash
# lsp-rtc --workers 2: one signalling port, two worker processes, each with
# its own UDP port (port 0: each picks one).  WHEP offers for two channels
# land on both workers (each answer's candidate is its worker's port);
# DELETE through the supervisor ends the session on the worker that owns
# it; wire-level viewers (bench/whep-load: ICE, DTLS-SRTP like a browser)
# on both workers receive media; kill -9 of one worker loses only its
# viewer — the other worker's viewer keeps receiving without loss — and
# the worker is restarted on its port and serves again; a channel's
# viewers share a worker; /stats lists both; metrics count the restart;
# SIGTERM stops all.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need python3
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"
H=$(free_port); M=$(free_port)
san=(); [ "${SANITIZE:-}" = 1 ] && san=(-fsanitize=address,undefined)
cc -std=c17 -D_GNU_SOURCE -O2 "${san[@]}" -I"$ROOT/lib" -o "$T/whep-load" "$ROOT/bench/whep-load.c" \
	"$ROOT/${BUILD:-build/rel}/liblsp.a" $(pkg-config --libs openssl) 2>"$T/cc.log" ||
	{ cat "$T/cc.log"; fail "cannot build bench/whep-load.c"; }
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 120 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | '$BIN/lsp-ring' --channel demo | exec '$BIN/lsp-ring' --channel demo2 --no-pass" 2>"$T/ring.log"
bg "$BIN/lsp-rtc" --workers 2 --http "127.0.0.1:$H" --udp 127.0.0.1:0 --candidate 127.0.0.1 --consent 4 \
	--metrics "127.0.0.1:$M" 2>"$T/rtc.log"
rtc=${_pids[-1]}
wait_port "$H" 10 || { cat "$T/rtc.log"; fail "lsp-rtc did not listen"; }
wait_grep '"event":"listening".*"workers":2' "$T/rtc.log" 5 || fail "no listening event with workers 2: $(cat "$T/rtc.log")"
ports=$(sed -n 's/.*"event":"listening".*"udp_ports":"\([0-9,]*\)".*/\1/p' "$T/rtc.log")
p0=${ports%,*}; p1=${ports#*,}
[ -n "$p0" ] && [ -n "$p1" ] && [ "$p0" != "$p1" ] || fail "workers' UDP ports: '$ports'"
for _ in $(seq 100); do [ "$(grep -c '"event":"worker started"' "$T/rtc.log")" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c '"event":"worker started"' "$T/rtc.log")" -ge 2 ] || fail "workers not started: $(cat "$T/rtc.log")"
wait_file "$LSP_RING_DIR/lsp-ring-demo" 10 && wait_file "$LSP_RING_DIR/lsp-ring-demo2" 10 ||
	{ cat "$T/ring.log"; fail "no rings"; }
# each worker is exec'd afresh (no thread or lock of the supervisor's,
# NATS and the metrics responder among them, crosses into it)
nexec=0
for _ in $(seq 50); do
	nexec=0
	for k in $(pgrep -P "$rtc"); do
		tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null | grep -q -- "^[^ ]*lsp-rtc --rtc-worker [0-9]" && nexec=$((nexec + 1))
	done
	[ "$nexec" -ge 2 ] && break
	sleep 0.1
done
[ "$nexec" -ge 2 ] || fail "workers not exec'd (--rtc-worker): $(pgrep -a -P "$rtc")"
ok "2 exec'd workers on UDP ports $p0 and $p1 behind :$H"

# two channels (one feed, two rings): a channel's viewers stay on the
# worker serving it, a new channel goes to the least-loaded worker — so
# the two channels' offers land on both workers, each answer offering its
# worker's port; the supervisor routes DELETE by the session id
offer=$'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:active\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n'
locs=(); cports=()
for ch in demo demo2; do
	curl -s -D "$T/h$ch" -o "$T/a$ch" -X POST -H 'Content-Type: application/sdp' --data-binary "$offer" \
		"http://127.0.0.1:$H/whep/$ch" || fail "offer $ch: curl failed"
	head -n1 "$T/h$ch" | grep -q ' 201 ' || fail "offer $ch: $(head -n1 "$T/h$ch")"
	locs+=("$(sed -n 's/^Location: \([^\r]*\)\r\?$/\1/p' "$T/h$ch")")
	cports+=("$(sed -n 's/^a=candidate:[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* \([0-9]*\) .*/\1/p' "$T/a$ch" | head -n1)")
done
[ "${cports[0]}" != "${cports[1]}" ] || fail "both channels went to one worker (candidate ports ${cports[*]})"
for c in "${cports[@]}"; do [ "$c" = "$p0" ] || [ "$c" = "$p1" ] || fail "candidate port $c is no worker's"; done
for l in "${locs[@]}"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$H$l")
	[ "$code" = 200 ] || fail "DELETE $l answered $code"
	code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$H$l")
	[ "$code" = 404 ] || fail "second DELETE $l answered $code (want 404)"
done
for w in 0 1; do
	wait_grep "\"event\":\"viewer gone\".*\"reason\":\"deleted\".*\"worker\":$w" "$T/rtc.log" 5 ||
		fail "worker $w logged no deleted viewer"
done
ok "offers on both workers (candidate ports ${cports[*]}); DELETE via the supervisor reached each"

# a wire-level viewer (bench/whep-load: ICE, DTLS-SRTP) of each channel,
# one on each worker; kill -9 the worker of demo2's viewer in the middle
"$T/whep-load" "http://127.0.0.1:$H/whep/demo" 1 10 --each >"$T/a.out" 2>"$T/a.err" &
la=$!
"$T/whep-load" "http://127.0.0.1:$H/whep/demo2" 1 10 --each >"$T/b.out" 2>"$T/b.err" &
lb=$!
for _ in $(seq 300); do grep -q '^media' "$T/a.err" && grep -q '^media' "$T/b.err" && break; sleep 0.1; done
grep -q '^media' "$T/a.err" && grep -q '^media' "$T/b.err" ||
	{ cat "$T"/[ab].err "$T"/[ab].out; fail "viewers did not connect"; }
st=$(curl -s -m 5 "http://127.0.0.1:$H/stats")
read -r wa wb pidb < <(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["sessions_total"] == 2, d
w = {s["channel"]: s["worker"] for s in d["sessions"]}
assert sorted(w.values()) == [0, 1], d["sessions"]
ws = d["workers"]
assert len(ws) == 2 and all(x["alive"] for x in ws), ws
print(w["demo"], w["demo2"], ws[w["demo2"]]["pid"])' "$st") || fail "/stats with a viewer on each worker: $st"
[ -n "$pidb" ] || fail "/stats: $st"
sleep 2
kill -9 "$pidb"
wait_grep "\"event\":\"worker died\".*\"worker\":$wb.*\"reason\":\"signal 9\"" "$T/rtc.log" 10 || fail "no worker died event"
wait "$la"; wait "$lb"
a=$(cat "$T/a.out"); b=$(cat "$T/b.out")
echo "$a"; echo "$b"
python3 -c '
import json, sys
a = json.loads(sys.argv[1].splitlines()[1]); b = json.loads(sys.argv[2].splitlines()[1])
# the other worker'"'"'s viewer: media to the end, nothing lost
assert a["packets"] > 200 and a["lost"] == 0 and 0 <= a["idle_ms"] < 1500, a
# the killed worker'"'"'s viewer: cut off when it died
assert b["idle_ms"] > 3000, b' "$a" "$b" || fail "after kill -9 of worker $wb"
ok "kill -9 of worker $wb: worker $wa's viewer kept receiving without loss, worker $wb's was cut off"

for _ in $(seq 100); do grep -q "\"event\":\"worker started\".*\"worker\":$wb.*\"restart\":1" "$T/rtc.log" && break; sleep 0.1; done
grep "\"event\":\"worker started\".*\"worker\":$wb.*\"restart\":1" "$T/rtc.log" | grep -q "\"udp\":$([ "$wb" = 0 ] && echo "$p0" || echo "$p1")" ||
	fail "worker $wb not restarted on its port: $(grep '"worker started"' "$T/rtc.log")"
# the restarted worker serves again; demo's viewers join demo's worker
"$T/whep-load" "http://127.0.0.1:$H/whep/demo" 2 3 --each >"$T/c.out" 2>"$T/c.err" &
lc=$!
"$T/whep-load" "http://127.0.0.1:$H/whep/demo2" 1 3 --each >"$T/d.out" 2>"$T/d.err" || fail "demo2 after the restart: $(cat "$T/d.out" "$T/d.err")"
wait "$lc" || fail "demo after the restart: $(cat "$T/c.out" "$T/c.err")"
python3 -c '
import json, sys
pw = [int(sys.argv[3]), int(sys.argv[4])]
c = [json.loads(l) for l in open(sys.argv[1])]; d = [json.loads(l) for l in open(sys.argv[2])]
for x in (c, d):
    assert x[0]["connected"] == x[0]["viewers"] and x[0]["lost"] == 0 and x[0]["mbps_per_viewer"] > 0.05, x[0]
assert [v["port"] for v in c[1:]] == [pw[int(sys.argv[5])]] * 2, c
assert d[1]["port"] == pw[int(sys.argv[6])], d' "$T/c.out" "$T/d.out" "$p0" "$p1" "$wa" "$wb" ||
	fail "after the restart: $(cat "$T/c.out" "$T/d.out")"
ok "worker $wb restarted on its port and serves again; a channel's viewers share its worker"
m=$(curl -s "http://127.0.0.1:$M/metrics")
grep -q '^lsp_rtc_worker_restarts_total 1$' <<<"$m" || fail "restart not counted: $(grep worker <<<"$m")"
grep -q '^lsp_rtc_workers 2$' <<<"$m" || fail "workers gauge: $(grep worker <<<"$m")"
ok "metrics: lsp_rtc_workers 2, lsp_rtc_worker_restarts_total 1"

kill -TERM "$rtc"
for _ in $(seq 100); do kill -0 "$rtc" 2>/dev/null || break; sleep 0.1; done
kill -0 "$rtc" 2>/dev/null && fail "lsp-rtc did not stop on SIGTERM"
wait "$rtc"; rc=$?
[ $rc -eq 0 ] || fail "lsp-rtc exit $rc"
pgrep -f -- "--http 127.0.0.1:$H " >/dev/null && fail "a worker outlived the supervisor"
grep -q '"event":"stopped"' "$T/rtc.log" || fail "no stopped event"
grep -q '"level":"fatal"' "$T/rtc.log" && fail "fatal log"
ok "SIGTERM: supervisor and workers stopped"
exit 0
