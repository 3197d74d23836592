#!/usr/bin/env bash
# Self-service through the front door with no NATS (tests/browser/selfserve.mjs):
# a creator who owns a channel (lsp-ctl channel add --owner) signs in to the
# studio and goes live over WHIP with a publish token from the session — the
# stream key in the store is unchanged and still accepted; a viewer signs up
# in the watch page's chat panel and chats (another viewer receives it), the
# chat token is renewed, a reload keeps the session, sign-out ends it; the
# studio warns about B-frames for an ffmpeg -bf 2 RTMP publisher (ingest
# status file → lsp-api channel health) and not for -bf 0.  The publish token
# is refused for another channel and to a non-owner (expiry: test_pubtoken).
. "$(dirname "$0")/../lib.sh"
need curl; need node; need ffmpeg; need python3; need sqlite3
need_browser
[ -f "$ROOT/web/vendor/hls.min.js" ] || fail "web/vendor/hls.min.js missing (run make)"
unset LSP_NATS_URL LSP_DB_URL
export LSP_SECRET=selfserve-$$ LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR" "$LSP_DATA_DIR/hls"

AP=$(free_port); C=$(free_port); H=$(free_port); U=$(free_port); E=$(free_port); R=$(free_port)
bg "$BIN/lsp-api" -l "127.0.0.1:$AP" --scrypt-log2n 10 2>"$T/api.log"
bg "$BIN/lsp-chat" -l "127.0.0.1:$C" 2>"$T/chat.log"
bg "$BIN/lsp-rtc" --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 --workers 1 \
	--whip-exec "'$BIN/lsp-ring' --channel {channel} | '$BIN/lsp-package' --out '$LSP_DATA_DIR/hls/{channel}' --part 0.5" \
	2>"$T/rtc.log"
bg "$BIN/lsp-ingest" -l "127.0.0.1:$R" -e "'$BIN/lsp-package' --out '$LSP_DATA_DIR/hls/{channel}' --part 0.5" \
	2>"$T/ingest.log"
bg "$BIN/lsp-edge" -l "127.0.0.1:$E" --hls-root "$LSP_DATA_DIR/hls" --web-root "$ROOT/web" \
	--upstream-api "http://127.0.0.1:$AP" --upstream-chat "http://127.0.0.1:$C" --upstream-rtc "http://127.0.0.1:$H" \
	2>"$T/edge.log"
for p in $AP $C $H $R $E; do wait_port "$p" 10 || { cat "$T"/*.log; fail "port $p did not listen"; }; done

api() { curl -s -m 10 -X "$1" "http://127.0.0.1:$E/api/v1$2" -H 'Content-Type: application/json' ${3:+-d "$3"} ${4:+-H "Authorization: Bearer $4"}; }
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# carol: a creator account from sign-up, made the owner of "show" by the operator; eve another creator
api POST /signup '{"name":"carol","password":"carol-pass-1","age":30,"creator":true}' | jget token >/dev/null || fail "signup carol"
eve=$(api POST /signup '{"name":"eve","password":"eve-pass-12","age":30,"creator":true}' | jget token) || fail "signup eve"
key=$("$BIN/lsp-ctl" channel add show --owner carol 2>>"$T/ctl.log" | tail -n1 | awk '{print $NF}')
[[ $key =~ ^show_[0-9a-f]{48}$ ]] || fail "channel add --owner: $key"
"$BIN/lsp-ctl" channel add other >/dev/null 2>&1 || fail "channel add other"
hash0=$(sqlite3 "$LSP_DATA_DIR/lsp.db" "SELECT key_hash FROM channels WHERE name = 'show'")

# the publish token: the owner gets one; it opens /whip/show only; eve gets none
ctok=$(api POST /signin '{"name":"carol","password":"carol-pass-1"}' | jget token) || fail "signin carol"
ptok=$(api POST /channels/show/publish-token '' "$ctok" | jget token) || fail "publish token"
whip() { curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$E/whip/$1" \
	-H 'Content-Type: application/sdp' -H "Authorization: Bearer $2" -d 'v=0'; }
[ "$(whip show "$ptok")" = 400 ] || fail "publish token not accepted for its channel (want 400 for the bad SDP)"
[ "$(whip other "$ptok")" = 401 ] || fail "publish token accepted for another channel"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$E/api/v1/channels/show/publish-token" -H "Authorization: Bearer $eve")
[ "$code" = 403 ] || fail "a non-owner got a publish token ($code)"
chat=$(api POST /chat/token '{"channel":"show"}' "$ctok" | jget token) || fail "chat token"
[ "$(whip show "$chat")" = 401 ] || fail "a chat token opened WHIP"
[ "$(whip show "$ctok")" = 401 ] || fail "a session token opened WHIP"
ok "publish tokens: the owner's opens its channel only; chat and session tokens and non-owners are refused"

shots=${LSP_TEST_LOGS:-$T}; mkdir -p "$shots"; shots=$(cd "$shots" && pwd)
out=$(cd "$ROOT/tests/browser" && timeout 240 node selfserve.mjs "http://127.0.0.1:$E" show "$key" "$R" \
	--user carol --password carol-pass-1 --shots "$shots" 2>"$T/node.err")
rc=$?
echo "$out"
[ $rc -eq 0 ] || { cat "$T/node.err"; tail -n 20 "$T/rtc.log" "$T/ingest.log" "$T/api.log"; fail "self-service in the browser (rc=$rc)"; }
[ "$(sqlite3 "$LSP_DATA_DIR/lsp.db" "SELECT key_hash FROM channels WHERE name = 'show'")" = "$hash0" ] ||
	fail "the stream key changed in the store"
grep -q '"event":"publish token issued"' "$T/api.log" || fail "no 'publish token issued' event"
grep -q "$ptok" "$T"/*.log && fail "a publish token was logged"
grep -q "$key" "$T"/*.log && fail "the stream key was logged"
[ -e "$LSP_DATA_DIR/run/show.health.json" ] && fail "the ingest's status file outlived the publish"
grep -q '"level":"fatal"' "$T"/*.log && fail "fatal log"
ok "studio live by session (key unchanged), viewer sign-up + chat + refresh + sign-out, B-frame warning for -bf 2 only"
exit 0
