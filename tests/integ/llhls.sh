#!/usr/bin/env bash
# LL-HLS to the letter, end to end: lsp-package (two rungs, fed in real
# time) behind lsp-edge.  Every playlist a client would load — the full
# one, a delta update (_HLS_skip=YES), a blocking delta (_HLS_msn/_HLS_part
# with _HLS_skip=v2), the other rung, the ended playlists and the
# multivariant one — passes tests/tools/hlscheck, reloads included; each
# media playlist reports the other rung's live edge (EXT-X-RENDITION-REPORT)
# and that edge is really there.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl
mkdir -p "$T/hls" "$T/web"
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=sample_rate=48000 -t 22 \
	-filter_complex '[0:v]split[a][b];[b]scale=320:180[c]' -map '[a]' -map 1:a -map '[c]' -map 1:a \
	-c:v libx264 -preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -c:a aac -b:a 64k \
	-program title=360p:st=0:st=1 -program title=180p:st=2:st=3 -f mpegts "$T/two.ts" || fail "ffmpeg two.ts"
P=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$P" --hls-root "$T/hls" --web-root "$T/web" 2>"$T/edge.log"
wait_port "$P" 10 || { cat "$T/edge.log" >&2; fail "lsp-edge did not listen"; }
(ffmpeg -v error -re -i "$T/two.ts" -map 0 -c copy -program title=360p:st=0:st=1 -program title=180p:st=2:st=3 -muxdelay 0 -flush_packets 1 -f mpegts pipe:1 |
	"$BIN/lsp-package" --out "$T/hls/demo" --window 14 2>"$T/pack.log") &
_pids+=($!)
D=http://127.0.0.1:$P/hls/demo/360p
L=$T/hls/demo/360p/index.m3u8
for ((i = 0; i < 300; i++)); do
	n=$(grep -c '^#EXTINF' "$L" 2>/dev/null)
	[ "${n:-0}" -ge 10 ] && break
	sleep 0.1
done
[ "$(grep -c '^#EXTINF' "$L")" -ge 10 ] || { cat "$T/pack.log" >&2; fail "360p never listed 10 segments"; }

curl -sf "$D/index.m3u8" -o "$T/full.m3u8" || fail "full playlist"
hls_sample 360p "$T/full.m3u8"
grep -q '^#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,.*CAN-SKIP-UNTIL=6\.000' "$T/full.m3u8" || fail "no CAN-SKIP-UNTIL"
rr=$(grep '^#EXT-X-RENDITION-REPORT:URI="\.\./180p/index\.m3u8",LAST-MSN=[0-9]*,LAST-PART=[0-9]*$' "$T/full.m3u8") ||
	{ cat "$T/full.m3u8" >&2; fail "no rendition report for 180p"; }
# the reported edge of 180p is in its playlist: a blocking reload for it answers at once
lm=$(sed 's/.*LAST-MSN=\([0-9]*\),.*/\1/' <<<"$rr"); lp=$(sed 's/.*LAST-PART=\([0-9]*\)$/\1/' <<<"$rr")
out=$(curl -s -o "$T/other.m3u8" -w '%{http_code} %{time_total}' "http://127.0.0.1:$P/hls/demo/180p/index.m3u8?_HLS_msn=$lm&_HLS_part=$lp")
[ "${out% *}" = 200 ] || fail "180p at its reported edge $lm.$lp: $out"
awk -v t="${out#* }" 'BEGIN { exit !(t < 0.15) }' || fail "180p's reported edge $lm.$lp was not there yet (${out#* } s)"
hls_sample 180p "$T/other.m3u8"

curl -sf "$D/index.m3u8?_HLS_skip=YES" -o "$T/delta.m3u8" || fail "delta update"
hls_sample 360p "$T/delta.m3u8"
grep -q '^#EXT-X-VERSION:9$' "$T/delta.m3u8" || fail "delta update not version 9"
sk=$(sed -n 's/^#EXT-X-SKIP:SKIPPED-SEGMENTS=//p' "$T/delta.m3u8")
[ "${sk:-0}" -ge 3 ] || { cat "$T/delta.m3u8" >&2; fail "delta update skipped '${sk:-}' segments"; }
[ $(( $(grep -c '^#EXTINF' "$T/delta.m3u8") + sk )) -ge "$(grep -c '^#EXTINF' "$T/full.m3u8")" ] || fail "delta lost segments"

read -r m p <<<"$(awk -F: '/^#EXT-X-MEDIA-SEQUENCE/{s=$2} /^#EXT-X-SKIP/{split($2, a, "="); s += a[2]}
	/^#EXTINF/{c++; n=0} /^#EXT-X-PART:/{n++} END{print s+c, n}' "$T/delta.m3u8")"
out=$(curl -s -o "$T/bdelta.m3u8" -w '%{http_code}' "$D/index.m3u8?_HLS_msn=$m&_HLS_part=$p&_HLS_skip=v2")
[ "$out" = 200 ] || fail "blocking delta $m.$p: $out"
grep -q "URI=\"seg$m\.$p\.m4s\"" "$T/bdelta.m3u8" || fail "blocking delta lacks part $m.$p"
grep -q '^#EXT-X-SKIP:SKIPPED-SEGMENTS=[1-9]' "$T/bdelta.m3u8" || fail "blocking delta skipped nothing"
hls_sample 360p "$T/bdelta.m3u8"
ok "full, delta ($sk skipped) and blocking delta playlists; 180p's reported edge $lm.$lp is there"

wait_grep '#EXT-X-ENDLIST' "$L" 40 || fail "playlist never ended"
wait_grep '#EXT-X-ENDLIST' "$T/hls/demo/180p/index.m3u8" 10 || fail "180p never ended"
curl -sf "$D/index.m3u8" -o "$T/end.m3u8" && hls_sample 360p "$T/end.m3u8"
hls_samples_check 360p
hls_samples_check 180p
hls_check "$T/hls/demo"
ok "hlscheck: every playlist passes"
