#!/usr/bin/env bash
# test: alone
# lsp-package: TS in -> LL-HLS directory.  Checks the playlists' tags, part
# and segment durations, that ffprobe/ffmpeg read the result (HLS demuxer,
# concatenated init+segments), that parts concatenate to their segment byte
# for byte, a two-program ladder with its multivariant playlist, the live
# behaviour (parts every ~200 ms, preload hint, sliding window with
# deletion) and the exit codes.
. "$(dirname "$0")/../lib.sh"
need ffmpeg
need ffprobe
P=$BIN/lsp-package
[ -x "$P" ] || fail "lsp-package not built"

# ---- usage and exit codes
"$P" --help | grep -q -- "--segment" || fail "--help"
"$P" --version | grep -q "^lsp-package " || fail "--version"
"$P" </dev/null 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "no --out rc=$rc"
"$P" --out "$T/x" --part 0 </dev/null 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "--part 0 rc=$rc"
"$P" --out "$T/x" --window 2 </dev/null 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "--window 2 rc=$rc"
"$P" --out "$T/x" --first-seq soon </dev/null 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "--first-seq soon rc=$rc"
"$P" --out "$T/x" --bogus </dev/null 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "bad option rc=$rc"
: >"$T/afile"
"$P" --out "$T/afile/ch" </dev/null 2>"$T/err"; rc=$?; [ $rc -eq 111 ] || fail "unwritable dir rc=$rc"
grep -q '"level":"fatal"' "$T/err" || fail "no fatal log line"
ok "usage and exit codes"

# ---- the checker itself fails what the spec forbids (one run over them all)
B=$T/bad; mkdir -p "$B"
h='#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-MAP:URI="init.mp4"\n'
printf "$h"'#EXTINF:1.6,\nseg5.m4s\n' >"$B/over.m3u8"
printf "$h"'#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:1.0,\nseg5.m4s\n' "$(date -u -d '-95444 seconds' +%Y-%m-%dT%H:%M:%S.000Z)" >"$B/wrap.m3u8"
printf "$h"'#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=0.3\n' >"$B/phb.m3u8"
printf "$h"'#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=0.6\n#EXT-X-PART:DURATION=0.25,URI="seg5.0.m4s"\n' >"$B/part.m3u8"
printf '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=320x180,CODECS="avc1.64000d",FRAME-RATE=90000\na/index.m3u8\n' >"$B/master.m3u8"
printf '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:5\n#EXTINF:1.0,\nseg5.ts\n' >"$B/r1.m3u8"
printf '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4\n#EXTINF:1.0,\nseg4.ts\n' >"$B/r2.m3u8"
"$ROOT/tests/tools/hlscheck" --state "$T/bad.state" --as r "$B/r1.m3u8" "$B/r2.m3u8" "$B" >"$T/bad.out" 2>&1 && fail "hlscheck passed bad playlists"
for m in 'over.m3u8:.*rounds above EXT-X-TARGETDURATION' 'wrap.m3u8:.*from the wall clock' 'phb.m3u8:.*less than twice PART-TARGET' \
	'part.m3u8:.*exceeds PART-TARGET' 'master.m3u8:.*FRAME-RATE=90000' 'TARGETDURATION changed between reloads: 1 -> 2' \
	'MEDIA-SEQUENCE went back'; do
	grep -q -- "$m" "$T/bad.out" || { cat "$T/bad.out" >&2; fail "hlscheck missed: $m"; }
done
ok "hlscheck fails what the spec forbids"

# ---- canned input: 6 s, 30 fps, GOP 1 s, with B-frames, 48 kHz AAC
src() { ffmpeg -v error -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 "$@"; }
enc=(-c:v libx264 -preset veryfast -g 30 -keyint_min 30 -sc_threshold 0 -c:a aac -b:a 64k)
src -t 6 "${enc[@]}" -f mpegts "$T/one.ts" || fail "ffmpeg one.ts"

