#!/usr/bin/env bash
# test: alone
# lsp-package --thumb: a JPEG still of the stream (<out>/thumb.jpg, 480 px
# wide, from a key frame; B-frames in the input) appears while the stream
# runs, is replaced (atomically: a new inode) every SEC seconds, and lsp-edge
# serves it at /hls/<ch>/thumb.jpg for the channel directory.  A bad value
# is a usage error; without --thumb no picture is written.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need ffprobe; need curl
"$BIN/lsp-package" --out "$T/x" --thumb 0 </dev/null 2>/dev/null; [ $? -eq 100 ] || fail "--thumb 0 not a usage error"
"$BIN/lsp-package" --help | grep -q -- "--thumb" || fail "--help lacks --thumb"
mkdir -p "$T/hls"
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=1280x720:rate=30 \
	-f lavfi -i sine=sample_rate=48000 -t 6 -c:v libx264 -preset ultrafast -g 30 -bf 2 -pix_fmt yuv420p \
	-c:a aac -f mpegts - | exec '$BIN/lsp-package' --out '$T/hls/pic' --thumb 1" 2>"$T/pipe.log"
wait_file "$T/hls/pic/thumb.jpg" 5 || { cat "$T/pipe.log"; fail "no thumb.jpg"; }
i1=$(stat -c %i "$T/hls/pic/thumb.jpg")
probe=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "$T/hls/pic/thumb.jpg")
[ "$probe" = "mjpeg,480,270" ] || fail "thumb is '$probe', want mjpeg,480,270"
ok "thumb.jpg: $probe, $(stat -c %s "$T/hls/pic/thumb.jpg") bytes"
# a picture is not a flat colour: the JPEG of the test pattern carries detail
[ "$(stat -c %s "$T/hls/pic/thumb.jpg")" -gt 3000 ] || fail "thumb suspiciously small"
sleep 2.2
i2=$(stat -c %i "$T/hls/pic/thumb.jpg")
[ "$i1" != "$i2" ] || fail "thumb not replaced after 2 s"
ok "thumb replaced (inode $i1 → $i2)"
ls -a "$T/hls/pic" | grep -q '^\.thumb' && fail "temporary thumb file left"
P=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$P" --hls-root "$T/hls" --web-root "$ROOT/web" 2>"$T/edge.log"
wait_port "$P" 5 || fail "lsp-edge did not listen"
ct=$(curl -s -o "$T/got.jpg" -w '%{http_code} %{content_type}' "http://127.0.0.1:$P/hls/pic/thumb.jpg")
[ "$ct" = "200 image/jpeg" ] || fail "edge answered '$ct' for thumb.jpg"
ok "edge serves /hls/pic/thumb.jpg ($ct)"
grep -q '"thumb failed"' "$T/pipe.log" && fail "thumb failures: $(grep '"thumb failed"' "$T/pipe.log" | head -n 2)"
# without --thumb: no picture
ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=320x240:rate=30 -t 1 -c:v libx264 -preset ultrafast \
	-pix_fmt yuv420p -f mpegts - 2>/dev/null | "$BIN/lsp-package" --out "$T/hls/plain" 2>/dev/null || fail "package without --thumb"
[ -e "$T/hls/plain/thumb.jpg" ] && fail "thumb.jpg written without --thumb"
exit 0
