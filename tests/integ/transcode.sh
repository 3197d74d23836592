#!/usr/bin/env bash
# lsp-transcode: ladder programs (service names, codecs, sizes), keyframes
# aligned across rungs and spaced by the GOP, timestamps and duration kept,
# clipping to the source, passthrough, a mid-stream resolution change,
# garbage bytes in the TS, a broken output pipe, exit codes.
. "$(dirname "$0")/../lib.sh"
need ffmpeg
need ffprobe
need python3
TC=$BIN/lsp-transcode

mk() { # size seconds out [extra ffmpeg args]
	local s=$1 d=$2 o=$3; shift 3
	ffmpeg -v error -y -f lavfi -i "testsrc2=s=$s:r=30" -f lavfi -i "sine=f=440:r=44100" -t "$d" \
		-c:v libx264 -preset ultrafast -g 50 -c:a aac -b:a 96k "$@" -f mpegts "$o" || fail "ffmpeg $o"
}
# programs FILE → lines "service_name vcodec height acodec vindex"
programs() {
	ffprobe -v error -show_programs -of json "$1" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["programs"]:
    v = [s for s in p["streams"] if s["codec_type"] == "video"]
    a = [s for s in p["streams"] if s["codec_type"] == "audio"]
    print(p.get("tags", {}).get("service_name", "-"), p.get("tags", {}).get("service_provider", "-"),
          v[0]["codec_name"] if v else "-", v[0].get("height", 0) if v else 0,
          a[0]["codec_name"] if a else "-", v[0]["index"] if v else -1)'
}
keys() { # FILE STREAM_INDEX → keyframe PTS, one line
	ffprobe -v error -select_streams "$2" -show_packets -show_entries packet=pts,flags -of csv=p=0 "$1" |
		awk -F, '$2 ~ /K/ {printf "%s ", $1}'
}
dur() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }
decodes() { ffmpeg -v error -i "$1" -map 0 -f null - 2>"$T/dec.err" && ! grep -q . "$T/dec.err"; }

"$TC" --help | grep -q -- "--ladder" || fail "--help"
"$TC" --version | grep -q "^lsp-transcode " || fail "--version"

# --- the ladder ---------------------------------------------------------------
mk 640x360 4 "$T/in.ts"
"$TC" --ladder 360p,240p <"$T/in.ts" >"$T/out.ts" 2>"$T/tc.log"; rc=$?
[ $rc -eq 0 ] || { cat "$T/tc.log" >&2; fail "transcode rc=$rc"; }
programs "$T/out.ts" >"$T/progs"
cat "$T/progs"
[ "$(wc -l <"$T/progs")" -eq 2 ] || fail "want 2 programs: $(cat "$T/progs")"
read -r n1 pv1 c1 h1 a1 v1 < <(sed -n 1p "$T/progs")
read -r n2 pv2 c2 h2 a2 v2 < <(sed -n 2p "$T/progs")
[ "$n1 $pv1 $c1 $h1 $a1" = "360p lsp h264 360 aac" ] || fail "program 1: $n1 $pv1 $c1 $h1 $a1"
[ "$n2 $pv2 $c2 $h2 $a2" = "240p lsp h264 240 aac" ] || fail "program 2: $n2 $pv2 $c2 $h2 $a2"
ok "2 programs 360p/240p, h264+aac, provider lsp"
k1=$(keys "$T/out.ts" "$v1"); k2=$(keys "$T/out.ts" "$v2")
echo "keyframes 360p: $k1"; echo "keyframes 240p: $k2"
[ -n "$k1" ] && [ "$k1" = "$k2" ] || fail "keyframes differ across rungs"
python3 - "$k1" 90000 <<'PY' || fail "keyframes not spaced by the GOP"
import sys
k = [int(x) for x in sys.argv[1].split()]; gop = int(sys.argv[2])
d = [b - a for a, b in zip(k, k[1:])]
print("gaps", d)
sys.exit(0 if len(k) >= 4 and all(abs(x - gop) <= 3000 for x in d) else 1)
PY
ok "keyframes identical across rungs, 1 s apart"
# timestamps preserved: first video PTS equals the source's
sv=$(ffprobe -v error -select_streams v:0 -show_entries stream=start_pts -of csv=p=0 "$T/in.ts" | grep -m1 "[0-9]")
ov=$(ffprobe -v error -select_streams "$v1" -show_entries stream=start_pts -of csv=p=0 "$T/out.ts" | grep -m1 "[0-9]")
[ "$sv" = "$ov" ] || fail "source PTS not kept: in $sv out $ov"
python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if abs(a-b) <= 0.1*a else 1)" \
	"$(dur "$T/in.ts")" "$(dur "$T/out.ts")" || fail "duration $(dur "$T/out.ts") vs $(dur "$T/in.ts")"
