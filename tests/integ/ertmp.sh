#!/usr/bin/env bash
# Enhanced RTMP ingest, as OBS 30 sends it (tests/tools/ertmp-gen.py plays
# the encoder: ffmpeg 5.1 cannot send E-RTMP):
#  - HEVC (FourCC hvc1, CodedFrames with composition times and
#    CodedFramesX) with Opus audio (FourCC Opus), made by libx265 and
#    libopus, published in real time → lsp-ingest → scripts/lsp-channel →
#    an LL-HLS H.264 + AAC ladder that passes hlscheck and decodes, beside
#    a "src" rung that is the HEVC as it came (hvc1, CODECS from its SPS);
#    the .live message names hevc and opus;
#  - AV1 (announced by onMetaData) and VP9 (seen in the first tag) are
#    refused at publish: the encoder gets NetStream.Publish.Rejected with
#    what lsp accepts and what the stream is, the log has one
#    "codec refused" event naming it, and the channel never goes live (no
#    .live on the bus, its --exec pipeline never started, no playlist).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
need ffmpeg; need ffprobe; need python3; need node
need_browser
GEN=$ROOT/tests/tools/ertmp-gen.py
SECS=20 # long enough for a WHEP viewer on a loaded box: Chromium start, then 2 s to see no H.264
ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
	-t $SECS -c:v libx265 -preset ultrafast -g 25 -x265-params log-level=error -c:a libopus -b:a 64k \
	"$T/hevc.mp4" || fail "ffmpeg libx265 + libopus"
ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/hevc.mp4" | tr '\n' ' ' | grep -q "hevc opus" ||
	fail "the source is not HEVC + Opus"
# B-frames: some CodedFrames carry a composition time, the rest go as CodedFramesX
ffprobe -v error -select_streams v -show_entries packet=pts,dts -of csv=p=0 "$T/hevc.mp4" |
	awk -F, '$1 != $2 { d++ } $1 == $2 { s++ } END { exit !(d > 0 && s > 0) }' ||
	fail "want frames with and without a composition time"

start_nats
start_natsub "$NATS_URL"
export LSP_NATS_URL=$NATS_URL LSP_LADDER=src,240p LSP_PRESET=ultrafast LSP_PART=0.5 LSP_SEGMENT=1 LSP_DVR=0 \
	LSP_THUMB=0 LSP_ON_DEMAND=0 LSP_METRICS_BASE=off LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"
KH=$(new_channel hevc); KA=$(new_channel av1); KV=$(new_channel vp9)
P=$(free_port)
bg "$BIN/lsp-ingest" -l "127.0.0.1:$P" --exec "$ROOT/scripts/lsp-channel {channel}" 2>"$T/ingest.log"
wait_port "$P" 10 || fail "ingest did not listen"

# ---- refused: AV1 (onMetaData says av01), VP9 (no metadata: the tag says vp09)
python3 "$GEN" "rtmp://127.0.0.1:$P/live/$KA" --fourcc av01 >"$T/av1.out" 2>"$T/av1.err"; rc=$?
[ $rc = 1 ] || { cat "$T/av1.err"; fail "AV1 publish: exit $rc, want 1 (refused)"; }
grep -qx 'rejected: NetStream.Publish.Rejected: lsp accepts H.264 or HEVC video; this stream is AV1' "$T/av1.err" ||
	{ cat "$T/av1.err"; fail "the encoder did not see why AV1 was refused"; }
python3 "$GEN" "rtmp://127.0.0.1:$P/live/$KV" --fourcc vp09 --no-meta >/dev/null 2>"$T/vp9.err"; rc=$?
[ $rc = 1 ] || { cat "$T/vp9.err"; fail "VP9 publish: exit $rc, want 1 (refused)"; }
grep -q 'this stream is VP9$' "$T/vp9.err" || { cat "$T/vp9.err"; fail "the encoder did not see why VP9 was refused"; }
wait_grep '"publish stopped","channel":"vp9".*"reason":"codec refused"' "$T/ingest.log" 10 || fail "vp9 not ended"
[ "$(grep -c '"event":"codec refused","channel":"av1".*"reason":"lsp accepts H.264 or HEVC video; this stream is AV1"' \
	"$T/ingest.log")" = 1 ] || { cat "$T/ingest.log"; fail "want one codec refused event for av1"; }
[ "$(grep -c '"event":"codec refused","channel":"vp9"' "$T/ingest.log")" = 1 ] || fail "want one codec refused event for vp9"
ok "AV1 and VP9 refused at publish: the encoder saw NetStream.Publish.Rejected with the reason, one log event each"

