#!/usr/bin/env bash
# test: alone
# lsp-record: TS in -> crash-safe CMAF recording + VOD playlist.
#  - a 20 s broadcast (encoded and recorded as fast as possible): VOD
#    playlist, ffprobe reads 20 s, every frame, A/V offsets < 40 ms at both
#    ends (tests/tools/avsync.py), and the same with B-frames measured
#    against ffmpeg's own fragmented-MP4 remux of the same input;
#  - kill -9 at a random point of a real-time run: what is on disk plays,
#    at most one segment (+ start-up) is missing;
#  - a publisher that drops and reconnects within --grace: one recording
#    with a discontinuity; later than --grace: a new recording;
#  - record=off in the store: input drained, nothing written.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need ffprobe; need python3
R=$BIN/lsp-record
AV=$ROOT/tests/tools/avsync.py
[ -x "$R" ] || fail "lsp-record not built"

"$R" --help | grep -q -- "--grace" || fail "--help"
"$R" --version | grep -q "^lsp-record " || fail "--version"
"$R" </dev/null 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "no --channel rc=$rc"
"$R" --channel 'Bad Name' </dev/null 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "bad channel rc=$rc"
"$R" --channel x --segment 0 </dev/null 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "--segment 0 rc=$rc"
"$R" --channel x --always </dev/null 2>"$T/err"; rc=$?; [ $rc -eq 111 ] || fail "empty input rc=$rc"
grep -q '"level":"fatal"' "$T/err" || fail "no fatal log line"
ok "usage and exit codes"

src() { ffmpeg -v error ${RE:-} -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 "$@"; }
enc=(-c:v libx264 -preset veryfast -g 30 -keyint_min 30 -sc_threshold 0 -c:a aac -b:a 64k)
V=$T/vod
rec() { "$R" --root "$V" --always --segment 2 "$@"; }
check_av() { # file label: prints the JSON, fails on drift >= 40 ms
	local j; j=$(python3 "$AV" "$1") || fail "$2: ffprobe cannot read $1"
	echo "$2: $j"
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["start_drift_ms"] < 40 and d["end_drift_ms"] < 40 else 1)' "$j" ||
		fail "$2: A/V drift >= 40 ms"
	AVJ=$j
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$AVJ" "$1"; }