grep -q '"event":"video encoder chosen"' "$T/tc.log" || fail "encoder choice not logged"
grep '"event":"done"' "$T/tc.log" | grep -q '"fps":' || fail "no progress/done line with fps"
ok "PTS kept ($ov), duration within 10 %, encoder logged"

# --gop 0.5
"$TC" --ladder 240p --gop 0.5 --preset ultrafast <"$T/in.ts" >"$T/g.ts" 2>/dev/null || fail "--gop 0.5"
python3 - "$(keys "$T/g.ts" 0)" 45000 <<'PY' || fail "--gop 0.5 spacing"
import sys
k = [int(x) for x in sys.argv[1].split()]; gop = int(sys.argv[2])
d = [b - a for a, b in zip(k, k[1:])]
sys.exit(0 if len(k) >= 7 and all(abs(x - gop) <= 3000 for x in d) else 1)
PY
ok "--gop 0.5"

# --- the keyframe grid and the frame rate of VFR / 90 kHz sources ---------------
# grid FILE STREAM GOP_TICKS: every keyframe is the first frame at or past
# first_pts + n * GOP, and every grid point has one (the contract with lsp-package)
grid() {
	ffprobe -v error -select_streams "$2" -show_packets -show_entries packet=pts,flags -of csv=p=0 "$1" |
		python3 -c '
import sys
gop = int(sys.argv[1]); rows = [l.strip().split(",") for l in sys.stdin]
pts = sorted((int(r[0]), "K" in r[1]) for r in rows if len(r) >= 2 and r[0].isdigit())
first = pts[0][0]; want = []; n = 0
while first + n * gop <= pts[-1][0]:
    g = first + n * gop; want.append(next(p for p, _ in pts if p >= g)); n += 1
got = [p for p, k in pts if k]
print("keys", got); sys.exit(0 if got == want and len(got) >= 3 else 1)' "$3"
}
# stream_info FILE STREAM → "r_frame_rate level"
stream_info() {
	ffprobe -v error -select_streams "$2" -show_entries stream=r_frame_rate,level -of default=nw=1 "$1" |
		awk -F= '$1 == "r_frame_rate" && !r {r = $2} $1 == "level" && !l {l = $2} END {print r, l}'
}
# jitter of 0..32 ms on every frame of a 30 fps source, 90 kHz timestamps: the
# demuxer's rate guess is the time base itself (90000/1), as from WHIP/RTP
ffmpeg -v error -y -f lavfi -i "testsrc2=s=640x360:r=30" -f lavfi -i "sine=f=440:r=48000" -t 5 \
	-vf "settb=1/90000,setpts='PTS+floor(random(0)*2900)'" -fps_mode passthrough -enc_time_base:v 1/90000 \
	-c:v libx264 -preset ultrafast -bf 0 -g 30 -c:a aac -f mpegts "$T/vfr.ts" || fail "ffmpeg vfr"
read -r srate _ < <(stream_info "$T/vfr.ts" v:0)
echo "source rate as probed: $srate"
"$TC" --ladder 360p,240p --preset ultrafast <"$T/vfr.ts" >"$T/vfro.ts" 2>"$T/vfr.log" || fail "vfr rc=$?"
grep '"event":"output started"' "$T/vfr.log" | grep -q '"frame_rate_from":"measured"' ||
	fail "rate not measured: $(grep 'output started' "$T/vfr.log")"
for r in "0 30" "2 21"; do
	set -- $r
	read -r rate lvl < <(stream_info "$T/vfro.ts" "$1")
	python3 -c "import sys; n,d=map(int,sys.argv[1].split('/')); sys.exit(0 if 29<=n/d<=31 else 1)" "$rate" ||
		fail "stream $1: frame rate $rate"
	[ "$lvl" = "$2" ] || fail "stream $1: level $lvl, want $2"
	grid "$T/vfro.ts" "$1" 90000 || fail "VFR: keyframes off the 1 s grid (stream $1)"
