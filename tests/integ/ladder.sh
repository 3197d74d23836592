#!/usr/bin/env bash
# test: alone
# The per-channel ladder policy (issue #18): on-demand | always | off.
#  - set and refused through lsp-api (PATCH/POST ladder, 400 bad_ladder,
#    403 for a viewer, shown to the owner only) and lsp-ctl (channel set
#    NAME ladder=…, channel get, exit 100 / 1), on SQLite and Postgres; the
#    markers lsp-channel reads (.ladder-always / .ladder-off) follow
#  - three channels published by ffmpeg over RTMP into lsp-ingest --exec
#    lsp-channel, one box environment (ladder 240p,120p + the "src" that
#    lsp-channel always adds, LSP_ON_DEMAND=3): on-demand's 240p and 120p
#    go idle with no viewer and the source is no longer decoded, always
#    keeps both rungs' playlists moving well past the window, off makes
#    only "src" (master playlist; no rung playlist); each pipeline logs its
#    policy
#  - the channel's health report (run/<ch>.health.json, what lsp-ingest
#    publishes on lsp.stream.<ch>.health) carries lsp-transcode's status:
#    shed level, policy, decoding, rungs encoding / shed / idle
#  - CPU, side by side in one run: the transcoder of a channel whose every
#    encoded rung is idle (on-demand, no viewer) and of an off channel each
#    use well under half of the always channel's
#  - a policy change applies live (lsp-ctl channel set, no restart):
#    always→off stops both rungs and decoding (their playlists stand
#    still), off→always brings them back (playlists move, a discontinuity);
#    off→always on a channel that started off adds the rungs to its master
#    playlist
#  - off on an HEVC source: the src rung cannot be served, so lsp-transcode
#    encodes the cheapest default rung instead (H.264)
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need ffprobe; need curl; need python3
export LSP_SECRET=ladder-$$ LSP_RING_DIR=$T/rings LSP_LADDER=240p,120p LSP_PRESET=ultrafast LSP_PART=0.5 \
	LSP_SEGMENT=1 LSP_DVR=0 LSP_THUMB=0 LSP_ON_DEMAND=3 LSP_METRICS_BASE=off
mkdir -m 0700 -p "$LSP_RING_DIR" "$LSP_DATA_DIR/hls"
HLS=$LSP_DATA_DIR/hls

