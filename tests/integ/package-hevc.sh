#!/usr/bin/env bash
# HEVC and Opus as the source rendition, as OBS 30 sends them over E-RTMP:
#  - lsp-package alone: MPEG-TS with HEVC (libx265, B-frames) and AAC, and
#    with HEVC and Opus → fMP4 LL-HLS whose init segment says hvc1 (hvcC)
#    and Opus (dOps), whose multivariant playlist names them in CODECS
#    (hvc1.<profile>.<compat>.<tier><level>.<constraints> worked out from
#    the SPS here, independently of lsp-package; "opus"), whose segments
#    decode frame for frame, and which pass hlscheck;
#  - through the platform with LSP_TRANSCODE=0 (no ladder): an E-RTMP
#    HEVC + Opus publish (tests/tools/ertmp-gen.py) → lsp-ingest →
#    scripts/lsp-channel → a live "src" rung in hvc1 + Opus that hlscheck
#    passes and ffmpeg decodes;
#  - lsp-record records the same streams (hvc1 + Opus).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
need ffmpeg; need ffprobe; need python3
P=$BIN/lsp-package
[ -x "$P" ] || fail "lsp-package not built"

src() { # audio-codec out
	ffmpeg -v error -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 4 \
		-c:v libx265 -preset ultrafast -g 30 -x265-params log-level=error -c:a "$1" -b:a 64k "$2" || fail "ffmpeg $2"
}
src aac "$T/aac.ts"
src libopus "$T/opus.ts"

# The CODECS value the SPS asks for, worked out here from ffmpeg's own
# hvcC (the mp4 muxer writes it): general profile_tier_level bytes.
want_codec() { # mp4
	python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
i = b.find(b"hvcC")
assert i > 0, "no hvcC"
c = b[i + 4:i + 4 + 13]
space, tier, idc = c[1] >> 6, (c[1] >> 5) & 1, c[1] & 0x1f
flags = int.from_bytes(c[2:6], "big")
rev = int(format(flags, "032b")[::-1], 2)
cons = list(c[6:12])
while cons and cons[-1] == 0:
    cons.pop()
s = "hvc1.%s%d.%X.%s%d" % (["", "A", "B", "C"][space], idc, rev, "LH"[tier], c[12])
print(s + "".join(".%X" % x for x in cons))
PY
}
ffmpeg -v error -i "$T/aac.ts" -c copy -tag:v hvc1 "$T/ref.mp4" || fail "ffmpeg ref.mp4"
want=$(want_codec "$T/ref.mp4") || fail "cannot read the reference hvcC"
[[ $want == hvc1.1.6.L* ]] || fail "reference codec string $want (want Main profile)"

for a in aac opus; do
	O=$T/out-$a
	"$P" --out "$O" <"$T/$a.ts" 2>"$T/pk-$a.log" || { tail -n 5 "$T/pk-$a.log"; fail "lsp-package ($a) exit $?"; }
	[ "$a" = aac ] && wa=mp4a.40.2 || wa=opus
	grep -q "CODECS=\"$want,$wa\"" "$O/master.m3u8" || { cat "$O/master.m3u8"; fail "$a: CODECS, want $want,$wa"; }
	grep -q 'RESOLUTION=320x180,.*FRAME-RATE=30.000' "$O/master.m3u8" || { cat "$O/master.m3u8"; fail "$a: attributes"; }
	info=$(ffprobe -v error -show_entries stream=codec_name,codec_tag_string -of csv=p=0 "$O/src/init.mp4")
	[ "$a" = aac ] && wt=aac,mp4a || wt=opus,Opus
	[ "$(echo $info)" = "hevc,hvc1 $wt" ] || fail "$a: init.mp4 has: $info"
	segs=$(grep -v '^#' "$O/src/index.m3u8")
	(cd "$O/src" && cat init.mp4 $segs) >"$T/all-$a.mp4"
	n=$(ffprobe -v error -count_frames -select_streams v -show_entries stream=nb_read_frames -of csv=p=0 "$T/all-$a.mp4")
	[ "$n" = 120 ] || fail "$a: $n video frames decoded from the segments, want 120"
	ffmpeg -v error -nostdin -i "$O/src/index.m3u8" -f null - 2>"$T/dec-$a.err" || { cat "$T/dec-$a.err"; fail "$a: HLS does not decode"; }
	[ -s "$T/dec-$a.err" ] && { cat "$T/dec-$a.err"; fail "$a: decoder complained"; }
	hls_check "$O"
