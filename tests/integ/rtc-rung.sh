#!/usr/bin/env bash
# test: alone
# lsp-rtc with a source that has B-frames (x264 -preset veryfast, as the
# README's ffmpeg command and OBS's defaults send): browsers' WebRTC H.264
# decoders do not reorder, so lsp-rtc feeds WHEP viewers from the tallest
# rung lsp-transcode writes into ring CH~RUNG (--ring-prefix).  Headless
# Chromium must decode smoothly (not a slideshow), /stats names the rung
# and the log says why; with the rung gone, the channel returns to its
# source ring.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need node
need_browser
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"
H=$(free_port); U=$(free_port)
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 45 \
	-c:v libx264 -preset veryfast -bf 2 -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | '$BIN/lsp-ring' --channel demo | exec '$BIN/lsp-transcode' --ladder 240p --preset ultrafast \
	--ring-prefix demo >/dev/null" 2>"$T/pipe.log"
bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 2>"$T/rtc.log"
wait_port "$H" 5 || { cat "$T/rtc.log"; fail "lsp-rtc did not listen"; }
wait_file "$LSP_RING_DIR/lsp-ring-demo~240p" 20 || { cat "$T/pipe.log"; fail "no rung ring"; }

# ~10 s of play: at 30 fps that is ~300 frames; a decoder fed B-frames in
# decode order shows a slideshow (a few frames a second)
out=$(cd "$B" && timeout 60 node whep.mjs "http://127.0.0.1:$H/whep/demo" --timeout 25 --frames 1 --hold 10 2>"$T/node.err") ||
	{ cat "$T/node.err"; tail -5 "$T/rtc.log"; fail "no video over WHEP: $out"; }
fd=$(sed -n 's/.*"framesDecoded":\([0-9]*\).*/\1/p' <<<"$out")
[ "${fd:-0}" -ge 200 ] || fail "only ${fd:-0} frames decoded in ~10 s (a slideshow?): $out"
grep -q '"event":"serving rung","channel":"demo","rung":"240p"' "$T/rtc.log" || fail "no 'serving rung' event"
grep -q '"source has B-frames' "$T/rtc.log" || fail "B-frames not noticed"
curl -s "http://127.0.0.1:$H/stats" | grep -q '"name":"demo"[^}]*"bframes":true,"rung":"240p"' ||
	fail "/stats does not name the rung: $(curl -s "http://127.0.0.1:$H/stats")"
ok "B-frame source: WHEP fed from rung 240p, $fd frames decoded in ~10 s"