# ---- lsp-api: owner and admin set it, others may not, bad words are 400
AP=$(free_port)
bg "$BIN/lsp-api" -l "127.0.0.1:$AP" --scrypt-log2n 10 2>"$T/api.log"
wait_port "$AP" 10 || { cat "$T/api.log"; fail "lsp-api did not listen"; }
api() { # method path token [json] → body on stdout, status in $T/code
	curl -s -m 10 -o "$T/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$AP/api/v1$2" \
		${3:+-H "Authorization: Bearer $3"} ${4:+-H 'Content-Type: application/json' -d "$4"} >"$T/code"
	cat "$T/body"
}
jget() { # key: a flat string or number field of the JSON object on stdin, "(none)" when absent
	local v; v=$(sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p")
	echo "${v:-(none)}"
}
code() { cat "$T/code"; }
signup() { api POST /signup "" "{\"name\":\"$1\",\"password\":\"ladder-pw-1\",\"age\":30$2}" | jget token; }
CAROL=$(signup carol ',"creator":true') && DAVE=$(signup dave "") || fail "sign-ups"
KAL=$(api POST /channels "$CAROL" '{"name":"al","ladder":"always"}' | jget key)
[ "$(code)" = 201 ] || fail "create al: $(code) $(cat "$T/body")"
KOF=$(api POST /channels "$CAROL" '{"name":"of"}' | jget key) && [ "$(code)" = 201 ] || fail "create of"
KOD=$(api POST /channels "$CAROL" '{"name":"od"}' | jget key) && [ "$(code)" = 201 ] || fail "create od"
[ "$(api GET /channels/od "$CAROL" | jget ladder)" = on-demand ] || fail "default ladder: $(cat "$T/body")"
[ "$(api GET /channels/al "$CAROL" | jget ladder)" = always ] || fail "created always: $(cat "$T/body")"
[ "$(api GET /channels/al "$DAVE" | jget ladder)" = "(none)" ] || fail "a viewer sees the ladder: $(cat "$T/body")"
[ "$(api PATCH /channels/of "$CAROL" '{"ladder":"off"}' | jget ladder)" = off ] || fail "PATCH off: $(code) $(cat "$T/body")"
api PATCH /channels/of "$CAROL" '{"ladder":"sometimes"}' >/dev/null
[ "$(code)" = 400 ] && [ "$(jget error <"$T/body")" = bad_ladder ] || fail "ladder=sometimes: $(code) $(cat "$T/body")"
api PATCH /channels/of "$CAROL" '{"ladder":2}' >/dev/null
[ "$(code)" = 400 ] || fail "ladder=2: $(code) $(cat "$T/body")"
api PATCH /channels/of "$DAVE" '{"ladder":"always"}' >/dev/null
[ "$(code)" = 403 ] || fail "a viewer set the ladder: $(code) $(cat "$T/body")"
[ "$(api GET /channels/of "$CAROL" | jget ladder)" = off ] || fail "a refused PATCH changed it: $(cat "$T/body")"
[ -e "$HLS/al/.ladder-always" ] && [ -e "$HLS/of/.ladder-off" ] || fail "markers: $(ls -a "$HLS"/*)"
[ -e "$HLS/od/.ladder-always" ] || [ -e "$HLS/od/.ladder-off" ] && fail "on-demand channel marked"
grep -q '"event":"channel ladder set","channel":"of","ladder":"off"' "$T/api.log" || fail "no channel ladder set event"
ok "lsp-api: POST/PATCH ladder set it (owner only, shown to the owner), bad values 400 bad_ladder, markers follow"

# ---- lsp-ctl, on the same store, then on Postgres
ctl() { "$BIN/lsp-ctl" "$@" 2>>"$T/ctl.log"; }
ctl_round() { # label: a channel lg through every value and the refusals
	local rc
	ctl channel add lg >/dev/null || fail "$1: channel add"
	[ "$(ctl channel get lg | sed -n 's/^ladder=//p')" = on-demand ] || fail "$1: default $(ctl channel get lg)"
	for v in always off on-demand; do
		ctl channel set lg ladder=$v || fail "$1: set ladder=$v"
		[ "$(ctl channel get lg | sed -n 's/^ladder=//p')" = $v ] || fail "$1: get after $v: $(ctl channel get lg)"
	done
	ctl channel set lg ladder=sometimes; rc=$?; [ $rc -eq 100 ] || fail "$1: ladder=sometimes rc=$rc"
	ctl channel set nosuch ladder=always; rc=$?; [ $rc -eq 1 ] || fail "$1: missing channel rc=$rc"
	ctl channel get nosuch >/dev/null; rc=$?; [ $rc -eq 1 ] || fail "$1: get missing rc=$rc"
	ctl channel get 'Bad!' >/dev/null; rc=$?; [ $rc -eq 100 ] || fail "$1: get bad name rc=$rc"
	[ "$(ctl channel get lg | sed -n 's/^ladder=//p')" = on-demand ] || fail "$1: a refused set changed it"
}
ctl_round sqlite
ctl channel set od ladder=always && [ -e "$HLS/od/.ladder-always" ] || fail "lsp-ctl: no marker"
[ "$(api GET /channels/od "$CAROL" | jget ladder)" = always ] || fail "lsp-api does not see lsp-ctl's set"
ctl channel set od ladder=on-demand && [ ! -e "$HLS/od/.ladder-always" ] || fail "lsp-ctl: marker left"
ctl channel get of | grep -qx 'ladder=off' || fail "lsp-ctl get of: $(ctl channel get of)"
start_pg
mkdir -p "$T/pgdata"
(export LSP_DB_URL=$PG_URL LSP_DATA_DIR=$T/pgdata; ctl_round postgres) || exit 1
ok "lsp-ctl: channel set ladder=… / channel get on SQLite and Postgres; bad value 100, missing channel 1"

LSP_LADDER_POLICY=sometimes "$ROOT/scripts/lsp-channel" zz </dev/null 2>"$T/bad.log"; rc=$?
[ $rc -eq 100 ] && grep -q 'LSP_LADDER_POLICY' "$T/bad.log" || fail "bad LSP_LADDER_POLICY: rc=$rc $(cat "$T/bad.log")"

# ---- three publishers, one box environment, three policies
P=$(free_port)
bg "$BIN/lsp-ingest" -l "127.0.0.1:$P" --exec "$ROOT/scripts/lsp-channel {channel}" 2>"$T/ingest.log"
wait_port "$P" 10 || fail "ingest did not listen"
for k in "$KAL" "$KOF" "$KOD"; do
	bg ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25 \
		-f lavfi -i sine=frequency=440:sample_rate=48000 -t 120 \
		-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k \
		-f flv "rtmp://127.0.0.1:$P/live/$k"
done
for c in al:always of:off od:on-demand; do
	wait_grep "\"event\":\"pipeline started\",\"channel\":\"${c%%:*}\".*\"ladder\":\"${c#*:}\"" "$T/ingest.log" 20 ||
		{ tail -n 20 "$T/ingest.log" >&2; fail "${c%%:*}: no pipeline started with ladder ${c#*:}"; }
done
health() { # channel key → that field of the transcoder's part of the channel's health report, "-" if none
	local v; v=$(sed -n "s/.*\"transcode\":{.*\"$2\":\(\[[^]]*\]\|[0-9.-]*\).*/\1/p" "$LSP_DATA_DIR/run/$1.health.json" 2>/dev/null)
	echo "${v:--}"
}
for _ in $(seq 300); do [ "$(health od idle)" = '["240p","120p"]' ] && [ "$(health od decoding)" = 0 ] && break; sleep 0.1; done
[ "$(health od idle)" = '["240p","120p"]' ] || { tail -n 20 "$T/ingest.log" >&2; fail "od: rungs never idle in the health report: $(cat "$LSP_DATA_DIR/run/od.health.json")"; }
[ "$(health od encoding)" = '["src"]' ] || fail "od encoding: $(health od encoding)"
[ "$(health od rungs_idle)" = 2 ] || fail "od rungs_idle: $(health od rungs_idle)"
[ "$(health od decoding)" = 0 ] || fail "od still decoding with every rung idle: $(health od decoding)"
grep -q '"event":"decoding stopped"' "$T/ingest.log" || fail "no decoding stopped event"
ok "on-demand: 240p and 120p idle after ${LSP_ON_DEMAND}s with no viewer, src alone, no decoding, in the health report"

# always: past the window (od went idle) and 3 s more, both rungs still move
# and the health report has never shown an idle rung
wait_file "$HLS/al/240p/index.m3u8" 10 || fail "al: no 240p playlist"
for r in 240p 120p; do h0[${r%p}]=$(grep -m1 '^#EXT-X-PRELOAD-HINT' "$HLS/al/$r/index.m3u8"); done
seen=
for _ in $(seq 30); do
	i=$(health al idle); [ "$i" = '[]' ] || seen="$seen $i"
	sleep 0.1
done
[ -z "$seen" ] || fail "al: idle rungs in the health report:$seen"
for r in 240p 120p; do
	h=$(grep -m1 '^#EXT-X-PRELOAD-HINT' "$HLS/al/$r/index.m3u8")
	[ -n "$h" ] && [ "$h" != "${h0[${r%p}]}" ] || fail "al: $r playlist stood still ($h)"
done
[ "$(health al encoding)" = '["src","240p","120p"]' ] || fail "al encoding: $(health al encoding)"
[ "$(health al decoding)" = 1 ] || fail "al decoding: $(health al decoding)"
case $(health al shed_level) in [0-9]*) ;; *) fail "al: no shed level in the health report: $(health al shed_level)";; esac
ok "always: both rungs' playlists keep moving with no viewer past the window; health: encoding src,240p,120p, shed level $(health al shed_level)"

