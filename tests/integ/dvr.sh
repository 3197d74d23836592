#!/usr/bin/env bash
# test: alone
# Live rewind and recordings in headless Chromium: a real-time test pattern
# goes to lsp-package --dvr (and lsp-record beside it, as scripts/lsp-channel
# tees it); the watch page plays live, "−10 s" switches to master-dvr.m3u8
# and must play about 10 s behind live (PROGRAM-DATE-TIME), the seek bar
# moves it to about 6 s behind, "LIVE" returns to the LL playlists; then the finished recording plays at
# /watch/demo?vod=ID and the page lists it.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need node
for b in lsp-package lsp-edge lsp-record; do [ -x "$BIN/$b" ] || fail "$b not built"; done
[ -f "$ROOT/web/vendor/hls.min.js" ] || fail "web/vendor/hls.min.js missing (run make)"
need_browser

mkdir -p "$T/hls" "$T/vod"
# 50 s in real time: set 3.5 s back after ~11 s of playing (the page jumps
# back to the live edge), then a 10 s rewind, done before the input ends
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 50 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | tee >(exec '$BIN/lsp-record' --channel demo --root '$T/vod' --always --segment 2 --no-sync 2>'$T/rec.log') \
	| exec '$BIN/lsp-package' --out '$T/hls/demo' --part 0.2 --segment 1 --dvr 60" 2>"$T/pipe.log"
P=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$P" --hls-root "$T/hls" --vod-root "$T/vod" --web-root "$ROOT/web" 2>"$T/edge.log"
wait_port "$P" 5 || fail "lsp-edge did not listen"
# the DVR playlist must hold 13 s before the rewind makes sense
for _ in $(seq 1 200); do
	n=$(grep -c '^#EXTINF' "$T/hls/demo/src/dvr.m3u8" 2>/dev/null)
	[ "${n:-0}" -ge 11 ] && break
	sleep 0.1
done
[ "${n:-0}" -ge 11 ] || { cat "$T/pipe.log"; fail "dvr.m3u8 did not grow to 11 segments"; }
grep -q 'src/dvr.m3u8' "$T/hls/demo/master-dvr.m3u8" || fail "master-dvr.m3u8 does not name src/dvr.m3u8"
ok "dvr.m3u8 has $n segments"

shots=${LSP_TEST_LOGS:-$T}; mkdir -p "$shots"; shots=$(cd "$shots" && pwd)
(cd "$B" && node dvr.mjs "http://127.0.0.1:$P/watch/demo" --timeout 20 --screenshot "$shots/dvr.png") >"$T/dvr.out" 2>"$T/node.err" &
np=$!; _pids+=($np)
wait $np; rc=$?
out=$(cat "$T/dvr.out"); echo "$out"
[ $rc -eq 0 ] || { cat "$T/node.err" >&2; tail -5 "$T/edge.log" >&2; fail "rewind in the browser (rc=$rc)"; }
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
live, cu, rew, sl, back = (d[k]["latency"] for k in ("live", "caught_up", "rewound", "slider", "back"))
print("latency live %.2f s, set 3.5 s back, then back at %.2f s (%d jump), rewound %.2f s, seek bar %.2f s, back %.2f s"
      % (live, cu, d["caught_up"]["jumps"], rew, sl, back))
assert 0 < live < 6, d
assert 0 < cu < 4 and d["caught_up"]["jumps"] >= 1, d   # the page jumped back to the live edge
assert 8 <= rew <= 16 and rew - live >= 6, d   # about 10 s further behind
assert 4.5 <= sl <= 9.5, d                      # about 6 s behind
assert 0 < back < 6, d' "$out" || fail "positions: $out"
ok "fallen 3.5 s back: back to the live edge by itself; rewind 10 s, seek bar to 6 s, back to live"

# the recording: finished when the input ended
for _ in $(seq 1 150); do grep -q '"input ended"' "$T/rec.log" 2>/dev/null && break; sleep 0.2; done
id=$(ls "$T/vod/demo" 2>/dev/null | head -n1)
[ -n "$id" ] && grep -q '#EXT-X-PLAYLIST-TYPE:VOD' "$T/vod/demo/$id/index.m3u8" || { cat "$T/rec.log"; fail "no finished recording"; }
curl -sf "http://127.0.0.1:$P/api/channels/demo/vods" | grep -q "\"id\":\"$id\"" || fail "/api/channels/demo/vods lacks $id"
hls_check "$T/vod/demo/$id" "$T/hls/demo"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=0-99' "http://127.0.0.1:$P/vod/demo/$id/seg0.m4s")
[ "$code" = 206 ] || fail "byte range on a recording segment: $code"
out=$(cd "$B" && node dvr.mjs "http://127.0.0.1:$P/watch/demo" --timeout 20 --vod "$id" 2>"$T/node2.err") ||
	{ cat "$T/node2.err" >&2; fail "VOD playback in the browser: $out"; }
ok "recording $id listed, ranged and played: $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["vod"])' "$out")"
