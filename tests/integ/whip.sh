#!/usr/bin/env bash
# lsp-rtc WHIP: headless Chromium publishes its fake camera + microphone
# (H.264 + Opus) with a channel's stream key; lsp-rtc turns it into MPEG-TS
# for the channel pipeline (lsp-ring | lsp-channel, no ladder) — the HLS
# playlist appears and ffprobe reads H.264 and AAC from it — and while the
# publisher is live a WHEP viewer plays the same channel from the ring.
# A wrong key is 401, a second publisher on the channel 409.  lsp-rtc asks
# the publisher for a keyframe (PLI) every --pli-interval: the channel's
# ring, read through lsp-rtc's relay stream, holds keyframes that far apart
# (Chromium's encoder makes none on its own after the first).
. "$(dirname "$0")/../lib.sh"
need curl; need node; need ffprobe
need_browser
export LSP_RING_DIR=$T/shm LSP_TRANSCODE=0 LSP_PART=0.5 LSP_SEGMENT=1
mkdir -p "$LSP_RING_DIR"
key=$(new_channel studio)
[ -n "$key" ] || fail "no stream key"
H=$(free_port); U=$(free_port)
bg "$BIN/lsp-rtc" --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 --pli-interval 1000 \
	--whip-exec "'$BIN/lsp-ring' --channel {channel} | '$ROOT/scripts/lsp-channel' {channel}" 2>"$T/rtc.log"
wait_port "$H" 5 || { cat "$T/rtc.log"; fail "lsp-rtc did not listen"; }
url=http://127.0.0.1:$H/whip/studio

out=$(cd "$B" && timeout 30 node whip.mjs "$url" "studio_000000000000000000000000000000000000000000000000" --expect-status 401 2>&1) ||
	fail "wrong key not refused with 401: $out"
ok "wrong key refused: $out"

# publish in the background until the checks are done ($T/pub.stop, 120 s at
# most); meanwhile count keyframes, check HLS and play over WHEP
(cd "$B" && exec timeout 150 node whip.mjs "$url" "$key" --hold 120 --until "$T/pub.stop") >"$T/pub.json" 2>"$T/pub.err" &
pub=$!; _pids+=($pub)
wait_file "$LSP_RING_DIR/lsp-ring-studio" 15 || { cat "$T/pub.err" "$T/rtc.log"; fail "no ring for the WHIP channel"; }

# the ring's keyframes over 6.5 s, as an edge would read them (GET /relay/studio)
python3 - "$H" >"$T/keys.txt" 2>&1 <<'PY' &
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /relay/studio HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(0.2)
buf, t0 = b"", time.time()
while time.time() - t0 < 6.5:
    try:
        d = s.recv(1 << 16)
        if not d: break
        buf += d
    except socket.timeout:
        pass
head, _, body = buf.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 200") and body[:8] == b"LSPRLY01", head[:80]
o, keys, video = 8, [], 0
while o + 32 <= len(body):
    kind, fl, _, ln, seq, pts, dts = struct.unpack(">BBHIQqq", body[o:o + 32])
    if o + 32 + ln > len(body): break
    if kind == 1:
        video += 1
        if fl & 1: keys.append(pts / 90000)
    o += 32 + ln
print(video, " ".join("%.3f" % k for k in keys))
PY
keys=$!

code=$(cd "$B" && timeout 30 node whip.mjs "$url" "$key" --expect-status 409 2>&1) || fail "second publisher not 409: $code"
ok "second publisher refused (409)"

wait "$keys" || fail "relay reader: $(cat "$T/keys.txt")"
python3 -c '
import sys
f = sys.argv[1].split()
video, keys = int(f[0]), [float(k) for k in f[1:]]
gaps = sorted(b - a for a, b in zip(keys, keys[1:]))
assert video >= 100, ("few video frames", video)
assert len(keys) >= 5, ("keyframes", keys)
med = gaps[len(gaps) // 2]
assert 0.75 <= med <= 1.35, ("keyframe spacing", gaps)
print("%d video frames, %d keyframes, median spacing %.2f s" % (video, len(keys), med))' "$(cat "$T/keys.txt")" >"$T/keys.ok" ||
	fail "keyframes not at the PLI interval: $(cat "$T/keys.txt")"
ok "PLI every 1 s: $(cat "$T/keys.ok")"

v=$(cd "$B" && timeout 30 node whep.mjs "http://127.0.0.1:$H/whep/studio" --timeout 8 --frames 15 2>"$T/whep.err") ||
	{ cat "$T/whep.err"; fail "WHEP of the WHIP channel: $v"; }
ok "WHEP plays the WHIP channel: $v"
pl=$LSP_DATA_DIR/hls/studio/src/index.m3u8
wait_grep '#EXTINF' "$pl" 15 || { tail -n 20 "$T/rtc.log"; fail "no HLS segment from the WHIP publish"; }
ok "HLS playlist from WHIP: $(grep -c '#EXT-X-PART:' "$pl") parts"
seg0=$(ls "$LSP_DATA_DIR/hls/studio/src/"seg*.m4s 2>/dev/null | grep -cv '\.[0-9]*\.m4s$')
for _ in $(seq 100); do # a complete segment besides the first, then the publisher may stop
	[ "$(ls "$LSP_DATA_DIR/hls/studio/src/"seg*.m4s 2>/dev/null | grep -cv '\.[0-9]*\.m4s$')" -gt "$seg0" ] && break
	sleep 0.2
done
touch "$T/pub.stop"

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