done
ok "VFR 90 kHz source (probed $srate): rate measured ~30, levels 3.0/2.1, keyframes on the 1 s grid"
"$TC" --ladder 240p --gop 0.5 --preset ultrafast <"$T/vfr.ts" >"$T/vfrg.ts" 2>/dev/null || fail "vfr --gop 0.5"
grid "$T/vfrg.ts" 0 45000 || fail "VFR: keyframes off the 0.5 s grid"
LSP_SEGMENT=2 "$TC" --ladder 240p --preset ultrafast <"$T/vfr.ts" >"$T/vfrs.ts" 2>/dev/null || fail "LSP_SEGMENT=2"
grid "$T/vfrs.ts" 0 180000 || fail "LSP_SEGMENT=2: keyframes off the 2 s grid"
grep '"event":"output started"' "$T/tc.log" | grep -q '"frame_rate":30.000,"frame_rate_from":"stream"' ||
	fail "CFR source: $(grep 'output started' "$T/tc.log")"
ok "grid with --gop 0.5 and LSP_SEGMENT=2; a CFR source keeps its own rate"

# --- --ring-prefix: each encoded rung in its own shared-memory ring -------------
# ringdump RING OUT.h264 OUT.aac → "videos keys audios": entries as lsp-rtc reads them
ringdump() {
	python3 - "$@" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
magic, ver, nslots, _, cap = struct.unpack_from("<IIIIQ", b, 0)
gen, head, wres, last_key, ended = struct.unpack_from("<QQQQI", b, 24)
assert magic == 0x5250534c and ended == 1, (hex(magic), ended)
data = 128 + nslots * 40
v, a, keys, last = open(sys.argv[2], "wb"), open(sys.argv[3], "wb"), 0, -1
counts = [0, 0]
for seq in range(max(0, head - nslots), head):
    s, pos, ln, kind, flags, pts, dts = struct.unpack_from("<QQIBBxxqq", b, 128 + (seq % nslots) * 40)
    assert s == seq, (s, seq)
    chunk = b[data + pos % cap:data + pos % cap + ln]
    if kind == 1:
        assert dts > last, "video dts not increasing"; last = dts
        v.write(chunk); counts[0] += 1; keys += flags & 1
        assert not (flags & 1) or chunk.find(b"\0\0\1\x65") >= 0 or chunk.find(b"\0\0\0\1\x65") >= 0, "key without IDR"
    else:
        assert chunk[0] == 0xFF and chunk[1] & 0xF0 == 0xF0, "not ADTS"
        a.write(chunk); counts[1] += 1
print(counts[0], keys, counts[1])
PY
}
rm -f "$T"/lsp-ring-*
LSP_RING_DIR=$T "$TC" --ladder 360p,240p --passthrough --preset ultrafast --ring-prefix demo <"$T/in.ts" \
	>"$T/ring.ts" 2>"$T/ring.log" || fail "--ring-prefix rc=$?"
[ "$(ls "$T" | grep -c '^lsp-ring-')" = 2 ] || fail "want rings demo~360p and demo~240p: $(ls "$T" | grep ring)"
for r in 360p:360 240p:240; do
	read -r nv nk na < <(ringdump "$T/lsp-ring-demo~${r%%:*}" "$T/r.h264" "$T/r.aac") || fail "ring ${r%%:*} unreadable"
	h=$(ffprobe -v error -f h264 -show_entries stream=height -of csv=p=0 "$T/r.h264")
	bf=$(ffprobe -v error -f h264 -show_frames -show_entries frame=pict_type -of csv=p=0 "$T/r.h264" | grep -c '^B')
	[ "$nv" -ge 110 ] && [ "$nk" -ge 4 ] && [ "$na" -ge 150 ] && [ "$h" = "${r##*:}" ] && [ "$bf" = 0 ] ||
		fail "ring ${r%%:*}: $nv video ($nk key), $na audio, height $h, B-frames $bf"
	ffmpeg -v error -f aac -i "$T/r.aac" -f null - 2>"$T/aac.err" && ! grep -q . "$T/aac.err" || fail "ring audio does not decode"
done
grep -q '"event":"rung ring"' "$T/ring.log" || fail "rung ring not logged"
"$TC" --ring-prefix 'Bad/Name' </dev/null >/dev/null 2>&1; [ $? -eq 100 ] || fail "bad --ring-prefix not refused"
ok "--ring-prefix: one ring per encoded rung, IDR-flagged H.264 without B-frames + ADTS audio, ended"

# --- clipping and passthrough ---------------------------------------------------
"$TC" --preset ultrafast <"$T/in.ts" >"$T/clip.ts" 2>/dev/null || fail "default ladder"
[ "$(programs "$T/clip.ts" | cut -d' ' -f1,4 | tr '\n' ' ')" = "360p 360 " ] ||
	fail "360p source, default ladder: $(programs "$T/clip.ts")"
