#!/usr/bin/env bash
# The lsp web app in headless Chromium with a fake camera and microphone
# (tests/browser/studio.mjs): /studio lists devices, composes and switches
# saved scenes on its canvas, goes live over WHIP to lsp-rtc; the health
# widgets fill in; /watch/<ch> then plays the stream in two browser
# contexts and a chat message round-trips between them through lsp-chat
# (whose presence the studio shows as viewers); / lists the channel live
# and its search filters, showing the title from lsp-api, the thumbnail
# from lsp-package --thumb and the viewer count from lsp-chat's /presence; the studio signed in to lsp-api as a creator and
# rotated the channel's key before going live with it; axe-core finds no serious or critical violation
# on /, /watch/<ch> and /studio.  Screenshots go to $LSP_TEST_LOGS.
. "$(dirname "$0")/../lib.sh"
need curl; need node; need npm
[ -x /usr/bin/chromium ] || fail "chromium not installed (run make deps)"
[ -f "$ROOT/web/vendor/hls.min.js" ] || fail "web/vendor/hls.min.js missing (run make)"
B=$ROOT/tests/browser
if ! [ -d "$B/node_modules/playwright-core" ] || ! [ -f "$B/node_modules/axe-core/axe.min.js" ]; then
	(cd "$B" && npm install --no-audit --no-fund --silent) >/dev/null 2>&1 || fail "npm install (playwright-core, axe-core)"
fi
export LSP_SECRET=studio-test-$$ LSP_RING_DIR=$T/shm LSP_TRANSCODE=0 LSP_PART=0.5 LSP_SEGMENT=1
mkdir -p "$LSP_RING_DIR" "$LSP_DATA_DIR/hls"
"$BIN/lsp-ctl" user add alice >/dev/null 2>&1 && "$BIN/lsp-ctl" user add bob >/dev/null 2>&1 || fail "user add"
A=$("$BIN/lsp-ctl" token alice 2>/dev/null) && Bt=$("$BIN/lsp-ctl" token bob 2>/dev/null) || fail "chat tokens"

H=$(free_port); U=$(free_port); C=$(free_port); P=$(free_port); AP=$(free_port)
# a creator account and channel in lsp-api; the studio signs in and rotates the key
bg "$BIN/lsp-api" -l "127.0.0.1:$AP" --scrypt-log2n 10 --cors "http://127.0.0.1:$P" 2>"$T/api.log"
wait_port "$AP" 5 || { cat "$T/api.log"; fail "lsp-api did not listen"; }
api() { curl -s -X "$1" "http://127.0.0.1:$AP/api/v1$2" -H 'Content-Type: application/json' ${3:+-d "$3"} ${4:+-H "Authorization: Bearer $4"}; }
tok=$(api POST /signup '{"name":"carol","password":"studio-pass-1","age":30,"creator":true}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || fail "signup"
ch=studiotest
key=$(api POST /channels '{"name":"studiotest","title":"Studio test show","category":"Testing"}' "$tok" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') || fail "create channel"
[ -n "$key" ] || fail "no stream key"
bg "$BIN/lsp-rtc" --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 \
	--whip-exec "'$BIN/lsp-ring' --channel {channel} | '$BIN/lsp-package' --out '$LSP_DATA_DIR/hls/{channel}' --part 0.5 --thumb 2" \
	2>"$T/rtc.log"
bg "$BIN/lsp-chat" -l "127.0.0.1:$C" 2>"$T/chat.log"
bg "$BIN/lsp-edge" --listen "127.0.0.1:$P" --hls-root "$LSP_DATA_DIR/hls" --web-root "$ROOT/web" 2>"$T/edge.log"
for p in $H $C $P; do wait_port "$p" 5 || { cat "$T/rtc.log" "$T/chat.log" "$T/edge.log"; fail "port $p did not listen"; }; done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/studio")
[ "$code" = 200 ] || fail "/studio answered $code"
curl -s "http://127.0.0.1:$P/manifest.webmanifest" | grep -q '"display": "standalone"' || fail "no PWA manifest"

shots=${LSP_TEST_LOGS:-$T}; mkdir -p "$shots"; shots=$(cd "$shots" && pwd)
out=$(cd "$B" && timeout 90 node studio.mjs "http://127.0.0.1:$P" "$ch" "$key" --rtc "http://127.0.0.1:$H" \
	--chat "ws://127.0.0.1:$C/ws/{channel}" --tokens "$A,$Bt" --shots "$shots" \
	--api "http://127.0.0.1:$AP" --user carol --password studio-pass-1 2>"$T/node.err")
rc=$?
echo "$out"
[ $rc -eq 0 ] || { cat "$T/node.err"; tail -n 20 "$T/rtc.log"; fail "studio end-to-end (rc=$rc)"; }
python3 -c '
import json, sys
d = json.loads(sys.argv[1])["checks"]
assert len(d["devices"]["cameras"]) >= 1 and len(d["devices"]["mics"]) >= 1, d["devices"]
assert d["watch"]["t"] > 2 and d["watch"]["w"] > 0, d["watch"]
assert d["studio_viewers"].isdigit() and int(d["studio_viewers"]) >= 2, d
for p in ("watch", "directory", "studio"):
    assert d["axe_" + p]["serious_or_critical"] == 0, (p, d["axe_" + p])
assert d["manifest"] == "standalone", d
assert d["directory"]["thumb_width"] > 0, d["directory"]
assert d["directory"]["title"] == "Studio test show", d["directory"]
assert d["directory"]["viewers"]["count"] >= 2 and d["directory"]["viewers"]["text"].endswith(" viewers"), d["directory"]
assert d["rotated"] is True, d' "$out" || fail "checks: $out"
[ -f "$LSP_DATA_DIR/hls/$ch/src/index.m3u8" ] || fail "no HLS from the studio's WHIP publish"
[ -s "$LSP_DATA_DIR/hls/$ch/thumb.jpg" ] || fail "no thumbnail from the studio's WHIP publish"
for f in app-studio app-watch app-watch-phone app-directory; do [ -s "$shots/$f.png" ] || fail "no screenshot $f.png"; done
ok "studio → WHIP → watch page; chat round-trip; axe clean; screenshots in $shots"
grep -q '"level":"fatal"' "$T/rtc.log" "$T/edge.log" "$T/chat.log" && fail "fatal log"
exit 0