done
ok "lsp-package: HEVC + AAC and HEVC + Opus → hvc1/Opus fMP4, CODECS=\"$want,…\", 120 of 120 frames, hlscheck clean"

# the recorder takes the same streams: a recording of an HEVC + Opus source
"$BIN/lsp-record" -c hv -i "$T/opus.ts" --root "$T/rec" --always --no-sync 2>"$T/rec.log" ||
	{ tail -n 5 "$T/rec.log"; fail "lsp-record of HEVC + Opus: exit $?"; }
d=$(ls -d "$T"/rec/hv/*/ | head -n1)
info=$(ffprobe -v error -show_entries stream=codec_name,codec_tag_string -of csv=p=0 "$d/init.mp4")
[ "$(echo $info)" = "hevc,hvc1 opus,Opus" ] || fail "recording's init.mp4 has: $info"
ffmpeg -v error -nostdin -i "$d/index.m3u8" -f null - 2>"$T/rdec.err" || { cat "$T/rdec.err"; fail "the recording does not decode"; }
hls_check "$d"
ok "lsp-record: an HEVC + Opus source recorded as hvc1 + Opus, decodes, hlscheck clean"

# ---- E-RTMP HEVC + Opus, LSP_TRANSCODE=0: the source as is
ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
	-t 8 -c:v libx265 -preset ultrafast -g 25 -x265-params log-level=error -c:a libopus -b:a 64k \
	"$T/hevc.mp4" || fail "ffmpeg libx265 + libopus"
export LSP_TRANSCODE=0 LSP_PART=0.5 LSP_SEGMENT=1 LSP_DVR=0 LSP_THUMB=0 LSP_METRICS_BASE=off LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"
K=$(new_channel hevc)
IP=$(free_port)
bg "$BIN/lsp-ingest" -l "127.0.0.1:$IP" --exec "$ROOT/scripts/lsp-channel {channel}" 2>"$T/ingest.log"
wait_port "$IP" 10 || fail "ingest did not listen"
python3 "$ROOT/tests/tools/ertmp-gen.py" "rtmp://127.0.0.1:$IP/live/$K" --media "$T/hevc.mp4" >"$T/gen.out" 2>"$T/gen.err" ||
	{ cat "$T/gen.err"; tail -n 20 "$T/ingest.log"; fail "E-RTMP publish failed"; }
H=$LSP_DATA_DIR/hls/hevc
wait_grep '#EXT-X-ENDLIST' "$H/src/index.m3u8" 30 || { tail -n 30 "$T/ingest.log" >&2; fail "src never ended"; }
grep -q 'CODECS="hvc1\.1\.6\.L[0-9]*[.0-9A-F]*,opus"' "$H/master.m3u8" || { cat "$H/master.m3u8"; fail "master CODECS"; }
hls_check "$H"
n=$(grep -c '^#EXTINF' "$H/src/index.m3u8")
[ "$n" -ge 5 ] || { cat "$H/src/index.m3u8"; fail "only $n segments for 8 s"; }
ffmpeg -v error -nostdin -i "$H/src/index.m3u8" -f null - 2>"$T/dec.err" || { cat "$T/dec.err"; fail "the live src does not decode"; }
grep -q '"level":"fatal"' "$T/ingest.log" && { grep '"level":"fatal"' "$T/ingest.log"; fail "fatal in the log"; }
grep -q "${K#*_}" "$T"/*.log "$T"/*.err && fail "the stream key reached a log"
ok "E-RTMP HEVC + Opus with LSP_TRANSCODE=0 → live src rung in hvc1 + Opus ($n segments, hlscheck clean, decodes)"