# what each policy costs now (od's rungs idle), side by side in one run: an
# idle channel's transcoder copies src and decodes nothing, so it must use
# well under half of what the always channel's uses (measured: ~0.1-0.3)
declare -A tcpid c0 cpu
for c in al od of; do tcpid[$c]=$(pgrep -f "lsp-transcode .*--ring-prefix $c( |\$)" | head -n1); done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
for c in al od of; do c0[$c]=$(ticks "${tcpid[$c]:-0}"); done
sleep 6
for c in al od of; do cpu[$c]=$(($(ticks "${tcpid[$c]:-0}") - c0[$c])); done
echo "lsp-transcode CPU ticks over 6 s: always ${cpu[al]}, on-demand (every rung idle) ${cpu[od]}, off ${cpu[of]}" \
	"(load $(cut -d' ' -f1 /proc/loadavg))"
[ "${cpu[al]}" -ge 10 ] || fail "always used only ${cpu[al]} ticks in 6 s: not encoding?"
[ $((2 * cpu[od])) -lt "${cpu[al]}" ] || fail "on-demand with every rung idle used ${cpu[od]} ticks against always's ${cpu[al]}"
[ $((2 * cpu[of])) -lt "${cpu[al]}" ] || fail "off used ${cpu[of]} ticks against always's ${cpu[al]}"
ok "CPU side by side: every rung idle ${cpu[od]}, off ${cpu[of]}, always ${cpu[al]} ticks"

