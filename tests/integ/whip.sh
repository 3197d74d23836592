#!/usr/bin/env bash
# lsp-rtc WHIP: headless Chromium publishes its fake camera + microphone
# (H.264 + Opus) with a channel's stream key; lsp-rtc turns it into MPEG-TS
# for the channel pipeline (lsp-ring | lsp-channel, no ladder) — the HLS
# playlist appears and ffprobe reads H.264 and AAC from it — and while the
# publisher is live a WHEP viewer plays the same channel from the ring.
# A wrong key is 401, a second publisher on the channel 409.
. "$(dirname "$0")/../lib.sh"
need curl; need node; need ffprobe
[ -x /usr/bin/chromium ] || fail "chromium not installed (run make deps)"
B=$ROOT/tests/browser
[ -d "$B/node_modules/playwright-core" ] || (cd "$B" && npm install --no-audit --no-fund --silent) >/dev/null 2>&1 ||
	fail "npm install playwright-core"
export LSP_RING_DIR=$T/shm LSP_TRANSCODE=0 LSP_PART=0.5 LSP_SEGMENT=1
mkdir -p "$LSP_RING_DIR"
key=$(new_channel studio)
[ -n "$key" ] || fail "no stream key"
H=$(free_port); U=$(free_port)
bg "$BIN/lsp-rtc" --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 \
	--whip-exec "'$BIN/lsp-ring' --channel {channel} | '$ROOT/scripts/lsp-channel' {channel}" 2>"$T/rtc.log"
wait_port "$H" 5 || { cat "$T/rtc.log"; fail "lsp-rtc did not listen"; }
url=http://127.0.0.1:$H/whip/studio

out=$(cd "$B" && timeout 30 node whip.mjs "$url" "studio_000000000000000000000000000000000000000000000000" --expect-status 401 2>&1) ||
	fail "wrong key not refused with 401: $out"
ok "wrong key refused: $out"

# publish for 12 s in the background; meanwhile check HLS and play over WHEP
(cd "$B" && exec timeout 40 node whip.mjs "$url" "$key" --hold 12) >"$T/pub.json" 2>"$T/pub.err" &
pub=$!; _pids+=($pub)
wait_file "$LSP_RING_DIR/lsp-ring-studio" 15 || { cat "$T/pub.err" "$T/rtc.log"; fail "no ring for the WHIP channel"; }

code=$(cd "$B" && timeout 30 node whip.mjs "$url" "$key" --expect-status 409 2>&1) || fail "second publisher not 409: $code"
ok "second publisher refused (409)"

v=$(cd "$B" && timeout 30 node whep.mjs "http://127.0.0.1:$H/whep/studio" --timeout 8 --frames 15 2>"$T/whep.err") ||
	{ cat "$T/whep.err"; fail "WHEP of the WHIP channel: $v"; }
ok "WHEP plays the WHIP channel: $v"
pl=$LSP_DATA_DIR/hls/studio/src/index.m3u8
wait_grep '#EXTINF' "$pl" 15 || { tail -n 20 "$T/rtc.log"; fail "no HLS segment from the WHIP publish"; }
ok "HLS playlist from WHIP: $(grep -c '#EXT-X-PART:' "$pl") parts"

wait "$pub"; rc=$?
cat "$T/pub.json"
[ $rc -eq 0 ] || { cat "$T/pub.err"; fail "publisher failed"; }
grep -q '"codec":"video/H264"' "$T/pub.json" || fail "publisher did not send H.264"
seg=$(ls "$LSP_DATA_DIR/hls/studio/src/"seg*.m4s 2>/dev/null | grep -v '\.[0-9]*\.m4s$' | head -n1)
[ -n "$seg" ] || fail "no complete segment"
streams=$(cat "$LSP_DATA_DIR/hls/studio/src/init.mp4" "$seg" | ffprobe -v error -show_entries stream=codec_name -of csv=p=0 - | sort | tr '\n' ' ')
case $streams in *aac*h264*) ;; *) fail "segment streams: '$streams'" ;; esac
ok "segment carries $streams"
wait_grep '"event":"publisher gone"' "$T/rtc.log" 5 || fail "publisher not gone after DELETE"
grep -q '"level":"fatal"' "$T/rtc.log" && fail "fatal log"
exit 0
