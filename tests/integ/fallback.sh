#!/usr/bin/env bash
# The watch page when WebRTC cannot connect: lsp-rtc answers the WHEP offer
# (so the tracks arrive and the page has a MediaStream) but offers a
# candidate in TEST-NET-1 (192.0.2.1) that no packet reaches.  After its 5 s
# WHEP timeout the page must play LL-HLS with a picture — frames advance and
# are not black — show LL-HLS's latency, and pinning the rendition already
# playing must turn automatic switching off.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need node; need python3
[ -f "$ROOT/web/vendor/hls.min.js" ] || fail "web/vendor/hls.min.js missing (run make)"
need_browser
H=$(free_port); U=$(free_port); E=$(free_port)
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR" "$T/hls"
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 60 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | '$BIN/lsp-ring' --channel demo | exec '$BIN/lsp-package' --out '$T/hls/demo' --part 0.2 --segment 1" \
	2>"$T/pipe.log"
bg "$BIN/lsp-rtc" --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 192.0.2.1 2>"$T/rtc.log"
wait_port "$H" 5 || { cat "$T/rtc.log"; fail "lsp-rtc did not listen"; }
wait_file "$LSP_RING_DIR/lsp-ring-demo" 5 || { cat "$T/pipe.log"; fail "no ring"; }
bg "$BIN/lsp-edge" --listen "127.0.0.1:$E" --hls-root "$T/hls" --web-root "$ROOT/web" 2>"$T/edge.log"
wait_port "$E" 5 || fail "lsp-edge did not listen"
for _ in $(seq 1 100); do
	curl -s "http://127.0.0.1:$E/api/channels/demo" | grep -q '"live":true' && break
	sleep 0.1
done
shots=${LSP_TEST_LOGS:-$T}; mkdir -p "$shots"; shots=$(cd "$shots" && pwd)
out=$(cd "$B" && timeout 80 node fallback.mjs "http://127.0.0.1:$E/watch/demo?rtc=http://127.0.0.1:$H" --timeout 40 \
	--screenshot "$shots/fallback.png" 2>"$T/node.err")
rc=$?
echo "$out"
[ $rc -eq 0 ] || { cat "$T/node.err"; tail -n 5 "$T/rtc.log"; fail "no picture after the WebRTC fallback, or the pinned rendition did not stay pinned (rc=$rc): $out"; }
ok "LL-HLS plays with a picture after WebRTC failed, and a pinned rendition stays pinned: $out"