"$P" --out "$T/hls/ch" --first-seq 0 <"$T/one.ts" 2>"$T/one.log" || { cat "$T/one.log" >&2; fail "package one.ts"; }
D=$T/hls/ch/src
PL=$D/index.m3u8
for tag in '#EXT-X-VERSION:' '#EXT-X-TARGETDURATION:1$' '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600' \
	'#EXT-X-PART-INF:PART-TARGET=0.200' '#EXT-X-MEDIA-SEQUENCE:0' '#EXT-X-MAP:URI="init.mp4"' \
	'#EXT-X-PROGRAM-DATE-TIME:20' '#EXT-X-PART:DURATION=' 'INDEPENDENT=YES' '#EXT-X-ENDLIST'; do
	grep -q -- "$tag" "$PL" || { cat "$PL" >&2; fail "index.m3u8 lacks $tag"; }
done
grep -q PRELOAD-HINT "$PL" && fail "preload hint after the end"
nseg=$(grep -c '^#EXTINF' "$PL")
[ "$nseg" -eq 6 ] || fail "want 6 segments, got $nseg"
awk -F'[=,:]' '/^#EXT-X-PART:/ { d = $3; if (d < 0.2 - 0.034 || d > 0.2 + 0.001) { print "part " d; bad = 1 } }
	/^#EXTINF:/ { d = $2; if (d < 1 - 0.034 || d > 1 + 0.034) { print "segment " d; bad = 1 } }
	END { exit bad }' "$PL" || fail "part or segment duration out of range"
hls_check "$T/hls/ch"
ok "media playlist tags and durations"

grep -q '^#EXT-X-STREAM-INF:BANDWIDTH=[0-9]*,AVERAGE-BANDWIDTH=[0-9]*,RESOLUTION=320x180,CODECS="avc1\.[0-9a-f]\{6\},mp4a\.40\.2",FRAME-RATE=30\.000$' \
	"$T/hls/ch/master.m3u8" || { cat "$T/hls/ch/master.m3u8" >&2; fail "master.m3u8"; }
grep -qx 'src/index.m3u8' "$T/hls/ch/master.m3u8" || fail "master does not name src/index.m3u8"
ok "master playlist"

nf=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$PL" | head -n1)
[ "${nf:-0}" -ge 175 ] && [ "$nf" -le 180 ] || fail "ffprobe read $nf video frames via index.m3u8, want ~180"
na=$(ffprobe -v error -count_frames -select_streams a:0 -show_entries stream=nb_read_frames -of csv=p=0 "$PL" | head -n1)
na_in=$(ffprobe -v error -count_frames -select_streams a:0 -show_entries stream=nb_read_frames -of csv=p=0 "$T/one.ts" | head -n1)
[ "${na:-0}" -ge $((na_in - 3)) ] && [ "$na" -le "$na_in" ] || fail "ffprobe read $na audio frames, the input has $na_in"
(cd "$D" && cat init.mp4 $(for i in 0 1 2 3 4 5; do echo seg$i.m4s; done)) >"$T/all.mp4"
ffmpeg -v error -xerror -i "$T/all.mp4" -f null - 2>"$T/dec.err" || { cat "$T/dec.err" >&2; fail "init+segments do not decode"; }
[ -s "$T/dec.err" ] && { cat "$T/dec.err" >&2; fail "decoder complained"; }
for i in 0 1 2 3 4 5; do
	np=$(ls "$D"/seg$i.*.m4s | wc -l)
	[ "$np" -ge 5 ] || fail "segment $i lists $np parts"
	(cd "$D" && cat $(for ((j = 0; j < np; j++)); do echo seg$i.$j.m4s; done)) | cmp -s - "$D/seg$i.m4s" ||
		fail "parts of segment $i differ from seg$i.m4s"