# ---- a 20 s broadcast, as fast as possible
src -t 20 "${enc[@]}" -bf 0 -f mpegts - 2>/dev/null | tee "$T/plain.ts" | rec --channel plain 2>"$T/plain.log" || { cat "$T/plain.log"; fail "record plain"; }
id=$(ls "$V/plain"); D=$V/plain/$id
[ "$(ls "$V/plain" | wc -l)" -eq 1 ] || fail "want one broadcast"
[[ $id =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || fail "broadcast id $id"
for tag in '#EXT-X-PLAYLIST-TYPE:VOD' '#EXT-X-ENDLIST' '#EXT-X-MAP:URI="init.mp4"' '#EXT-X-TARGETDURATION:2'; do
	grep -q -- "$tag" "$D/index.m3u8" || { cat "$D/index.m3u8"; fail "index.m3u8 lacks $tag"; }
done
grep -q DISCONTINUITY "$D/index.m3u8" && fail "discontinuity in a single session"
check_av "$D/index.m3u8" "20 s"
dur=$(field duration); nv=$(field v_frames)
python3 -c "import sys; sys.exit(0 if abs($dur - 20) < 0.1 else 1)" || fail "duration $dur, want 20"
[ "$nv" -eq 600 ] || fail "video frames $nv, want 600"
ffmpeg -v error -xerror -i "$D/index.m3u8" -f null - 2>"$T/dec.err" && ! [ -s "$T/dec.err" ] || { cat "$T/dec.err"; fail "does not decode"; }
grep -q '^ended [1-9]' "$D/rec.state" || fail "rec.state not ended"
ls -a "$D" | grep -q '\.tmp$' && fail "temporary files left"
ok "20 s recording: $dur s, $nv frames"

# input cut mid-stream (a publisher dropping): the TS's audio lags its
# video, so the recorder ends the video with the audio
head -c 500000 "$T/plain.ts" | rec --channel cut --grace 0 2>"$T/cut.log" || { cat "$T/cut.log"; fail "record cut input"; }
check_av "$V/cut/"*/index.m3u8 "cut input"
ok "cut input ends in sync"

# with B-frames ffprobe shows fragmented MP4 video shifted by the reorder
# delay (no edit list in a fragmented file): compare with ffmpeg's own remux
src -t 20 "${enc[@]}" -f mpegts "$T/bf.ts"
rec --channel bframes <"$T/bf.ts" 2>"$T/bf.log" || fail "record bframes"
ffmpeg -v error -i "$T/bf.ts" -c copy -bsf:a aac_adtstoasc -movflags +cmaf+frag_keyframe+empty_moov+default_base_moof \
	-f mp4 "$T/ref.mp4" || fail "reference remux"
r=$(python3 "$AV" "$V/bframes/"*/index.m3u8); f=$(python3 "$AV" "$T/ref.mp4")
python3 -c '
import json, sys
r, f = json.loads(sys.argv[1]), json.loads(sys.argv[2])
off = lambda d: d["a_start"] - d["v_start"]
eoff = lambda d: d["a_end"] - d["v_end"]
drift = abs(off(r) - off(f)) * 1000
edrift = abs(eoff(r) - eoff(f)) * 1000
print("B-frames: A/V offset at start %.1f ms (ffmpeg remux %.1f ms), at end %.1f ms (remux %.1f ms): drift %.1f / %.1f ms" %
      (off(r) * 1000, off(f) * 1000, eoff(r) * 1000, eoff(f) * 1000, drift, edrift))
sys.exit(0 if drift < 40 and edrift < 40 and abs(r["duration"] - 20) < 0.15 and r["v_frames"] == 600 else 1)' "$r" "$f" ||
	fail "B-frame recording: $r vs $f"
ok "B-frame recording in sync"

# ---- kill -9 at a random point of a real-time run (1 s segments)
k=$(( 3000 + RANDOM % 3000 ))
mkfifo "$T/live.fifo"
"$R" --root "$V" --always --segment 1 --channel crash <"$T/live.fifo" 2>"$T/crash.log" &
rp=$!; _pids+=($rp)
RE=-re src -t 10 "${enc[@]}" -bf 0 -f mpegts -y "$T/live.fifo" 2>/dev/null &
fp=$!; _pids+=($fp)
t0=$(date +%s%N)
sleep "$(printf '%d.%03d' $((k / 1000)) $((k % 1000)))"
kill -9 $rp; wait $rp 2>/dev/null
el=$(( ($(date +%s%N) - t0) / 1000000 ))
kill $fp 2>/dev/null; wait $fp 2>/dev/null
D=$(ls -d "$V/crash/"*) || fail "no recording after kill -9"
grep -q '#EXT-X-PLAYLIST-TYPE:EVENT' "$D/index.m3u8" && grep -q '#EXT-X-ENDLIST' "$D/index.m3u8" ||
	{ cat "$D/index.m3u8"; fail "playlist after kill -9"; }
for s in $(grep '^seg' "$D/index.m3u8"); do [ -s "$D/$s" ] || fail "listed $s missing after kill -9"; done
ffmpeg -v error -xerror -i "$D/index.m3u8" -f null - 2>"$T/dec.err" && ! [ -s "$T/dec.err" ] || { cat "$T/dec.err"; fail "killed recording does not decode"; }
check_av "$D/index.m3u8" "killed at ${el} ms"
dur=$(field duration)
# lost: the segment being filled (1 s + a GOP) and ffmpeg/probe start-up (< 1.5 s)
python3 -c "import sys; d=$dur; e=$el/1000; print('recorded %.2f s of %.2f s run, lost %.2f s' % (d, e, e - d)); sys.exit(0 if e - 3.5 < d <= e + 0.2 else 1)" ||
	fail "killed recording holds $dur s after $el ms"
grep -q '^ended 0' "$D/rec.state" || fail "killed recording claims to have ended"
ok "kill -9 at $el ms: the recording plays"

# a publisher coming back after the crash (within --grace) continues it
src -t 3 "${enc[@]}" -bf 0 -f mpegts - 2>/dev/null | "$R" --root "$V" --always --segment 1 --channel crash 2>"$T/crash2.log" || fail "re-record"
[ "$(ls "$V/crash" | wc -l)" -eq 1 ] || fail "crash + reconnect made two recordings"
grep -q '"reopened":true' "$T/crash2.log" || fail "not reopened after the crash"
grep -q '#EXT-X-PLAYLIST-TYPE:VOD' "$D/index.m3u8" || fail "not finalised after the reconnect"
check_av "$D/index.m3u8" "crash + reconnect"
ok "reconnect after kill -9 continues the recording"

# ---- drop and reconnect within the grace period: one broadcast
src -t 4 "${enc[@]}" -bf 0 -f mpegts "$T/four.ts"
rec --channel rc <"$T/four.ts" 2>"$T/rc1.log" || fail "rc 1"
sleep 1
t2=$(date +%s.%N)
rec --channel rc --grace 30 <"$T/four.ts" 2>"$T/rc2.log" || fail "rc 2"
[ "$(ls "$V/rc" | wc -l)" -eq 1 ] || fail "reconnect within grace made $(ls "$V/rc" | wc -l) recordings"
D=$(ls -d "$V/rc/"*)
[ "$(grep -c '^#EXT-X-DISCONTINUITY$' "$D/index.m3u8")" -eq 1 ] || { cat "$D/index.m3u8"; fail "want one discontinuity"; }
grep -q '#EXT-X-MAP:URI="init-1.mp4"' "$D/index.m3u8" || fail "second session has no init-1.mp4"
grep -q '^sessions 2' "$D/rec.state" || fail "rec.state sessions"
check_av "$D/index.m3u8" "reconnect"
dur=$(field duration); nv=$(field v_frames)
python3 -c "import sys; sys.exit(0 if abs($dur - 8) < 0.1 else 1)" && [ "$nv" -eq 240 ] || fail "reconnect: $dur s, $nv frames, want 8 s, 240"
ffmpeg -v error -xerror -i "$D/index.m3u8" -f null - 2>"$T/dec.err" && ! [ -s "$T/dec.err" ] || { cat "$T/dec.err"; fail "reconnected recording does not decode"; }
# PROGRAM-DATE-TIME of the second session is its wall clock, not that plus
# the recording's length (the anchor is on the shifted timeline)
pdt2=$(awk '/^#EXT-X-DISCONTINUITY$/ {d = 1} d && /^#EXT-X-PROGRAM-DATE-TIME:/ {print substr($0, 26); exit}' "$D/index.m3u8")
[ -n "$pdt2" ] || fail "no PROGRAM-DATE-TIME after the discontinuity"
python3 -c "
import datetime, sys
p = datetime.datetime.fromisoformat(sys.argv[1].replace('Z', '+00:00')).timestamp()
t = float(sys.argv[2]); print('second session PDT - its start: %.2f s' % (p - t))
sys.exit(0 if -1 < p - t < 1.5 else 1)" "$pdt2" "$t2" || fail "PROGRAM-DATE-TIME of the reconnect jumped: $pdt2"
ok "reconnect within grace: one recording, one discontinuity, $dur s"
sleep 2
rec --channel rc --grace 1 <"$T/four.ts" 2>"$T/rc3.log" || fail "rc 3"
[ "$(ls "$V/rc" | wc -l)" -eq 2 ] || fail "reconnect after grace did not start a new recording"
ok "reconnect after grace: a new recording"

# ---- the channel's record setting (store)
"$R" --root "$V" --channel offch <"$T/four.ts" 2>"$T/off.log"; rc=$?
[ $rc -eq 0 ] && ! [ -e "$V/offch" ] && grep -q 'recording is off' "$T/off.log" || fail "record=off: rc=$rc"
sqlite3 "$LSP_DATA_DIR/lsp.db" "INSERT INTO channel_recording (channel, record) VALUES ('offch', 1)" || fail "sqlite3"
"$R" --root "$V" --channel offch <"$T/four.ts" 2>"$T/on.log" || fail "record=on: rc=$?"
[ -d "$V/offch" ] || fail "record=on wrote nothing"
ok "record setting honoured"

# ---- optional push of the finished recording to S3-compatible storage
if [ -x "$BIN/lsp-push" ]; then
	port=$(free_port)
	export AWS_ACCESS_KEY_ID=AKIDLSPTEST AWS_SECRET_ACCESS_KEY=lsp-test-secret-$$
	bg python3 "$ROOT/tests/tools/s3srv.py" --port "$port" --root "$T/s3" --log "$T/s3.log" \
		--access "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" >/dev/null 2>"$T/s3.err"
	wait_port "$port" 5 || fail "s3srv did not start"
	rec --channel pushed --on-finish "'$BIN/lsp-push' s3://media/vod/\$LSP_REC_CHANNEL/\$LSP_REC_ID --dir \"\$LSP_REC_DIR\" \
		--endpoint http://127.0.0.1:$port --path-style --once" <"$T/four.ts" 2>"$T/push.log" || { cat "$T/push.log"; fail "record + push"; }
	id=$(ls "$V/pushed")
	for f in index.m3u8 init.mp4 seg0.m4s seg1.m4s; do
		cmp -s "$V/pushed/$id/$f" "$T/s3/media/vod/pushed/$id/$f" || fail "pushed $f differs or is missing"
	done
	ok "finished recording pushed to S3 (--on-finish lsp-push)"
fi