ok "default ladder clipped to the 360p source"
"$TC" --ladder 240p --passthrough --preset ultrafast <"$T/in.ts" >"$T/pt.ts" 2>/dev/null || fail "passthrough"
[ "$(programs "$T/pt.ts" | cut -d' ' -f1,4,5 | tr '\n' ' ')" = "src 360 aac 240p 240 aac " ] ||
	fail "passthrough programs: $(programs "$T/pt.ts")"
decodes "$T/pt.ts" || fail "passthrough output does not decode cleanly: $(head -3 "$T/dec.err")"
ok "--passthrough adds program src"

# --- resolution change mid-stream ---------------------------------------------------
mk 640x360 2 "$T/a.ts"
mk 320x240 2 "$T/b.ts"
cat "$T/a.ts" "$T/b.ts" >"$T/ab.ts"
"$TC" --ladder 360p,240p --preset ultrafast <"$T/ab.ts" >"$T/abo.ts" 2>"$T/ab.log" || fail "resolution change rc=$?"
grep -q 'resolution changed' "$T/ab.log" || fail "resolution change not logged"
decodes "$T/abo.ts" || fail "output after a resolution change does not decode: $(head -3 "$T/dec.err")"
sizes=$(ffprobe -v error -show_frames -show_entries frame=width,height -of csv=p=0 "$T/abo.ts" |
	cut -d, -f1,2 | grep -E '^[0-9]+,[0-9]+$' | sort -u | tr '\n' ' ')
[ "$sizes" = "426,240 640,360 " ] || fail "rung sizes moved: $sizes"
n=$(ffprobe -v error -select_streams 0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/abo.ts" | grep -m1 "[0-9]")
[ "$n" -ge 115 ] || fail "frames lost across the change: $n"
ok "resolution change: sizes fixed ($sizes), $n frames"

# --- garbage bytes in the TS ------------------------------------------------------
sz=$(stat -c %s "$T/in.ts"); h=$((sz / 2 + 1001))
{ head -c "$h" "$T/in.ts"; head -c 4000 /dev/urandom; tail -c +$((h + 1)) "$T/in.ts"; } >"$T/bad.ts"
"$TC" --ladder 360p,240p --preset ultrafast <"$T/bad.ts" >"$T/bado.ts" 2>"$T/bad.log"; rc=$?
[ $rc -eq 0 ] || fail "garbage: rc=$rc"
grep -q '"event":"input TS lost sync' "$T/bad.log" || fail "garbage not logged"
grep '"event":"done"' "$T/bad.log" | grep -q '"resyncs":[1-9]' || fail "resync not counted"
decodes "$T/bado.ts" || fail "output after garbage does not decode: $(head -3 "$T/dec.err")"
ok "garbage: exit 0, logged, output decodes"

# --- encoder choice, -i/-o ----------------------------------------------------------
"$TC" --encoder x264 --ladder 240p --preset ultrafast -i "$T/in.ts" -o "$T/x.ts" 2>"$T/x.log" || fail "-i/-o x264"
grep '"event":"video encoder chosen"' "$T/x.log" | grep -q '"encoder":"libx264"' || fail "x264 not reported"
[ "$(programs "$T/x.ts" | cut -d' ' -f1)" = "240p" ] || fail "-o file output"
if [ -e /dev/nvidiactl ]; then want=0; else want=111; fi
"$TC" --encoder nvenc --ladder 240p -i "$T/in.ts" -o "$T/nv.ts" 2>"$T/nv.log"; rc=$?
[ $rc -eq $want ] || fail "--encoder nvenc rc=$rc, want $want"
ok "--encoder x264, --encoder nvenc (rc $rc), -i/-o files"

# --- exit codes ------------------------------------------------------------------
for a in "--ladder 720p,bogus" "--ladder 720p,720p" "--ladder ''" "--gop 0" "--gop x" "--preset warp" \
	"--encoder quantum" "--threads -1" "--realtime sometimes" "stray"; do
	eval "\"$TC\" $a" </dev/null >/dev/null 2>&1; rc=$?
	[ $rc -eq 100 ] || fail "$a: rc=$rc, want 100"
done
ok "bad options exit 100"
"$TC" --ladder 360p <"$T/in.ts" 2>"$T/pipe.log" | head -c 2000 >/dev/null
rc=${PIPESTATUS[0]}
[ "$rc" -eq 111 ] || fail "broken pipe rc=$rc"
grep -q 'broken pipe' "$T/pipe.log" || fail "broken pipe not logged"
head -c 1000 /dev/urandom | "$TC" >/dev/null 2>"$T/junk.log"; rc=$?
[ $rc -eq 111 ] || fail "junk input rc=$rc"
ok "broken pipe and unreadable input exit 111"
