#!/usr/bin/env bash
# test: alone
# ondemand — rungs nobody watches are not encoded (lsp-transcode
# --on-demand through scripts/lsp-channel, as lsp-ingest runs it):
#  - a live 640x360 publisher, ladder 360p,240p (+ the "src" lsp-channel
#    adds), LSP_ON_DEMAND=4, one viewer polling 240p through lsp-edge: 360p,
#    which nobody watches, goes idle ("rung idle") while 240p runs and its
#    playlist keeps growing; the transcoder's CPU while 360p is idle is
#    printed against its CPU while both are encoded (same run, side by side)
#  - a viewer asking lsp-edge for 360p brings it back ("rung wanted") within
#    a few seconds (lsp-edge holds that first, plain playlist load until the
#    rung has moved on, never answering with the stale playlist): a new segment with EXT-X-DISCONTINUITY and its own
#    PROGRAM-DATE-TIME, decodable from its init section, and the playlists
#    pass hlscheck (the gap is a discontinuity, no part spans it); the idle
#    stretch is EXT-X-GAP segments, so the resumed segment has the sequence
#    number 240p gives the same PROGRAM-DATE-TIME
#  - metrics: lsp_transcode_rungs_idle and lsp_transcode_demand_starts_total
#  - then nobody watches anything: both rungs idle, the source is no longer
#    decoded ("decoding stopped"); a viewer asking for 360p restarts
#    decoding at a source keyframe ("decoding resumed") and 360p comes back
#    on the grid "src" keeps (same sequence number, same date), decodable
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need ffprobe; need curl; need python3
export LSP_RING_DIR=$T/rings LSP_LADDER=360p,240p LSP_PRESET=ultrafast LSP_PART=0.5 LSP_SEGMENT=1 \
	LSP_DVR=0 LSP_THUMB=1 LSP_ON_DEMAND=4 LSP_METRICS_BASE=$(free_port) LSP_METRICS_SLOTS=1
mkdir -m 0700 -p "$LSP_RING_DIR" "$LSP_DATA_DIR/hls" "$T/web"
H=$LSP_DATA_DIR/hls/od
P=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$P" --hls-root "$LSP_DATA_DIR/hls" --web-root "$T/web" 2>"$T/edge.log"
wait_port "$P" 10 || fail "edge did not listen"
# ffmpeg → FIFO → lsp-channel, both tracked: the test's end stops them (a
# pipeline in a subshell would leave lsp-channel running after the test)
mkfifo "$T/in.ts"
bg bash -c 'exec "$0" od <"$1" 2>"$2"' "$ROOT/scripts/lsp-channel" "$T/in.ts" "$T/ch.log" # opens the FIFO in the child
bg ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 240 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-y -f mpegts "$T/in.ts"
wait_file "$H/240p/index.m3u8" 30 || { tail -n 20 "$T/ch.log" >&2; fail "no 240p playlist"; }
# a viewer on 240p all along (lsp-edge touches its want file for each load)
bg bash -c 'while :; do curl -s -m 2 -o /dev/null "$0"; sleep 0.3; done' "http://127.0.0.1:$P/hls/od/240p/index.m3u8"
viewer240=$!
tc=$(pgrep -f "lsp-transcode .*--ring-prefix od" | head -n1)
[ -n "$tc" ] || fail "no lsp-transcode"
cpu() { awk '{print $14 + $15}' "/proc/$tc/stat"; }   # utime + stime, ticks