# ---- served: HEVC + Opus, over LL-HLS and WebRTC
RH=$(free_port); RU=$(free_port)
bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$RH" --udp "127.0.0.1:$RU" --candidate 127.0.0.1 2>"$T/rtc.log"
wait_port "$RH" 10 || fail "lsp-rtc did not listen"
python3 "$GEN" "rtmp://127.0.0.1:$P/live/$KH" --media "$T/hevc.mp4" >"$T/hevc.out" 2>"$T/hevc.err" &
gen=$!
# the source's ring has no H.264 video: WHEP viewers get the 240p rung
wait_file "$LSP_RING_DIR/lsp-ring-hevc~240p" 20 || { tail -n 20 "$T/ingest.log"; fail "no 240p rung ring"; }
v=$(cd "$B" && timeout 40 node whep.mjs "http://127.0.0.1:$RH/whep/hevc" --timeout 15 --frames 10 2>"$T/whep.err") ||
	{ cat "$T/whep.err"; tail -n 20 "$T/rtc.log"; curl -s "http://127.0.0.1:$RH/stats"; ls -la "$LSP_RING_DIR"; fail "HEVC channel did not play over WHEP: $v"; }
# (decoded frames can only have come from the 240p rung: the source ring
# has no H.264.  Which path got the viewer there depends on timing: the
# session's own start rung (tallest <= --abr-start) at once, or the
# channel's "serving rung" after 2 s without H.264.)
wait $gen || { cat "$T/hevc.err"; tail -n 20 "$T/ingest.log"; fail "HEVC publish failed"; }
grep -qx publishing "$T/hevc.out" || fail "HEVC publish never started"
ok "HEVC channel over WebRTC: lsp-rtc serves the 240p rung (the source ring has no H.264), $(grep -o '"framesDecoded":[0-9]*' <<<"$v"), $(grep -o '"event":"serving rung"' "$T/rtc.log" | head -n1 || echo 'the session started on it')"
H=$LSP_DATA_DIR/hls/hevc
wait_grep '#EXT-X-ENDLIST' "$H/240p/index.m3u8" 60 || { tail -n 30 "$T/ingest.log" >&2; fail "240p never ended"; }
wait_grep '^lsp.stream.hevc.live ' "$T/bus.txt" 5 || fail "no .live for hevc"
grep -q '^lsp.stream.hevc.live {"channel":"hevc".*"video_codec":"hevc","audio_codec":"opus"' "$T/bus.txt" ||
	{ grep '^lsp.stream.hevc.live' "$T/bus.txt"; fail ".live does not name hevc + opus"; }
grep -q 'CODECS="avc1\.[0-9a-f]*,mp4a\.40\.2"' "$H/master.m3u8" || { cat "$H/master.m3u8"; fail "240p not H.264 + AAC"; }
# src: the HEVC copied, named as such (players without HEVC skip it)
grep -B1 '^src/index.m3u8' "$H/master.m3u8" | grep -q 'CODECS="hvc1\.1\.6\.L[0-9]*[.0-9A-F]*,mp4a\.40\.2"' ||
	{ cat "$H/master.m3u8"; fail "src not offered as hvc1 + AAC"; }
[ "$(grep -c 'hvc1' "$H/master.m3u8")" = 1 ] || { cat "$H/master.m3u8"; fail "HEVC named for a rung other than src"; }
sinfo=$(ffprobe -v error -show_entries stream=codec_name,codec_tag_string -of csv=p=0 "$H/src/init.mp4" | tr '\n' ' ')
[ "$sinfo" = "hevc,hvc1 aac,mp4a " ] || fail "src init.mp4: $sinfo"
hls_check "$H"
seg=$(grep -v '^#' "$H/240p/index.m3u8" | head -n1)
init=$(sed -n 's/^#EXT-X-MAP:URI="\([^"]*\)".*/\1/p' "$H/240p/index.m3u8" | head -n1)
cat "$H/240p/$init" "$H/240p/$seg" >"$T/first.mp4"
info=$(ffprobe -v error -show_entries stream=codec_name,height -of default=nw=1 "$T/first.mp4")
grep -qx 'codec_name=h264' <<<"$info" && grep -qx 'height=240' <<<"$info" && grep -qx 'codec_name=aac' <<<"$info" ||
	fail "first segment: $info"
ffmpeg -v error -nostdin -i "$T/first.mp4" -f null - 2>"$T/dec.err" || fail "first segment does not decode"
n=$(grep -c '^#EXTINF' "$H/240p/index.m3u8")
[ "$n" -ge 5 ] || { cat "$H/240p/index.m3u8"; fail "only $n segments for $SECS s (the live window holds 6)"; }
ok "HEVC + Opus over E-RTMP → LL-HLS H.264 + AAC 240p ($n segments, hlscheck clean) and src as hvc1, .live says hevc/opus"

# ---- the refused channels never went live
for c in av1 vp9; do
	grep -q "^lsp.stream.$c.live " "$T/bus.txt" && fail "$c went live"
	[ ! -e "$LSP_DATA_DIR/hls/$c" ] || fail "$c has an HLS directory: its pipeline was started"
done
grep -q '"exec command exited","channel":"\(av1\|vp9\)"' "$T/ingest.log" && fail "a refused stream started --exec"
grep -q '"level":"fatal"' "$T/ingest.log" && { grep '"level":"fatal"' "$T/ingest.log"; fail "fatal in the log"; }
for k in "$KH" "$KA" "$KV"; do grep -q "${k#*_}" "$T"/*.log "$T"/*.err && fail "a stream key reached a log"; done
ok "refused channels never went live (no .live, no pipeline started, no playlist); no key in any log"
