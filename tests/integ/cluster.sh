#!/usr/bin/env bash
# test: alone
# Cluster mode on real hosts: six network namespaces on one bridge (ip netns
# + veth) — db (Postgres), nats, origin A, origin B, edge 1, edge 2.  Every
# lsp tool on every host has LSP_DB_URL pointing at the one Postgres on db
# and LSP_NATS_URL at nats: the channel is created once (lsp-ctl on A) and
# its key works on both ingest nodes.  The encoder (ffmpeg, root namespace)
# publishes to A; both `lsp-edge --origin auto` learn A from NATS
# (lsp.stream.<ch>.live "origin") and relay it.  Checks, in order:
#   - both edges serve LL-HLS parts that ffprobe reads (h264 + aac);
#   - request coalescing: N viewers of one not-yet-written part through one
#     edge cost exactly one upstream fetch (lsp_edge_relay_* counters);
#   - headless Chromium plays the watch page through an edge (when chromium,
#     node and tests/browser's playwright-core are installed);
#   - edge 1 dies (every process in its namespace, SIGKILL): its viewer moves
#     to edge 2, edge 2's viewer must not notice; edge 1 restarts and finds
#     the live channel from .health;
#   - origin A dies: the encoder publishes to B (same Postgres, same NATS),
#     B announces itself and both edges follow; printed: seconds from that
#     publish to the first part served by B itself and via each edge;
#   - the survivors stop on SIGTERM and no log holds a sanitizer report.
# Recovery times are what viewers saw (they poll every 0.1 s).
# Viewers (cluster/viewer.py) and the encoder run in the root namespace,
# which reaches every host through the bridge.  Needs root and `ip netns`;
# otherwise skipped.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || skip "needs root for ip netns"
command -v ip >/dev/null || skip "no ip(8)"
need ffmpeg; need ffprobe; need python3; need curl; need nats-server
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$PGBIN/initdb" ] || fail "postgres not installed (run make deps)"

S=$$
for k in $(seq 0 199); do # a /24 no other interface (another run of this test) uses
	NET=10.213.$(( (S + k) % 200 + 20 ))
	ip -4 -o addr show | grep -q " $NET\." || break
done
BR=lspbr$S
HOSTS=(db nats oa ob e1 e2)
declare -A IP NS
j=0
for h in "${HOSTS[@]}"; do j=$((j + 1)); NS[$h]=lspc$S-$h; IP[$h]=$NET.$((10 + j)); done

