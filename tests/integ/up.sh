#!/usr/bin/env bash
# up — the single box is the whole platform (scripts/lsp-up):
#  - it runs its own nats-server (127.0.0.1, JetStream under $LSP_DATA_DIR)
#    and the services use it: a publisher's .health arrives over it;
#  - lsp.db is not world-readable (umask 0027; an older one is fixed);
#  - web/node_modules is not served, the pages and /vendor are;
# and the rings of two instances on one host never collide: two pipelines
# with one channel name and different data dirs both complete, each in its
# own owner-checked ring directory; a ring directory others may write is
# refused.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
need ffmpeg; need curl; need nats-server; need python3
rtmp=$(free_port); http=$(free_port); chat=$(free_port); api=$(free_port); rtc=$(free_port); udp=$(free_port)
nats=$(free_port)
export LSP_RTMP_LISTEN=127.0.0.1:$rtmp LSP_HTTP_LISTEN=127.0.0.1:$http LSP_CHAT_LISTEN=127.0.0.1:$chat \
	LSP_API_LISTEN=127.0.0.1:$api LSP_RTC_HTTP=127.0.0.1:$rtc LSP_RTC_UDP=127.0.0.1:$udp LSP_RTC_CANDIDATE=127.0.0.1 \
	LSP_SRT_LISTEN=off LSP_NATS_PORT=$nats LSP_TRANSCODE=0 LSP_DVR=0 LSP_THUMB=0 LSP_METRICS_BASE=off
key=$(new_channel upch)
chmod 0644 "$LSP_DATA_DIR/lsp.db" # as an older lsp-up left it
bg "$ROOT/scripts/lsp-up" 2>"$T/up.log"
wait_port "$nats" 15 || { cat "$T/up.log"; fail "no local nats-server"; }
for p in "$rtmp" "$http" "$api"; do wait_port "$p" 15 || { tail -n 20 "$T/up.log"; fail "lsp-up service on :$p did not listen"; }; done
grep -q '"event":"nats-server started","url":"nats://127.0.0.1:'"$nats"'"' "$T/up.log" || fail "no nats-server started line"
[ -d "$LSP_DATA_DIR/nats/jetstream" ] || fail "JetStream not under \$LSP_DATA_DIR/nats"
ok "local nats-server on :$nats, JetStream in \$LSP_DATA_DIR/nats"

mode=$(stat -c %a "$LSP_DATA_DIR/lsp.db")
[ $((8#$mode & 8#007)) -eq 0 ] || fail "lsp.db mode $mode is world-accessible"
ok "lsp.db mode $mode"

code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/node_modules/hls.js/package.json")
[ "$code" = 404 ] || fail "node_modules served ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/package.json")
[ "$code" = 404 ] || fail "package.json served ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/")
[ "$code" = 200 ] || fail "index page: $code"
if [ -f "$ROOT/web/vendor/hls.min.js" ]; then
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/vendor/hls.min.js")
	[ "$code" = 200 ] || fail "/vendor/hls.min.js: $code"
fi
ok "pages served, node_modules and package.json not"

start_natsub "nats://127.0.0.1:$nats"
bg ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x180:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 60 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f flv "rtmp://127.0.0.1:$rtmp/live/$key"
wait_grep '^lsp.stream.upch.health ' "$T/bus.txt" 20 || { tail -n 20 "$T/up.log"; fail "no .health over the local NATS"; }
ok "lsp-ingest publishes health on the local NATS: $(grep -m1 '^lsp.stream.upch.health ' "$T/bus.txt" | cut -c1-120)"

# ---- rings: two instances, one channel name
ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=160x120:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 3 -c:v libx264 -preset ultrafast -g 25 \
	-pix_fmt yuv420p -c:a aac -f mpegts "$T/in.ts" || fail "ffmpeg"
for i in a b; do
	mkdir -p "$T/$i"
	(unset LSP_RING_DIR; export LSP_DATA_DIR=$T/$i LSP_METRICS_BASE=off
	 ffmpeg -hide_banner -loglevel error -re -i "$T/in.ts" -c copy -f mpegts - |
		"$ROOT/scripts/lsp-channel" same) 2>"$T/$i.log" &
	eval "p_$i=\$!"
done
wait "$p_a" || { cat "$T/a.log"; fail "instance a failed"; }
wait "$p_b" || { cat "$T/b.log"; fail "instance b failed"; }
for i in a b; do
	grep -q '#EXT-X-ENDLIST' "$T/$i/hls/same/src/index.m3u8" || fail "instance $i: no complete playlist"
done
ra=$(grep -o '"path":"[^"]*lsp-ts-same"' "$T/a.log" | head -n1)
rb=$(grep -o '"path":"[^"]*lsp-ts-same"' "$T/b.log" | head -n1)
[ -n "$ra" ] && [ -n "$rb" ] && [ "$ra" != "$rb" ] || fail "rings collide: $ra / $rb"
d=$(dirname "${ra#\"path\":\"}")
[ "$(stat -c '%a %u' "$d")" = "700 $(id -u)" ] || fail "ring dir $d: $(stat -c '%a %u' "$d")"
ok "two instances, one channel name: $ra vs $rb"

mkdir -p "$T/open"; chmod 0777 "$T/open"
LSP_RING_DIR=$T/open "$BIN/lsp-ring" --channel same --ts --no-pass <"$T/in.ts" 2>"$T/open.log"
rc=$?
[ $rc -eq 111 ] || fail "a world-writable ring dir accepted (rc=$rc)"
grep -q 'not permitted' "$T/open.log" || fail "no reason: $(cat "$T/open.log")"
ok "a ring directory others can write is refused"

# ---- a NATS outage is one log line, and the bus comes back by itself
start_nats private # killed below: never the shared server
np=${NATS_URL##*:}
nats_pid=$(pgrep -f "nats-server -a 127.0.0.1 -p $np " | head -n1)
[ -n "$nats_pid" ] || fail "no nats-server pid"
ap=$(free_port)
LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-api" --listen "127.0.0.1:$ap" 2>"$T/api.log"
wait_port "$ap" 10 || fail "lsp-api did not listen"
kill -9 "$nats_pid"
wait_grep '"event":"nats disconnected"' "$T/api.log" 10 || fail "no log line for the NATS outage"
sleep 5 # several reconnect attempts
n=$(grep -c '"event":"nats disconnected"' "$T/api.log")
[ "$n" -eq 1 ] || fail "$n outage lines for one outage"
bg nats-server -a 127.0.0.1 -p "$np" -js -sd "$T/nats" >>"$T/nats.log" 2>&1
wait_grep '"event":"nats reconnected"' "$T/api.log" 15 || fail "lsp-api did not reconnect"
ok "NATS outage: one warning, then reconnected"
