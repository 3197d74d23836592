#!/usr/bin/env bash
# Cluster mode on real hosts: five network namespaces on one bridge
# (ip netns + veth) — nats, origin A, origin B, edge 1, edge 2.  The
# encoder (ffmpeg, root namespace) publishes to A; both `lsp-edge --origin
# auto` find A through NATS (lsp.stream.<ch>.live "origin") and relay it.
# Viewers (cluster/viewer.py) play from the edges.  Then:
#   1. edge 1 dies (every process in its namespace, SIGKILL): its viewer
#      moves to edge 2; the other viewer must not notice;
#   2. origin A dies: the encoder republishes to B, B announces itself, the
#      edges follow the channel to B.
# Recovery times are what the viewers saw: the longest wait for a new part
# after the kill.  Without netns (no CAP_SYS_ADMIN) the hosts are loopback
# addresses 127.0.<n>.<m> instead, and the test says so.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need ffmpeg; need python3; need curl; need nats-server

S=$$
NET=10.213.$(( S % 200 + 20 ))
BR=lspbr$S
HOSTS=(nats oa ob e1 e2)
declare -A IP NS
NETNS=1
[ -n "${LSP_TEST_NO_NETNS:-}" ] && NETNS=0 # force the loopback fallback
[ $NETNS = 1 ] && { ip netns add "lspc$S-probe" 2>/dev/null && ip netns del "lspc$S-probe" 2>/dev/null; } || NETNS=0