# both rungs are encoded during the first LSP_ON_DEMAND seconds: measure them
c0=$(cpu); sleep 2; c1=$(cpu); both=$((c1 - c0))
wait_grep '"event":"rung idle","rung":"360p"' "$T/ch.log" 20 || { tail -n 20 "$T/ch.log" >&2; fail "360p never went idle"; }
grep -q '"event":"rung idle","rung":"240p"' "$T/ch.log" && fail "the watched rung went idle"
ok "no viewer of 360p: idle after ${LSP_ON_DEMAND}s, 240p (watched) runs"
sleep 1
c0=$(cpu); sleep 2; c1=$(cpu); one=$((c1 - c0))
echo "lsp-transcode CPU over 2 s: both rungs $both ticks, 360p idle $one ticks (load $(cut -d' ' -f1 /proc/loadavg))"
n240=$(grep -c '^#EXT-X-PART:' "$H/240p/index.m3u8")
s240=$(grep -m1 '^#EXT-X-PRELOAD-HINT' "$H/240p/index.m3u8")
for _ in $(seq 50); do [ "$(grep -m1 '^#EXT-X-PRELOAD-HINT' "$H/240p/index.m3u8")" != "$s240" ] && break; sleep 0.1; done
[ "$(grep -m1 '^#EXT-X-PRELOAD-HINT' "$H/240p/index.m3u8")" != "$s240" ] || fail "240p stopped while 360p idle ($n240 parts)"
cp "$H/360p/index.m3u8" "$T/idle.m3u8"
sleep 2
cmp -s "$H/360p/index.m3u8" "$T/idle.m3u8" || fail "360p playlist changed while idle"
mx=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))[0]["targets"][0])' "$LSP_DATA_DIR/run/metrics/od.json")
for _ in $(seq 30); do
	curl -sf "http://$mx/metrics" >"$T/m1" && grep -q '^lsp_transcode_rungs_idle{channel="od"} 1$' "$T/m1" && break
	sleep 0.2
done
grep -q '^lsp_transcode_rungs_idle{channel="od"} 1$' "$T/m1" || fail "metrics: rungs_idle $(grep idle "$T/m1")"
th=$(stat -c %y "$H/thumb.jpg" 2>/dev/null)
for _ in $(seq 50); do [ "$(stat -c %y "$H/thumb.jpg" 2>/dev/null)" != "$th" ] && break; sleep 0.2; done
[ "$(stat -c %y "$H/thumb.jpg" 2>/dev/null)" != "$th" ] || fail "no new thumbnail while 360p idle"
ok "idle 360p: its playlist stands still, 240p goes on (thumbnails too), metrics say 1 idle"

# a viewer asks for 360p: it comes back within a few seconds.  Its first,
# plain load of the idle playlist is held by lsp-edge until the rung has
# moved on, so a player never starts from the stale (idle) playlist.
t0=$(date +%s%N)
curl -sf -m 20 -D "$T/v0.h" -o "$T/v0.m3u8" "http://127.0.0.1:$P/hls/od/360p/index.m3u8" || fail "edge: first 360p load"
ms0=$(( ($(date +%s%N) - t0) / 1000000 ))
cmp -s "$T/v0.m3u8" "$T/idle.m3u8" && fail "the idle 360p playlist was served as it was (after $ms0 ms)"
grep -qi '^cache-control: no-cache' "$T/v0.h" || fail "held plain load cacheable: $(cat "$T/v0.h")"
echo "first load of the idle 360p playlist answered after $ms0 ms, with the resumed rung"
for i in $(seq 600); do
	curl -sf -o "$T/v.m3u8" "http://127.0.0.1:$P/hls/od/360p/index.m3u8" || fail "edge: 360p playlist"
	grep -q '^#EXT-X-DISCONTINUITY$' "$T/v.m3u8" && grep -A3 '^#EXT-X-DISCONTINUITY$' "$T/v.m3u8" | grep -q '^#EXT-X-PART:' && break
	sleep 0.1