done
# timestamps survive (no shift to zero): the first audio sample keeps its TS time
a0=$(ffprobe -v error -select_streams a:0 -show_entries packet=pts_time -of csv=p=0 "$T/all.mp4" | head -n1 | cut -d, -f1)
ffprobe -v error -select_streams a:0 -show_entries packet=pts_time -of csv=p=0 "$T/one.ts" | cut -d, -f1 |
	awk -v a="$a0" '{ d = $1 - a; if (d < 0.0005 && d > -0.0005) f = 1 } END { exit !(f && a > 1) }' ||
	fail "audio timestamps moved: first mp4 pts $a0"
ls -a "$D" | grep -q '\.tmp$' && fail "temporary files left"
ok "ffprobe/ffmpeg read it; parts == segments"

# ---- a timeline reset (two files back to back) keeps decode times increasing
cat "$T/one.ts" "$T/one.ts" | "$P" --out "$T/hls/twice" 2>"$T/twice.log" || { cat "$T/twice.log" >&2; fail "package one.ts twice"; }
[ "$(grep -c '^#EXTINF' "$T/hls/twice/src/index.m3u8")" -eq 6 ] || fail "twice: window"
nf=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$T/hls/twice/src/index.m3u8" | head -n1)
[ "${nf:-0}" -ge 175 ] || fail "twice: $nf frames in the last 6 segments"
grep -q '"event":"timeline resets"' "$T/twice.log" || fail "reset not reported"
hls_check "$T/hls/twice"
ok "timeline reset"

# ---- numbering never repeats across runs (media is cached by name):
# the default starts at wall-clock seconds / segment, or past what is on disk
now=$(date +%s)
"$P" --out "$T/hls/again" <"$T/one.ts" 2>/dev/null || fail "package (clock numbering)"
s1=$(grep -o 'MEDIA-SEQUENCE:[0-9]*' "$T/hls/again/src/index.m3u8" | cut -d: -f2)
l1=$(grep '^seg[0-9]*\.m4s$' "$T/hls/again/src/index.m3u8" | tail -n1 | sed 's/^seg\([0-9]*\)\.m4s$/\1/')
[ "$s1" -ge "$now" ] && [ "$s1" -le $((now + 5)) ] || fail "clock numbering: first $s1, clock $now"
"$P" --out "$T/hls/again" <"$T/one.ts" 2>/dev/null || fail "package again (clock numbering)"
s2=$(grep -o 'MEDIA-SEQUENCE:[0-9]*' "$T/hls/again/src/index.m3u8" | cut -d: -f2)
[ "$s2" -gt "$l1" ] || fail "second run reuses numbers: starts $s2, first run ended at $l1"
[ -e "$T/hls/again/src/seg$l1.m4s" ] && fail "first run's segments left behind"
hls_check "$T/hls/again"
"$P" --out "$T/hls/again" --segment 2 <"$T/one.ts" 2>/dev/null || fail "package --segment 2"
s3=$(grep -o 'MEDIA-SEQUENCE:[0-9]*' "$T/hls/again/src/index.m3u8" | cut -d: -f2)
[ "$s3" -gt "$s2" ] || fail "a longer segment went back in numbering: $s3 after $s2"
ok "numbers $s1.. then $s2.. then $s3..: never reused across runs"

# ---- input that starts mid-GOP with key frames 3 s apart: probing ends
# before the first SPS, which then comes from the first key frame
src -t 7 -c:v libx264 -preset veryfast -g 90 -keyint_min 90 -sc_threshold 0 -c:a aac -f mpegts "$T/g3.ts" || fail "ffmpeg g3.ts"
tail -c +$(( ($(stat -c %s "$T/g3.ts") / 8 / 188) * 188 + 1 )) "$T/g3.ts" | "$P" --out "$T/hls/g3" 2>"$T/g3.log" ||
	{ cat "$T/g3.log" >&2; fail "package mid-GOP input"; }