net_down() {
	local h
	[ $NETNS = 1 ] || return 0
	for h in "${HOSTS[@]}"; do
		for p in $(ip netns pids "${NS[$h]}" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "${NS[$h]}" 2>/dev/null
	done
	ip link del "$BR" 2>/dev/null
}
trap 'net_down; _cleanup' EXIT

if [ $NETNS = 1 ]; then
	ip link add "$BR" type bridge || fail "bridge"
	ip addr add "$NET.1/24" dev "$BR" && ip link set "$BR" up || fail "bridge address"
	j=0
	for h in "${HOSTS[@]}"; do
		j=$((j + 1)); NS[$h]=lspc$S-$h; IP[$h]=$NET.$((10 + j))
		ip netns add "${NS[$h]}" || fail "netns add"
		ip link add "lv$S$j" type veth peer name "lp$S$j" || fail "veth"
		ip link set "lp$S$j" netns "${NS[$h]}" && ip link set "lv$S$j" master "$BR" up || fail "veth setup"
		ip netns exec "${NS[$h]}" ip addr add "${IP[$h]}/24" dev "lp$S$j" || fail "host address"
		ip netns exec "${NS[$h]}" ip link set "lp$S$j" up
		ip netns exec "${NS[$h]}" ip link set lo up
	done
	on() { local h=$1; shift; ip netns exec "${NS[$h]}" "$@"; }
	echo "hosts: network namespaces ${HOSTS[*]} on $NET.0/24"
else
	j=0
	for h in "${HOSTS[@]}"; do j=$((j + 1)); IP[$h]=127.0.$(( S % 200 + 20 )).$((10 + j)); done
	on() { shift; exec "$@"; } # only ever run in the background (start_on)
	echo "hosts: no netns permitted here; loopback addresses ${IP[*]} stand in for hosts"
fi
# every process of one "host" dies at once (SIGKILL), like a power cut
host_kill() {
	local p
	if [ $NETNS = 1 ]; then
		for p in $(ip netns pids "${NS[$1]}"); do kill -9 "$p" 2>/dev/null; done
	else
		eval "for p in \${PIDS_$1}; do pkill -9 -P \$p 2>/dev/null; kill -9 \$p 2>/dev/null; done"
	fi
}
for h in "${HOSTS[@]}"; do eval "PIDS_$h="; done
start_on() { # host logfile cmd... (remembers the pid for host_kill)
	local h=$1 log=$2; shift 2
	on "$h" "$@" 2>"$log" &
	_pids+=($!); eval "PIDS_$h=\"\${PIDS_$h} $!\""
}
now_ms() { date +%s%3N; }

NATS=nats://${IP[nats]}:4222
start_on nats "$T/nats.log" nats-server -a "${IP[nats]}" -p 4222 -js -sd "$T/nats"
for i in $(seq 50); do (exec 3<>/dev/tcp/${IP[nats]}/4222) 2>/dev/null && break; sleep 0.1; done

CH=clu$S
mkdir -p "$T/oa" "$T/ob"
KEY=$(LSP_DATA_DIR=$T/oa "$BIN/lsp-ctl" channel add "$CH" 2>>"$T/ctl.log" | tail -n1 | awk '{print $NF}')
[ -n "$KEY" ] || fail "no stream key"
cp "$T"/oa/lsp.db* "$T/ob/" # one shared database (LSP_DB_URL in production)

origin() { # host
	local h=$1
	mkdir -p "$T/$h/ring"
	start_on "$h" "$T/$h-ingest.log" env LSP_DATA_DIR="$T/$h" LSP_NATS_URL="$NATS" LSP_ORIGIN_URL="http://${IP[$h]}:8080" \
		LSP_TRANSCODE=0 LSP_RING_DIR="$T/$h/ring" LSP_BIN="$BIN" LSP_DVR=0 \
		"$BIN/lsp-ingest" -l "${IP[$h]}:1935" -t 3 -e "$ROOT/scripts/lsp-channel {channel}"
	mkdir -p "$T/$h/hls"
	start_on "$h" "$T/$h-edge.log" "$BIN/lsp-edge" -l "${IP[$h]}:8080" --hls-root "$T/$h/hls" --web-root "$ROOT/web"
}
edge() { # host
	start_on "$1" "$T/$1-edge.log" env LSP_NATS_URL="$NATS" \
		"$BIN/lsp-edge" -l "${IP[$1]}:8080" --origin auto --origin-ttl 3000 --web-root "$ROOT/web"
}
publish() { # host
	ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i "testsrc2=size=320x240:rate=25" \
		-f lavfi -i "sine=frequency=440:sample_rate=44100" -t 60 -c:v libx264 -preset ultrafast \
		-tune zerolatency -g 25 -c:a aac -b:a 64k -f flv "rtmp://${IP[$1]}:1935/live/$KEY" 2>>"$T/ffmpeg.log" &
	_pids+=($!); FF=$!
}
origin oa; origin ob; edge e1; edge e2
for h in oa ob e1 e2; do
	for i in $(seq 50); do (exec 3<>/dev/tcp/${IP[$h]}/8080) 2>/dev/null && break; sleep 0.1; done
done
E1=http://${IP[e1]}:8080 E2=http://${IP[e2]}:8080

# usage: auto needs NATS; an unknown channel is a 404 on an auto edge
env -u LSP_NATS_URL "$BIN/lsp-edge" --origin auto -l 127.0.0.1:0 2>/dev/null; [ $? = 100 ] || fail "--origin auto without LSP_NATS_URL"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$E1/hls/nochannel/master.m3u8")" = 404 ] || fail "unknown channel not 404"

publish oa
t_pub=$(now_ms)
for i in $(seq 100); do
	c1=$(curl -s -o /dev/null -w '%{http_code}' "$E1/hls/$CH/master.m3u8"); c2=$(curl -s -o /dev/null -w '%{http_code}' "$E2/hls/$CH/master.m3u8")
	[ "$c1$c2" = 200200 ] && break; sleep 0.1
done
[ "$c1$c2" = 200200 ] || { tail -5 "$T"/oa-*.log "$T/ffmpeg.log"; fail "edges do not relay the channel ($c1 $c2)"; }
ok "both edges found origin A through NATS and relay $CH ($(( $(now_ms) - t_pub )) ms after publish)"

bg python3 "$HERE/cluster/viewer.py" "$T/v1.log" "$CH" 40 "$E1" "$E2"
bg python3 "$HERE/cluster/viewer.py" "$T/v2.log" "$CH" 40 "$E2"
sleep 2.5
[ "$(grep -c ' ok ' "$T/v1.log")" -ge 5 ] && [ "$(grep -c ' ok ' "$T/v2.log")" -ge 5 ] || fail "viewers get no parts"