# off: only src
wait_file "$HLS/of/master.m3u8" 20 || fail "of: no master playlist"
for _ in $(seq 50); do [ -s "$HLS/of/src/index.m3u8" ] && break; sleep 0.1; done
[ "$(grep -v '^#' "$HLS/of/master.m3u8" | grep -c .)" = 1 ] && grep -q '^src/index.m3u8' "$HLS/of/master.m3u8" ||
	fail "of: master lists more than src: $(cat "$HLS/of/master.m3u8")"
[ ! -e "$HLS/of/240p/index.m3u8" ] && [ ! -e "$HLS/of/120p/index.m3u8" ] || fail "of: rung playlists made: $(ls "$HLS"/of/*)"
[ "$(health of encoding)" = '["src"]' ] || fail "of encoding: $(health of encoding)"
[ "$(health of decoding)" = 0 ] || fail "of: still decoding: $(health of decoding)"
grep -q '^#EXT-X-PART:' "$HLS/of/src/index.m3u8" || fail "of: src has no parts"
hls_check "$HLS/of/master.m3u8"
ok "off: the master playlist and the HLS directory hold src only, nothing decoded"

# ---- a policy change applies live: no restart, on the next keyframe
phint() { grep -m1 '^#EXT-X-PRELOAD-HINT' "$HLS/$1/$2/index.m3u8" 2>/dev/null; }
moves() { # channel rung: its playlist's preload hint changes within 10 s
	local h0; h0=$(phint "$1" "$2")
	for _ in $(seq 100); do [ "$(phint "$1" "$2")" != "$h0" ] && return 0; sleep 0.1; done
	return 1
}
tcal=${tcpid[al]}
ctl channel set al ladder=off || fail "lsp-ctl set al off"
for _ in $(seq 150); do [ "$(health al idle)" = '["240p","120p"]' ] && [ "$(health al decoding)" = 0 ] && break; sleep 0.1; done
[ "$(health al idle)" = '["240p","120p"]' ] && [ "$(health al decoding)" = 0 ] ||
	{ tail -n 20 "$T/ingest.log" >&2; fail "al: always→off did not idle the rungs: $(cat "$LSP_DATA_DIR/run/al.health.json")"; }
