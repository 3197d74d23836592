#!/usr/bin/env bash
# test: alone
# The spine end to end: ffmpeg publishes RTMP into scripts/lsp-up; the
# multivariant playlist lists >= 2 rungs, media playlists carry LL-HLS parts,
# ffprobe reads video through HTTP, and a blocking playlist reload for the
# next part answers within part duration + 100 ms of the part existing.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need ffprobe; need curl
rtmp=$(free_port); http=$(free_port); chat=$(free_port); api=$(free_port); rtc=$(free_port); udp=$(free_port)
export LSP_RTMP_LISTEN=127.0.0.1:$rtmp LSP_HTTP_LISTEN=127.0.0.1:$http LSP_CHAT_LISTEN=127.0.0.1:$chat \
	LSP_API_LISTEN=127.0.0.1:$api LSP_RTC_HTTP=127.0.0.1:$rtc LSP_RTC_UDP=127.0.0.1:$udp LSP_RTC_CANDIDATE=127.0.0.1 LSP_SRT_LISTEN=127.0.0.1:$(free_port)
export LSP_LADDER=360p,240p LSP_PRESET=ultrafast
key=$(new_channel e2e)
bg "$ROOT/scripts/lsp-up" 2>"$T/up.log"
wait_port "$rtmp" 10 || fail "ingest did not listen"
wait_port "$http" 10 || fail "edge did not listen"
for p in "$chat" "$api" "$rtc"; do wait_port "$p" 10 || fail "lsp-up service on :$p did not listen"; done
bg ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 20 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac \
	-f flv "rtmp://127.0.0.1:$rtmp/live/$key"
base=http://127.0.0.1:$http/hls/e2e
for _ in $(seq 100); do curl -sf "$base/master.m3u8" >"$T/master.m3u8" && break; sleep 0.1; done
[ -s "$T/master.m3u8" ] || { tail -n 30 "$T/up.log" >&2; fail "no master playlist"; }
rungs=$(grep -c '^#EXT-X-STREAM-INF' "$T/master.m3u8")
[ "$rungs" -ge 2 ] || fail "master has $rungs rungs: $(cat "$T/master.m3u8")"
grep -q 'RESOLUTION=640x360' "$T/master.m3u8" || fail "no 360p rung"
media=$(grep -v '^#' "$T/master.m3u8" | head -n1)
for _ in $(seq 50); do curl -sf "$base/$media" >"$T/media.m3u8"; grep -q '^#EXT-X-PART:' "$T/media.m3u8" && break; sleep 0.1; done
grep -q '^#EXT-X-PART:' "$T/media.m3u8" || fail "media playlist has no EXT-X-PART"
grep -q 'CAN-BLOCK-RELOAD=YES' "$T/media.m3u8" || fail "no CAN-BLOCK-RELOAD"
hls_check "$T/master.m3u8"
ok "master with $rungs rungs, parts present"

# Blocking reload: ask for the part after the newest one listed.
seq0=$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' "$T/media.m3u8")
nseg=$(grep -c '^#EXTINF' "$T/media.m3u8")
nparts=$(awk '/^#EXTINF/{n=0;next} /^#EXT-X-PART:/{n++} END{print n}' "$T/media.m3u8")
msn=$((seq0 + nseg)); part=$nparts
out=$(curl -s -o "$T/blocked.m3u8" -w '%{http_code} %{time_total}' "$base/$media?_HLS_msn=$msn&_HLS_part=$part")
code=${out% *}; took=${out#* }
[ "$code" = 200 ] || fail "blocking reload answered $code"
grep -q "^#EXT-X-PART:.*URI=\"[^\"]*seg$msn\.$part\.m4s\"\|seg$((msn + 1))\." "$T/blocked.m3u8" \
	|| fail "blocked playlist lacks msn=$msn part=$part"
awk -v t="$took" 'BEGIN{exit !(t < 1.5)}' || fail "blocking reload took ${took}s"
hls_check --state "$T/hls.state" --as media "$T/media.m3u8" "$T/blocked.m3u8"
ok "blocking reload for msn=$msn part=$part answered in ${took}s"

# ffprobe reads video packets over HTTP.
sleep 2
n=$(timeout 30 ffprobe -v error -select_streams v:0 -read_intervals '%+#60' -show_entries packet=codec_type \
	-of csv=p=0 "$base/$media" 2>"$T/probe.err" | grep -c video)
codec=$(timeout 30 ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 \
	"$base/$media" 2>>"$T/probe.err" | head -n1)
[ "$codec" = h264 ] || fail "ffprobe over HTTP: codec '$codec' $(head -c 300 "$T/probe.err")"
[ "$n" -ge 60 ] || fail "only $n video packets over HTTP"
ok "ffprobe read $n h264 packets over HTTP"
grep -q '"level":"fatal"' "$T/up.log" && fail "fatal log during run"
exit 0