grep -q 'RESOLUTION=320x180,CODECS="avc1\.64' "$T/hls/g3/master.m3u8" || { cat "$T/hls/g3/master.m3u8" >&2; fail "g3 master"; }
grep -q '#EXT-X-TARGETDURATION:3' "$T/hls/g3/src/index.m3u8" || fail "g3: target duration for 3 s GOPs"
nf=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$T/hls/g3/src/index.m3u8" | head -n1)
[ "${nf:-0}" -ge 100 ] || fail "g3: $nf frames"
hls_check "$T/hls/g3"
ok "mid-GOP start"

# ---- two programs: rung names from service_name, master highest first
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=sample_rate=48000 -t 3 \
	-filter_complex '[0:v]split[a][b];[b]scale=320:180[c]' -map '[a]' -map 1:a -map '[c]' -map 1:a \
	"${enc[@]}" -program title=360p:st=0:st=1 -program title=180p:st=2:st=3 -f mpegts "$T/two.ts" || fail "ffmpeg two.ts"
"$P" -i "$T/two.ts" --out "$T/hls/two" 2>"$T/two.log" || { cat "$T/two.log" >&2; fail "package two.ts"; }
M=$T/hls/two/master.m3u8
[ "$(grep -v '^#' "$M" | tr '\n' ' ')" = "360p/index.m3u8 180p/index.m3u8 " ] || { cat "$M" >&2; fail "rungs in master"; }
grep -q 'RESOLUTION=640x360' "$M" && grep -q 'RESOLUTION=320x180' "$M" || fail "resolutions in master"
for r in 360p 180p; do
	grep -q '#EXT-X-ENDLIST' "$T/hls/two/$r/index.m3u8" || fail "$r not ended"
	n=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$T/hls/two/$r/index.m3u8" | head -n1)
	[ "${n:-0}" -ge 85 ] || fail "$r: $n frames"
done
n=$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$M" | grep -v '^$' | sort -un | tr '\n' ' ')
[ "$n" = "320 640 " ] || fail "ffprobe master video widths: $n"
hls_check "$T/hls/two"
ok "two-program ladder"

# ---- live: real-time feed, window 3
L=$T/hls/live/src
(ffmpeg -v error -re -f lavfi -i testsrc2=size=320x180:rate=30 -re -f lavfi -i sine=sample_rate=48000 -t 7 -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -keyint_min 30 -sc_threshold 0 \
	-c:a aac -muxdelay 0 -flush_packets 1 -f mpegts pipe:1 | "$P" --out "$T/hls/live" --first-seq 0 --window 3 2>"$T/live.log") &
_pids+=($!)
wait_file "$L/index.m3u8" 10 || fail "no live playlist"
hints=0 samples=0 last=""
for ((i = 0; i < 20; i++)); do
	sleep 0.25
	cp "$L/index.m3u8" "$T/cur.m3u8" 2>/dev/null || continue # one load, every check on it
	grep -q '#EXT-X-ENDLIST' "$T/cur.m3u8" && break
	samples=$((samples + 1))
	hls_sample live "$T/cur.m3u8"
	grep -q '^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg[0-9]*\.[0-9]*\.m4s"$' "$T/cur.m3u8" && hints=$((hints + 1))
	cur=$(tail -n1 "$T/cur.m3u8")
	[ "$cur" != "$last" ] && changes=$((${changes:-0} + 1))
	last=$cur
done
wait_grep '#EXT-X-ENDLIST' "$L/index.m3u8" 15 || fail "live playlist never ended"
[ "$samples" -ge 8 ] && [ "$hints" -eq "$samples" ] || fail "preload hint in $hints of $samples live samples"
hls_samples_check live
[ "${changes:-0}" -ge 8 ] || fail "live playlist changed only ${changes:-0} times in $samples samples"
# parts were published about every 200 ms (median gap of their mtimes)
gap=$(find "$L" -name 'seg*.*.m4s' -printf '%T@\n' | sort -n | awk 'NR > 1 { print $1 - p } { p = $1 }' |
	sort -g | awk '{ g[NR] = $1 } END { print g[int((NR + 1) / 2)] }')