# coalescing: 20 viewers wait for the same next part on edge 2 → 1 upstream fetch
m() { curl -s "$E2/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
pl=$(curl -s "$E2/hls/$CH/src/index.m3u8")
hint=$(sed -n 's/^#EXT-X-PRELOAD-HINT:.*URI="\([^"]*\)".*/\1/p' <<<"$pl")
[ -n "$hint" ] || fail "no preload hint: $pl"
u0=$(m lsp_edge_relay_upstream_total); c0=$(m lsp_edge_relay_coalesced_total); h0=$(m lsp_edge_relay_hits_total)
for i in $(seq 20); do curl -s -o "$T/hint.$i" -w '%{http_code}\n' "$E2/hls/$CH/src/$hint" >>"$T/hint.codes" & done
wait_grep . "$T/hint.codes" 5; sleep 1.5
[ "$(grep -c '^200$' "$T/hint.codes")" = 20 ] || fail "held part: $(sort "$T/hint.codes" | uniq -c)"
c1=$(m lsp_edge_relay_coalesced_total); u1=$(m lsp_edge_relay_upstream_total); h1=$(m lsp_edge_relay_hits_total)
# each of the 20 either waited on the one upstream fetch or was answered from the cache
[ $((c1 - c0 + h1 - h0)) -ge 19 ] || fail "20 viewers of one part: only $((c1 - c0)) coalesced + $((h1 - h0)) cached"
ok "20 viewers of one held part: $((c1 - c0)) coalesced, $((h1 - h0)) cache hits, $((u1 - u0)) upstream fetches in that window (viewer polling included)"

# outage seen by a viewer after t0: the longest wait for a new part
outage() { # log t0 → ms
	awk -v t0="$2" '$2 == "ok" { if (prev != "" && $1 > t0) { s = prev > t0 ? prev : t0; if ($1 - s > g) g = $1 - s } prev = $1 }
		END { print g + 0 }' "$1"
}
oks_after() { awk -v t0="$2" '$2 == "ok" && $1 > t0' "$1" | wc -l; }

# 1. edge 1 dies
t0=$(now_ms); host_kill e1
sleep 4
n1=$(oks_after "$T/v1.log" "$t0"); g1=$(outage "$T/v1.log" "$t0"); g2=$(outage "$T/v2.log" "$t0")
[ "$n1" -ge 5 ] || { cat "$T/v1.log" | tail; fail "viewer of edge 1 did not recover"; }
grep -q "switch $E2" "$T/v1.log" || fail "viewer 1 never switched"
[ "$g2" -lt 1500 ] || fail "edge 2's viewer disturbed by edge 1's death (${g2} ms)"
echo "recovery: edge 1 killed → its viewer on edge 2 with new media after ${g1} ms; edge 2's viewer's longest wait ${g2} ms"
ok "edge failure"

# an edge that starts while the channel is live learns its origin from .health
t0=$(now_ms); edge e1
for i in $(seq 40); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$E1/hls/$CH/master.m3u8")" = 200 ] && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$E1/hls/$CH/master.m3u8")" = 200 ] || fail "a restarted edge did not find the live channel"
ok "restarted edge 1 relays the live channel $(( $(now_ms) - t0 )) ms after start (from .health)"

# 2. origin A dies; the encoder republishes to B
t0=$(now_ms); host_kill oa; kill "$FF" 2>/dev/null
publish ob
for i in $(seq 150); do [ "$(oks_after "$T/v2.log" "$t0")" -ge 5 ] && break; sleep 0.1; done
sleep 1
n2=$(oks_after "$T/v2.log" "$t0")
[ "$n2" -ge 5 ] || { tail "$T/v2.log" "$T/e2-edge.log" "$T/ob-ingest.log"; fail "edge 2 did not follow the channel to origin B"; }
g=$(outage "$T/v2.log" "$t0"); gv1=$(outage "$T/v1.log" "$t0")
grep -q "\"origin\":\"http://${IP[ob]}:8080\"" "$T/ob-ingest.log" "$T/nats.log" 2>/dev/null || true
[ "$(curl -s "$E2/hls/$CH/src/index.m3u8" | grep -c '^#EXT-X-PART:')" -ge 1 ] || fail "no parts from B"
echo "recovery: origin A killed → viewers see new media from origin B after ${g} ms (edge 2) and ${gv1} ms (viewer 1), encoder reconnect and B's first part included"
ok "origin failover"