grep -q '"event":"ladder policy","policy":"off","from":"always"' "$T/ingest.log" || fail "no ladder policy event (always→off)"
sleep 1 # the last part of each rung is out
moves al 240p && fail "al: 240p still moves after always→off"
moves al src || fail "al: src stood still after always→off"
ctl channel set al ladder=always || fail "lsp-ctl set al always"
for _ in $(seq 150); do [ "$(health al encoding)" = '["src","240p","120p"]' ] && break; sleep 0.1; done
[ "$(health al encoding)" = '["src","240p","120p"]' ] && [ "$(health al decoding)" = 1 ] ||
	{ tail -n 20 "$T/ingest.log" >&2; fail "al: off→always did not start the rungs: $(cat "$LSP_DATA_DIR/run/al.health.json")"; }
grep -q '"event":"decoding resumed"' "$T/ingest.log" || fail "no decoding resumed event"
grep -q '"event":"rung wanted","rung":"240p".*"policy":"always"' "$T/ingest.log" || fail "no rung wanted event (off→always)"
moves al 240p || fail "al: 240p stands still after off→always"
for _ in $(seq 50); do grep -q '^#EXT-X-DISCONTINUITY$' "$HLS/al/240p/index.m3u8" && break; sleep 0.1; done
grep -q '^#EXT-X-DISCONTINUITY$' "$HLS/al/240p/index.m3u8" || fail "al: 240p resumed without a discontinuity"
[ "$(pgrep -f "lsp-transcode .*--ring-prefix al( |\$)" | head -n1)" = "$tcal" ] || fail "al: the transcoder was restarted"
hls_check --as live "$HLS/al/240p/index.m3u8"
ok "live: always→off idles 240p,120p and stops decoding (playlists stand still, src goes on), off→always brings them back on the grid, same transcoder"
# a channel that started off gets its rungs (and its master playlist lists them)
ctl channel set of ladder=always || fail "lsp-ctl set of always"
for _ in $(seq 200); do grep -q '^240p/index.m3u8' "$HLS/of/master.m3u8" && break; sleep 0.1; done
grep -q '^240p/index.m3u8' "$HLS/of/master.m3u8" || { tail -n 20 "$T/ingest.log" >&2; fail "of: off→always, master: $(cat "$HLS/of/master.m3u8")"; }
moves of 120p || fail "of: 120p does not move after off→always"
hls_check "$HLS/of/master.m3u8"
ok "live: off→always on a channel that started off adds 240p,120p to its master playlist"

# ---- off on an HEVC source: src is the HEVC copied, and the cheapest
# default rung beside it (few browsers decode HEVC)
ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx265 -preset ultrafast \
	-x265-params log-level=error -g 25 -f mpegts "$T/hevc.ts" || fail "ffmpeg libx265"
"$BIN/lsp-transcode" --ladder src --preset ultrafast <"$T/hevc.ts" >"$T/off.ts" 2>"$T/tc.log" ||
	{ cat "$T/tc.log"; fail "lsp-transcode --ladder src on HEVC"; }
grep -q '"event":"h264 rung added".*"codec":"hevc".*"rung":"360p"' "$T/tc.log" ||
	fail "no h264 rung added event naming the rung: $(grep -i rung "$T/tc.log" | head -3)"
v=$(ffprobe -v error -select_streams v -show_entries stream=codec_name,height -of csv=p=0 "$T/off.ts" | sort -u | grep . | tr '\n' ' ')
[ "$v" = "h264,240 hevc,240 " ] || fail "HEVC with ladder off gave: $v"
ok "off on HEVC: src is the HEVC copied, one H.264 rung at the source's 240 lines beside it"