awk -v g="$gap" 'BEGIN { exit !(g > 0.1 && g < 0.3) }' || fail "median gap between parts $gap s"
grep -q '#EXT-X-MEDIA-SEQUENCE:[1-9]' "$L/index.m3u8" || fail "window did not slide"
[ "$(grep -c '^#EXTINF' "$L/index.m3u8")" -eq 3 ] || fail "window 3 lists $(grep -c '^#EXTINF' "$L/index.m3u8") segments"
[ -e "$L/seg0.m4s" ] || [ -e "$L/seg0.0.m4s" ] && fail "old segment files not deleted"
first=$(grep -o 'MEDIA-SEQUENCE:[0-9]*' "$L/index.m3u8" | cut -d: -f2)
[ -e "$L/seg$first.m4s" ] || fail "listed segment seg$first.m4s missing"
ok "live: $samples samples, median part gap ${gap}s, window slid to $first"

# ---- DVR: --dvr 4 on the 6 s input with window 3: dvr.m3u8 lists the last
# 4 s of complete segments, master-dvr.m3u8 names it, full segments inside
# the DVR window (+2 grace) stay while their parts go with the LL window
"$P" --out "$T/hls/dvr" --first-seq 0 --window 3 --dvr 4 <"$T/one.ts" 2>"$T/dvr.log" || { cat "$T/dvr.log" >&2; fail "package --dvr"; }
D=$T/hls/dvr/src
grep -qx 'src/dvr.m3u8' "$T/hls/dvr/master-dvr.m3u8" || fail "master-dvr.m3u8"
grep -qx 'src/index.m3u8' "$T/hls/dvr/master.m3u8" || fail "master.m3u8 with --dvr"
[ "$(grep -c '^#EXTINF' "$D/dvr.m3u8")" -eq 4 ] || { cat "$D/dvr.m3u8"; fail "dvr.m3u8 lists $(grep -c '^#EXTINF' "$D/dvr.m3u8") segments, want 4"; }
grep -q '^#EXT-X-MEDIA-SEQUENCE:2$' "$D/dvr.m3u8" && grep -q '#EXT-X-ENDLIST' "$D/dvr.m3u8" &&
	grep -q '#EXT-X-PROGRAM-DATE-TIME:' "$D/dvr.m3u8" && ! grep -q 'EXT-X-PART' "$D/dvr.m3u8" || { cat "$D/dvr.m3u8"; fail "dvr.m3u8 tags"; }
[ "$(grep -c '^#EXTINF' "$D/index.m3u8")" -eq 3 ] || fail "LL window with --dvr"
for i in 0 1 2 3 4 5; do [ -e "$D/seg$i.m4s" ] || fail "seg$i.m4s deleted inside the DVR window + grace"; done
[ -e "$D/seg0.0.m4s" ] && fail "parts of seg0 kept with --dvr"
nf=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$D/dvr.m3u8" | head -n1)
[ "${nf:-0}" -ge 118 ] && [ "$nf" -le 120 ] || fail "ffprobe read $nf frames via dvr.m3u8, want 120"
# a second run into the same directory (a publisher reconnect) removes the
# first run's segments: it numbers from 0 again and would never reclaim them
head -c 300000 "$T/one.ts" | "$P" --out "$T/hls/dvr" --first-seq 0 --window 3 --dvr 4 2>"$T/dvr2.log" || fail "package --dvr again"
last=$(grep '^seg' "$D/dvr.m3u8" | tail -n1 | sed 's/^seg\([0-9]*\)\.m4s$/\1/')
for f in "$D"/seg*.m4s; do n=$(basename "$f" | sed 's/^seg\([0-9]*\).*/\1/'); [ "$n" -le "$last" ] || fail "stale $(basename "$f") after a restart"; done
"$P" --out "$T/x" --dvr -1 </dev/null 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "--dvr -1 rc=$rc"
hls_check "$T/hls/dvr"
ok "DVR playlists: 4 s window, $nf frames"