done
grep -q '^#EXT-X-DISCONTINUITY$' "$T/v.m3u8" || { tail -n 20 "$T/ch.log" >&2; fail "360p did not come back"; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q '"event":"rung wanted","rung":"360p"' "$T/ch.log" || fail "no rung wanted event"
echo "360p back $ms ms after the first request (load $(cut -d' ' -f1 /proc/loadavg))"
if [ "$ms" -ge 8000 ]; then # a loaded box may shed 360p meanwhile: then it returns when restored
	grep -q '"event":"transcode shed".*"rung":"360p"' "$T/ch.log" || fail "360p took $ms ms to come back"
	echo "(360p was also shed for load: back when restored)"
fi
# keep watching: wait for the first segment after the gap to complete
for i in $(seq 60); do
	curl -sf -o "$T/v.m3u8" "http://127.0.0.1:$P/hls/od/360p/index.m3u8"
	seg=$(awk '/^#EXT-X-DISCONTINUITY$/{d=1} d && /^seg[0-9]+\.m4s$/{print; exit}' "$T/v.m3u8")
	# 240p's playlist of the same moment, while its window still holds $seg
	[ -n "$seg" ] && { curl -sf -o "$T/w.m3u8" "http://127.0.0.1:$P/hls/od/240p/index.m3u8" || fail "edge: 240p playlist"; } &&
		grep -qx "$seg" "$T/w.m3u8" && break
	sleep 0.25
done
[ -n "$seg" ] || fail "no whole segment after the discontinuity: $(tail -n 12 "$T/v.m3u8")"
grep -B2 '^#EXT-X-DISCONTINUITY$' "$T/v.m3u8" | grep -q '^seg' || fail "no segment before the gap in the playlist"
grep -A1 '^#EXT-X-DISCONTINUITY$' "$T/v.m3u8" | grep -q '^#EXT-X-PROGRAM-DATE-TIME:' || fail "no PDT after the discontinuity"
hls_check --as live "$H/360p/index.m3u8"
hls_check --as live "$H/240p/index.m3u8"
# the idle stretch is listed as EXT-X-GAP segments, so 360p's sequence
# numbers stay on 240p's grid: 240p's segment with the number of 360p's
# first segment after the gap has (nearly) the same PROGRAM-DATE-TIME, so
# a player switching rungs by number lands at the same moment, not the
# gap's length behind.  Nearly: a rung's date is slewed towards the
# capture clock by up to a tenth of a segment at each cut.
grep -q '^#EXT-X-GAP$' "$T/v.m3u8" || fail "no EXT-X-GAP segments for the idle stretch: $(grep -v '^#EXT-X-PART' "$T/v.m3u8" | tail -n 12)"
pdt_of_seg() { # playlist segment → its PROGRAM-DATE-TIME as seconds since the epoch
	awk -v s="$2" '/^#EXT-X-PROGRAM-DATE-TIME:/ {p = substr($0, 26)} $0 == s {print p; exit}' "$1" |
		python3 -c 'import sys, datetime; t = sys.stdin.read().strip(); print(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() if t else "")'
}
p360=$(pdt_of_seg "$T/v.m3u8" "$seg"); p240=$(pdt_of_seg "$T/w.m3u8" "$seg")
[ -n "$p360" ] || fail "360p's $seg has no PROGRAM-DATE-TIME"
[ -n "$p240" ] || fail "240p does not list $seg (360p's first segment after the gap): $(grep '^seg' "$T/w.m3u8" | sed -n '1p;$p' | tr '\n' ' ')"
awk -v a="$p360" -v b="$p240" 'BEGIN { d = a - b; exit !(d < 0.3 && d > -0.3) }' ||
	fail "360p resumed as $seg dated $p360, 240p's $seg is dated $p240: sequence numbers apart"
curl -sf "http://127.0.0.1:$P/hls/od/360p/init.mp4" >"$T/a.mp4" && curl -sf "http://127.0.0.1:$P/hls/od/360p/$seg" >>"$T/a.mp4" ||
	fail "fetch $seg"
f=$(ffprobe -v error -select_streams v -count_frames -show_entries stream=nb_read_frames,width -of csv=p=0 "$T/a.mp4")
[ "${f%%,*}" = 640 ] && [ "${f##*,}" -ge 20 ] || fail "segment after the gap does not decode: $f"
for _ in $(seq 30); do
	# one start per "rung wanted" (360p's; on a box so loaded that the 240p
	# viewer's loads lagged past the window, 240p's too)
	n=$(grep -c '"event":"rung wanted"' "$T/ch.log")
	curl -sf "http://$mx/metrics" >"$T/m2" && grep -q "^lsp_transcode_demand_starts_total{channel=\"od\"} $n\$" "$T/m2" && break
	sleep 0.2
done
[ "$n" -ge 1 ] && grep -q "^lsp_transcode_demand_starts_total{channel=\"od\"} $n\$" "$T/m2" ||
	fail "metrics: demand starts $(grep demand "$T/m2"), $n rung wanted events: $(grep '"rung idle"\|"rung wanted"' "$T/ch.log")"
grep '"rung idle"\|"rung wanted"' "$T/ch.log" | grep -q '"rung":"240p"' && echo "(load: 240p's viewer lagged, 240p went idle and came back)"
ok "360p back with a discontinuity: $seg decodes ($f frames), on 240p's sequence grid ($seg dated $p360 in 360p, $p240 in 240p; EXT-X-GAP for the idle stretch), hlscheck passes"

# ---- nobody watches: nothing is decoded; a viewer brings 360p back from there
kill "$viewer240" 2>/dev/null
wait_grep '"event":"decoding stopped"' "$T/ch.log" 30 || { tail -n 20 "$T/ch.log" >&2; fail "decoding never stopped with no viewer"; }
grep -q '"event":"rung idle","rung":"240p"' "$T/ch.log" || fail "240p not idle when decoding stopped"
for _ in $(seq 30); do
	curl -sf "http://$mx/metrics" >"$T/m3" && grep -q '^lsp_transcode_decoding{channel="od"} 0$' "$T/m3" && break
	sleep 0.2
done
grep -q '^lsp_transcode_decoding{channel="od"} 0$' "$T/m3" || fail "metrics: decoding $(grep decoding "$T/m3")"
sleep 1
last=$(grep "^seg[0-9]*\.m4s$" "$H/360p/index.m3u8" | tail -n1 | sed "s/[^0-9]*\([0-9]*\).*/\1/") # before the request
t0=$(date +%s%N)
curl -sf -m 20 -o /dev/null "http://127.0.0.1:$P/hls/od/360p/index.m3u8" || fail "edge: 360p load with nothing decoded"
for i in $(seq 300); do
	curl -sf -o "$T/x.m3u8" "http://127.0.0.1:$P/hls/od/360p/index.m3u8" || fail "edge: 360p playlist"
	# the first whole segment after the last discontinuity, newer than the idle playlist's last
	seg=$(awk '/^#EXT-X-DISCONTINUITY$/{s=""; d=1} d && s == "" && /^seg[0-9]+\.m4s$/{s=$0} END{print s}' "$T/x.m3u8")
	[ -n "$seg" ] && [ "$(echo "$seg" | sed "s/[^0-9]*\([0-9]*\).*/\1/")" -gt "${last:-0}" ] || seg=
	[ -n "$seg" ] && { curl -sf -o "$T/s.m3u8" "http://127.0.0.1:$P/hls/od/src/index.m3u8" || fail "edge: src playlist"; } &&
		grep -qx "$seg" "$T/s.m3u8" && break
	sleep 0.1
done
[ -n "$seg" ] || { tail -n 20 "$T/ch.log" >&2; fail "360p did not come back from no decoding: $(tail -n 8 "$T/x.m3u8")"; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q '"event":"decoding resumed","rung":"360p"' "$T/ch.log" || fail "no decoding resumed event"
p360=$(pdt_of_seg "$T/x.m3u8" "$seg"); psrc=$(pdt_of_seg "$T/s.m3u8" "$seg")
[ -n "$p360" ] && [ -n "$psrc" ] || fail "$seg: no date in 360p ($p360) or src ($psrc)"
awk -v a="$p360" -v b="$psrc" 'BEGIN { d = a - b; exit !(d < 0.3 && d > -0.3) }' ||
	fail "360p resumed as $seg dated $p360, src's $seg is dated $psrc"
curl -sf "http://127.0.0.1:$P/hls/od/360p/init.mp4" >"$T/b.mp4" && curl -sf "http://127.0.0.1:$P/hls/od/360p/$seg" >>"$T/b.mp4" ||
	fail "fetch $seg"
f=$(ffprobe -v error -select_streams v -count_frames -show_entries stream=nb_read_frames,width -of csv=p=0 "$T/b.mp4")
[ "${f%%,*}" = 640 ] && [ "${f##*,}" -ge 20 ] || fail "segment after decoding resumed does not decode: $f"
hls_check --as live "$H/360p/index.m3u8"
ok "nobody watching: nothing decoded; 360p back from there ${ms} ms after a request, $seg on src's grid ($p360 vs $psrc), decodes ($f)"