# namespaces left by a run that was SIGKILLed (its pid is gone)
for n in $(ip netns list 2>/dev/null | awk '$1 ~ /^lspc[0-9]+-/ { print $1 }'); do
	p=${n#lspc}; p=${p%%-*}
	kill -0 "$p" 2>/dev/null && continue
	for q in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$q" 2>/dev/null; done
	ip netns del "$n" 2>/dev/null; ip link del "lspbr$p" 2>/dev/null
done
ip netns add "lspc$S-probe" 2>/dev/null && ip netns del "lspc$S-probe" 2>/dev/null || skip "ip netns unavailable here"

PGD=$T/pg
pg_down() { [ -f "$PGD/postmaster.pid" ] && su postgres -c "$PGBIN/pg_ctl -D $PGD -m immediate -t 5 stop" >/dev/null 2>&1; return 0; }
net_down() {
	local h p
	for h in "${HOSTS[@]}"; do
		for p in $(ip netns pids "${NS[$h]}" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "${NS[$h]}" 2>/dev/null
	done
	ip link del "$BR" 2>/dev/null
	return 0
}
trap 'pg_down; net_down; _cleanup' EXIT
trap 'exit 143' TERM; trap 'exit 130' INT; trap 'exit 129' HUP # so that EXIT runs

ip link add "$BR" type bridge || fail "bridge"
ip addr add "$NET.1/24" dev "$BR" && ip link set "$BR" up || fail "bridge address"
j=0
for h in "${HOSTS[@]}"; do
	j=$((j + 1))
	ip netns add "${NS[$h]}" || fail "netns add"
	ip link add "lv$S$j" type veth peer name "lp$S$j" || fail "veth"
	ip link set "lp$S$j" netns "${NS[$h]}" && ip link set "lv$S$j" master "$BR" up || fail "veth setup"
	ip netns exec "${NS[$h]}" ip addr add "${IP[$h]}/24" dev "lp$S$j" || fail "host address"
	ip netns exec "${NS[$h]}" ip link set "lp$S$j" up
	ip netns exec "${NS[$h]}" ip link set lo up
done
echo "hosts: network namespaces ${HOSTS[*]} on $NET.0/24"
on() { local h=$1; shift; ip netns exec "${NS[$h]}" "$@"; }
# every process of one "host" dies at once (SIGKILL), like a power cut
host_kill() { local p; for p in $(ip netns pids "${NS[$1]}"); do kill -9 "$p" 2>/dev/null; done; }
start_on() { # host logfile cmd...
	local h=$1 log=$2; shift 2
	on "$h" "$@" 2>"$log" &
	_pids+=($!)
}
wait_tcp() { # ip port [seconds]
	local i
	for ((i = 0; i < ${3:-5} * 10; i++)); do (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
now_ms() { date +%s%3N; }
code() { curl -s -o /dev/null -w '%{http_code}' "$1"; }

# the db host: one Postgres for the whole cluster
mkdir -p "$PGD" && chown postgres "$PGD" && chmod 711 "$T"
su postgres -c "$PGBIN/initdb -A trust -U lsp -D $PGD" >"$T/pg-init.log" 2>&1 || { cat "$T/pg-init.log"; fail "initdb"; }
echo "host all all $NET.0/24 trust" >>"$PGD/pg_hba.conf" # the other hosts
on db su postgres -c "$PGBIN/pg_ctl -D $PGD -l $PGD/log -w -t 20 -o '-k $PGD -h ${IP[db]} -p 5432' start" \
	>"$T/pg-start.log" 2>&1 || { cat "$PGD/log"; fail "postgres did not start on the db host"; }
DB=postgres://lsp@${IP[db]}:5432/postgres

NATS=nats://${IP[nats]}:4222
start_on nats "$T/nats.log" nats-server -a "${IP[nats]}" -p 4222 -js -sd "$T/nats"
wait_tcp "${IP[nats]}" 4222 || fail "nats-server did not start"
on e1 bash -c "exec 3<>/dev/tcp/${IP[nats]}/4222" 2>/dev/null ||
	fail "host e1 cannot reach host nats over the bridge (br_netfilter with a FORWARD drop policy?)"

# the channel, created once (on A) in the shared database, is known on B
CH=clu$S
mkdir -p "$T/oa" "$T/ob" "$T/e1" "$T/e2"
KEY=$(on oa env LSP_DB_URL="$DB" LSP_DATA_DIR="$T/oa" "$BIN/lsp-ctl" channel add "$CH" 2>>"$T/ctl.log" | tail -n1 | awk '{print $NF}')
[ -n "$KEY" ] || { cat "$T/ctl.log"; fail "no stream key"; }
on ob env LSP_DB_URL="$DB" LSP_DATA_DIR="$T/ob" "$BIN/lsp-ctl" channel list 2>>"$T/ctl.log" | grep -q "^$CH\b" ||
	fail "channel made on A is not listed on B"
ok "channel $CH created on host oa, listed on host ob (Postgres on host db)"

origin() { # host
	local h=$1
	mkdir -p "$T/$h/ring" "$T/$h/hls"
	start_on "$h" "$T/$h-ingest.log" env LSP_DB_URL="$DB" LSP_DATA_DIR="$T/$h" LSP_NATS_URL="$NATS" \
		LSP_ORIGIN_URL="http://${IP[$h]}:8080" LSP_TRANSCODE=0 LSP_RING_DIR="$T/$h/ring" LSP_BIN="$BIN" LSP_DVR=0 \
		"$BIN/lsp-ingest" -l "${IP[$h]}:1935" -t 3 -e "$ROOT/scripts/lsp-channel {channel}"
	start_on "$h" "$T/$h-edge.log" env LSP_DB_URL="$DB" LSP_DATA_DIR="$T/$h" \
		"$BIN/lsp-edge" -l "${IP[$h]}:8080" --hls-root "$T/$h/hls" --web-root "$ROOT/web"
}
edge() { # host
	start_on "$1" "$T/$1-edge.log" env LSP_DB_URL="$DB" LSP_DATA_DIR="$T/$1" LSP_NATS_URL="$NATS" \
		"$BIN/lsp-edge" -l "${IP[$1]}:8080" --origin auto --origin-ttl 3000 --web-root "$ROOT/web"
}
publish() { # host
	ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i "testsrc2=size=320x240:rate=25" \
		-f lavfi -i "sine=frequency=440:sample_rate=44100" -t 60 -c:v libx264 -preset ultrafast \
		-tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k -f flv "rtmp://${IP[$1]}:1935/live/$KEY" \
		2>>"$T/ffmpeg.log" &
	_pids+=($!); FF=$!
}
origin oa; origin ob; edge e1; edge e2
for h in oa ob e1 e2; do wait_tcp "${IP[$h]}" 8080 || fail "lsp-edge on $h did not listen"; done
wait_tcp "${IP[oa]}" 1935 && wait_tcp "${IP[ob]}" 1935 || fail "lsp-ingest did not listen"
E1=http://${IP[e1]}:8080 E2=http://${IP[e2]}:8080 OB=http://${IP[ob]}:8080

# usage: auto needs NATS; an unknown channel is a 404 on an auto edge
env -u LSP_NATS_URL "$BIN/lsp-edge" --origin auto -l 127.0.0.1:0 2>/dev/null; [ $? = 100 ] || fail "--origin auto without LSP_NATS_URL"
[ "$(code "$E1/hls/nochannel/master.m3u8")" = 404 ] || fail "unknown channel not 404"

publish oa
t_pub=$(now_ms)
for i in $(seq 150); do
	c1=$(code "$E1/hls/$CH/master.m3u8"); c2=$(code "$E2/hls/$CH/master.m3u8")
	[ "$c1$c2" = 200200 ] && break; sleep 0.1
done
[ "$c1$c2" = 200200 ] || { tail -n 5 "$T"/oa-*.log "$T/ffmpeg.log"; fail "edges do not relay the channel ($c1 $c2)"; }
ok "both edges found origin A through NATS and relay $CH ($(( $(now_ms) - t_pub )) ms after publish)"

# LL-HLS through each edge: the newest part, with its init segment, is media
probe_edge() { # base-url → "codec,packets" lines
	local b=$1/hls/$CH rung pl dir init part
	rung=$(curl -sf "$b/master.m3u8" | grep -v '^#' | head -n1) && [ -n "$rung" ] || return 1
	pl=$(curl -sf "$b/$rung") || return 1
	dir=${rung%/*}
	init=$(sed -n 's/^#EXT-X-MAP:URI="\([^"]*\)".*/\1/p' <<<"$pl" | tail -n1)
	part=$(sed -n 's/^#EXT-X-PART:.*URI="\([^"]*\)".*/\1/p' <<<"$pl" | tail -n1)
	[ -n "$init" ] && [ -n "$part" ] || return 1
	curl -sf "$b/$dir/$init" >"$T/probe.mp4" && curl -sf "$b/$dir/$part" >>"$T/probe.mp4" || return 1
	ffprobe -v error -count_packets -show_entries stream=codec_name,nb_read_packets -of csv=p=0 "$T/probe.mp4"
}
for e in "$E1" "$E2"; do
	pr=$(probe_edge "$e" | tr '\n' ' ')
	grep -Eq 'h264,[1-9]' <<<"$pr" && grep -Eq 'aac,[1-9]' <<<"$pr" || fail "part via $e is not h264+aac media: '$pr'"
	ok "part via $e: $pr"
done

# the watch page's live/offline state comes through the edge as well
for e in "$E1" "$E2"; do
	a=$(curl -s "$e/api/channels/$CH")
	grep -q '"live":true' <<<"$a" || fail "$e/api/channels/$CH through the auto edge: '$a' (needs lsp_originmap_route to route /api/channels/<ch>)"
done
for e in "$E1" "$E2"; do # the directory: every channel live on any origin, from NATS
	a=$(curl -s "$e/api/channels")
	grep -q "{\"name\":\"$CH\",\"live\":true" <<<"$a" || fail "$e/api/channels lacks $CH: '$a'"
done
ok "channel state (/api/channels/$CH) and the directory (/api/channels) live through both edges"

# coalescing, while edge 1 has no other client: N viewers of one part that
# is not written yet → one upstream fetch, the others wait on it (or, if the
# part landed first, hit the cache)
N=20
for try in 1 2 3; do
	r=$(python3 "$HERE/cluster/coalesce.py" "$E1" "$CH" $N) || fail "coalesce.py: $r"
	read -r codes same up co hit < <(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(",".join(d["codes"]), d["same"], d["upstream"], d["coalesced"], d["hits"])' "$r")
	[ "$codes" = 200 ] && [ "$same" = True ] || fail "$N viewers of one part: $r"
	[ "$up" = 1 ] && [ $((co + hit)) = $((N - 1)) ] || fail "$N viewers of one part cost $up upstream fetches: $r"
	[ "$co" -ge 1 ] && break # someone did wait on the fetch
done
[ "$co" -ge 1 ] || fail "no request ever waited on an upstream fetch in $try tries: $r"
ok "$N concurrent viewers of one part via edge 1: 1 upstream fetch, $co coalesced, $hit cache hits ($r)"

bg python3 "$HERE/cluster/viewer.py" "$T/v1.log" "$CH" 60 "$E1" "$E2"
bg python3 "$HERE/cluster/viewer.py" "$T/v2.log" "$CH" 60 "$E2"

# a real browser through edge 2 (optional: only where it is installed)
B=$ROOT/tests/browser
if command -v node >/dev/null && [ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d "$B/node_modules/playwright-core" ]; then
	out=$(cd "$B" && timeout -k 2 40 node watch.mjs "$E2/watch/$CH" --timeout 25 2>"$T/node.err") ||
		{ cat "$T/node.err"; fail "Chromium did not play $CH through edge 2: $out"; }
	ok "Chromium plays $CH through edge 2: $out"
else
	echo "note: no chromium/node/playwright-core here: browser play not tried"
fi
sleep 1
[ "$(grep -c ' ok ' "$T/v1.log")" -ge 5 ] && [ "$(grep -c ' ok ' "$T/v2.log")" -ge 5 ] || fail "viewers get no parts"

# outage seen by a viewer after t0: the longest wait for a new part
outage() { # log t0 → ms
	awk -v t0="$2" '$2 == "ok" { if (prev != "" && $1 > t0) { s = prev > t0 ? prev : t0; if ($1 - s > g) g = $1 - s } prev = $1 }
		END { print g + 0 }' "$1"
}
oks_after() { awk -v t0="$2" '$2 == "ok" && $1 > t0' "$1" | wc -l; }
first_after() { awk -v t0="$2" '$2 == "ok" && $1 > t0 { print $1 - t0; f = 1; exit } END { if (!f) print -1 }' "$1"; }

# 1. edge 1 dies
t0=$(now_ms); host_kill e1
sleep 4
n1=$(oks_after "$T/v1.log" "$t0"); g1=$(outage "$T/v1.log" "$t0"); g2=$(outage "$T/v2.log" "$t0")
[ "$n1" -ge 5 ] || { tail "$T/v1.log"; fail "viewer of edge 1 did not recover"; }
grep -q "switch $E2" "$T/v1.log" || fail "viewer 1 never switched"
[ "$g2" -lt 1500 ] || fail "edge 2's viewer disturbed by edge 1's death (${g2} ms)"
[ "$(code "$E2/hls/$CH/master.m3u8")" = 200 ] || fail "edge 2 stopped serving"
echo "recovery: edge 1 killed → its viewer on edge 2 with new media after ${g1} ms; edge 2's viewer's longest wait ${g2} ms"
ok "edge failure"

# an edge that starts while the channel is live learns its origin from .health
t0=$(now_ms); edge e1
wait_tcp "${IP[e1]}" 8080 || fail "edge 1 did not restart"
for i in $(seq 50); do [ "$(code "$E1/hls/$CH/master.m3u8")" = 200 ] && break; sleep 0.1; done
[ "$(code "$E1/hls/$CH/master.m3u8")" = 200 ] || fail "a restarted edge did not find the live channel"
ok "restarted edge 1 relays the live channel $(( $(now_ms) - t0 )) ms after start (from .health)"
bg python3 "$HERE/cluster/viewer.py" "$T/v3.log" "$CH" 40 "$E1"
bg python3 "$HERE/cluster/viewer.py" "$T/vb.log" "$CH" 40 "$OB" # origin B itself, for comparison
wait_grep ' ok ' "$T/v3.log" 5 || fail "no viewer on the restarted edge 1"

# 2. origin A dies; the encoder publishes to B (same key: same database)
t0=$(now_ms); host_kill oa; kill "$FF" 2>/dev/null
publish ob
t_pub=$(now_ms)
for i in $(seq 150); do [ "$(oks_after "$T/v2.log" "$t_pub")" -ge 5 ] && [ "$(oks_after "$T/v3.log" "$t_pub")" -ge 5 ] && break; sleep 0.1; done
for v in v2 v3; do
	[ "$(oks_after "$T/$v.log" "$t_pub")" -ge 5 ] || { tail "$T/$v.log" "$T/ob-ingest.log"; fail "viewer $v's edge did not follow the channel to origin B"; }
done
[ "$(curl -s "$E1/hls/$CH/src/index.m3u8" | grep -c '^#EXT-X-PART:')" -ge 1 ] || fail "no parts from B via edge 1"
[ "$(curl -s "$E2/hls/$CH/src/index.m3u8" | grep -c '^#EXT-X-PART:')" -ge 1 ] || fail "no parts from B via edge 2"
grep -q "\"event\":\"publish started\",\"channel\":\"$CH\"" "$T/ob-ingest.log" || fail "origin B did not accept the key made on A"
fb=$(first_after "$T/vb.log" "$t_pub"); f1=$(first_after "$T/v3.log" "$t_pub"); f2=$(first_after "$T/v2.log" "$t_pub")
sec() { awk -v m="$1" 'BEGIN { printf "%.2f", m / 1000 }'; }
echo "recovery: origin A killed, encoder published to B → first part from B itself after $(sec "$fb") s," \
	"via edge 1 after $(sec "$f1") s, via edge 2 after $(sec "$f2") s" \
	"(viewer outages since the kill: edge 1 $(outage "$T/v3.log" "$t0") ms, edge 2 $(outage "$T/v2.log" "$t0") ms)"
ok "origin failover to B through the shared Postgres and NATS"

# the database lives on the db host only: no SQLite file on any node
ls "$T"/o?/lsp.db* "$T"/e?/lsp.db* 2>/dev/null && fail "a node wrote a SQLite store despite LSP_DB_URL"

# the survivors stop on SIGTERM; no sanitizer report anywhere
kill "$FF" 2>/dev/null
for h in e1 e2 ob; do for p in $(ip netns pids "${NS[$h]}"); do kill -TERM "$p" 2>/dev/null; done; done
for i in $(seq 100); do [ -z "$(ip netns pids "${NS[e1]}")$(ip netns pids "${NS[e2]}")$(ip netns pids "${NS[ob]}")" ] && break; sleep 0.1; done
[ -z "$(ip netns pids "${NS[e1]}")$(ip netns pids "${NS[e2]}")$(ip netns pids "${NS[ob]}")" ] || fail "processes survive SIGTERM on e1/e2/ob"
if grep -l 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$T"/*.log; then
	grep -h -A20 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$T"/*.log | head -60
	fail "sanitizer report"
fi
for h in e1 e2; do
	grep -q '"event":"origin switches","n":[1-9]' "$T/$h-edge.log" || fail "edge $h logged no origin switch"
done
ok "survivors stopped cleanly; both edges logged their switch from A to B"
