#!/usr/bin/env bash
# The watch page in headless Chromium: ffmpeg test pattern → lsp-package →
# lsp-edge → /watch/demo with hls.js in low-latency mode; the <video> must
# advance by 2 s.  Also checks the channel directory page lists the channel
# and shows its viewer count from lsp-chat's GET /presence while two real
# WebSocket clients are connected to the channel's chat.
# Screenshots (desktop and a 390 px phone) are left in $LSP_TEST_LOGS.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need node; need npm; need python3
[ -x "$BIN/lsp-package" ] || fail "bin/lsp-package not built"
[ -f "$ROOT/web/vendor/hls.min.js" ] || fail "web/vendor/hls.min.js missing (run make)"
if ! [ -x /usr/bin/chromium ]; then
	command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1
	[ -x /usr/bin/chromium ] || fail "chromium not installed (run make deps)"
fi
B=$ROOT/tests/browser
if ! [ -d "$B/node_modules/playwright-core" ]; then
	(cd "$B" && npm install --no-audit --no-fund --silent) >/dev/null 2>&1 || fail "npm install playwright-core"
fi

mkdir -p "$T/hls"
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 60 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | exec '$BIN/lsp-package' --out '$T/hls/demo' --part 0.2 --segment 1" 2>"$T/pipe.log"
P=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$P" --hls-root "$T/hls" --web-root "$ROOT/web" 2>"$T/edge.log"
wait_port "$P" 5 || fail "lsp-edge did not listen"
for _ in $(seq 1 100); do
	curl -s "http://127.0.0.1:$P/api/channels/demo" | grep -q '"live":true' && break
	sleep 0.1
done
curl -s "http://127.0.0.1:$P/api/channels/demo" | grep -q '"live":true' || { cat "$T/pipe.log"; fail "channel never went live"; }

shots=${LSP_TEST_LOGS:-$T}; mkdir -p "$shots"; shots=$(cd "$shots" && pwd) # node runs in $B
out=$(cd "$B" && node watch.mjs "http://127.0.0.1:$P/watch/demo" --timeout 25 \
	--screenshot "$shots/watch.png" --mobile-shot "$shots/watch-mobile.png" 2>"$T/node.err")
rc=$?
echo "$out"
[ $rc -eq 0 ] || { cat "$T/node.err" "$T/edge.log"; fail "video did not advance 2 s (rc=$rc)"; }
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["state"] == "live", d
assert d["level"] == "src", d
assert d["latency"] is not None and 0 < d["latency"] < 10, d' "$out" || fail "player state: $out"
ok "watch page plays: $out"

# the channel directory links to the live channel and shows how many watch it:
# two chat clients on demo (lsp-chat's presence), counted by GET /presence
C=$(free_port)
LSP_SECRET=browser-$$ bg "$BIN/lsp-chat" -l "127.0.0.1:$C" 2>"$T/chat.log"
wait_port "$C" 5 || { cat "$T/chat.log"; fail "lsp-chat did not listen"; }
PYTHONPATH=$ROOT/tests/tools bg python3 -c '
import sys, time
from wsc import WS
ws = [WS(f"ws://127.0.0.1:{sys.argv[1]}/ws/demo") for _ in range(2)]
open(sys.argv[2], "w").write("up")
time.sleep(60)' "$C" "$T/viewers.up"
wait_file "$T/viewers.up" 5 || fail "chat clients did not connect"
got=$(curl -s "http://127.0.0.1:$C/presence?channels=demo")
[ "$got" = '{"demo":2}' ] || fail "GET /presence: $got"
idx=$(cd "$B" && node index.mjs "http://127.0.0.1:$P/" demo --chat "ws://127.0.0.1:$C/ws/{channel}" --viewers 2 2>&1) ||
	fail "index page does not list demo as live with 2 viewers: $idx"
ok "index lists: $idx"