# ---- EXT-X-TARGETDURATION is fixed for the life of a playlist and every
# EXTINF rounds to at most it, whatever the source's key frames do:
#  vfr   variable frame rate (a third of the frames dropped at random), key
#        frames forced on a 1 s grid (each at the first frame at or past
#        n s, as lsp-transcode places them): GOPs of 1 s give or take a frame
#  long  variable frame rate with a 100-frame GOP (about 4.7 s): declared
#        from the first GOP, parts still flow every 200 ms
#  g4    constant 30 fps, 4 s GOP (LSP_TRANSCODE=0 behind a 4 s encoder)
# Each is fed in real time and its playlist sampled while live.
vsrc() { ffmpeg -v error -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=sample_rate=48000 -t "$1" \
	-vf "select='lt(random(0)\,0.67)'" -fps_mode vfr -c:v libx264 -preset ultrafast -x264-params scenecut=0 -bf 0 "${@:2}" \
	-c:a aac -f mpegts -; }
vsrc 8 -force_key_frames 'expr:gte(t,n_forced*1)' >"$T/vfr.ts" || fail "ffmpeg vfr.ts"
vsrc 16 -g 100 -keyint_min 100 >"$T/long.ts" || fail "ffmpeg long.ts"
src -t 13 -c:v libx264 -preset ultrafast -g 120 -keyint_min 120 -sc_threshold 0 -c:a aac -f mpegts "$T/g4.ts" || fail "ffmpeg g4.ts"
for s in vfr long g4; do # all three at once, in real time
	(ffmpeg -v error -re -i "$T/$s.ts" -c copy -muxdelay 0 -flush_packets 1 -f mpegts pipe:1 |
		"$P" --out "$T/hls/t-$s" --first-seq 0 2>"$T/t-$s.log") &
	_pids+=($!)
done
for s in vfr long g4; do wait_file "$T/hls/t-$s/src/index.m3u8" 30 || fail "$s: no playlist"; done
for ((n = 0; n < 600; n++)); do
	live=0
	for s in vfr long g4; do
		O=$T/hls/t-$s/src
		grep -q '#EXT-X-ENDLIST' "$O/index.m3u8" || live=1
		hls_sample "$s" "$O/index.m3u8"
	done
	[ $live = 0 ] && break
	sleep 0.1
done
for s in vfr long g4; do
	O=$T/hls/t-$s/src
	grep -q '#EXT-X-ENDLIST' "$O/index.m3u8" || fail "$s: playlist never ended"
	hls_samples_check "$s"
	tds=$(sed -n 's/^#EXT-X-TARGETDURATION://p' "$O/index.m3u8")
	awk -F'[:,]' -v t="$tds" '/^#EXTINF:/ { if (int($2 + 0.5) > t) bad = 1; n++ } END { exit bad || n < 2 }' "$O/index.m3u8" ||
		{ cat "$O/index.m3u8" >&2; fail "$s: EXTINF over TARGETDURATION $tds"; }
	grep -q '"event":"long segment"' "$T/t-$s.log" && fail "$s: a segment over the target"
	grep -q '^#EXT-X-PART:' "$O/index.m3u8" || fail "$s: no parts"
	echo "$s: TARGETDURATION $tds over $(ls "$T/hls-samples/$s" | wc -l) live samples, $(grep -c '^#EXTINF' "$O/index.m3u8") segments"
done
[ "$(sed -n 's/^#EXT-X-TARGETDURATION://p' "$T/hls/t-vfr/src/index.m3u8")" = 1 ] || fail "vfr: target not 1"
[ "$(sed -n 's/^#EXT-X-TARGETDURATION://p' "$T/hls/t-g4/src/index.m3u8")" = 4 ] || fail "g4: target not 4"
ok "TARGETDURATION fixed over VFR, long-GOP and 4 s GOP sources"
