# api-flow.sh — lsp-api's integration flow, sourced by tests/integ/api.sh
# (SQLite) and tests/integ/api-pg.sh (Postgres) after tests/lib.sh, with
# LSP_DB_URL set or not.  Needs: sql "QUERY" printing one value (set by the
# caller), WITH_FFMPEG=1 to publish with ffmpeg.
need python3
need nats-server
export PYTHONPATH=$ROOT/tests/tools
export LSP_SECRET=api-secret-$$
start_nats
export LSP_NATS_URL=$NATS_URL
AT="python3 $ROOT/tests/tools/apitest.py"
SETROLE="$BIN/lsp-api --set-role"

AP=$(free_port)
bg "$BIN/lsp-api" -l 127.0.0.1:$AP --scrypt-log2n 10 --rate-addr 100000 --rate-signup 100000 2>"$T/api.log"
wait_port "$AP" 10 || { cat "$T/api.log" >&2; fail "lsp-api did not start"; }
API=http://127.0.0.1:$AP
CP=$(free_port)
bg "$BIN/lsp-chat" -l 127.0.0.1:$CP 2>"$T/chat.log"
wait_port "$CP" 10 || fail "lsp-chat did not start"

# every route x every role, and the route table equals the spec
"$BIN/lsp-api" --routes >"$T/routes.tsv" || fail "--routes"
$AT "$API" matrix "$T/routes.tsv" $SETROLE || fail "authorisation matrix"

# accounts, CSRF, limits, channels and keys, kid mode
$AT "$API" scenario "$T/state.json" $SETROLE || fail "scenario"
st() { python3 -c "import json,sys;print(json.load(open('$T/state.json'))[sys.argv[1]])" "$1"; }
CH=$(st channel)
BOB=$(st bob)

# lsp-chat accepts lsp-api's chat tokens, never its session tokens; kid-mode
# sessions cannot send or tip
"$BIN/lsp-ctl" user credit "$BOB" 1000 >/dev/null 2>&1 || fail "credit $BOB"
TEXT="hello from $BOB $$"
python3 - "$CP" "$CH" "$(st bob_chat)" "$(st kid_token)" "$(st alice_token)" "$TEXT" "$T/state.json" <<'PY' || fail "chat with lsp-api tokens"
import sys, json
from wsc import WS
port, ch, bob, kid, alice, text, state = sys.argv[1:]
url = f"ws://127.0.0.1:{port}/ws/{ch}"
w = WS(url); w.send({"type": "auth", "token": alice})
m = w.until(lambda m: m["type"] in ("auth_ok", "error"), 5)
assert m["type"] == "error" and m["code"] == "not_a_chat_token", m
print("ok: an lsp-api session token does not open chat (a chat token does)")
k = WS(url); k.send({"type": "auth", "token": kid})
m = k.until(lambda m: m["type"] in ("auth_ok", "error"), 5)
assert m["type"] == "error", m
k.send({"type": "tip", "amount": 5, "key": "kid-1"})
m = k.until(lambda m: m["type"] in ("tip_ok", "error"), 5)
assert m["type"] == "error", m; print("ok: a kid-mode account cannot tip or chat:", m.get("code"))
b = WS(url); b.send({"type": "auth", "token": bob})
m = b.until(lambda m: m["type"] in ("auth_ok", "error"), 5)
assert m["type"] == "auth_ok", m
b.send({"type": "say", "text": text})
b.until(lambda m: m["type"] == "say" and m["text"] == text, 5)
b.send({"type": "tip", "amount": 7, "key": "bob-1", "message": "for you"})
m = b.until(lambda m: m["type"] in ("tip_ok", "error"), 5)
assert m["type"] == "tip_ok", m; print("ok: a viewer chats and tips with an lsp-api chat token")
s = json.load(open(state)); s["text"] = text; s["tipped"] = 7; json.dump(s, open(state, "w"))
PY

# DSAR: export holds the message and the tip; erasure removes the message,
# keeps the amounts under an opaque name, and the ledger still reconciles
$AT "$API" dsar "$T/state.json" || fail "dsar"
[ "$(sql "SELECT count(*) FROM chat_messages WHERE text = '$TEXT'")" = 0 ] || fail "chat message survived erasure"
[ "$(sql "SELECT count(*) FROM tips WHERE user_name = '$BOB'")" = 0 ] || fail "tip still names the user"
[ "$(sql "SELECT count(*) FROM tips WHERE user_name LIKE 'erased-%' AND amount = 7")" = 1 ] || fail "tip amount lost"
[ "$(sql "SELECT count(*) FROM ledger_accounts WHERE name = 'user:$BOB'")" = 0 ] || fail "ledger account still named"
[ "$(sql "SELECT count(*) FROM privacy_audit WHERE action = 'erase'")" -ge 1 ] || fail "no audit record"
"$BIN/lsp-ctl" ledger x --check >/dev/null 2>&1 || fail "ledger does not reconcile after erasure"
ok "erasure: message gone, tip and ledger anonymised, audit row written, ledger reconciles"
# the operator's way: lsp-ctl dsar export|erase
"$BIN/lsp-ctl" user add opdsar >/dev/null 2>&1 || fail "user add opdsar"
"$BIN/lsp-ctl" dsar export opdsar >"$T/op.json" 2>>"$T/ctl.log" || fail "lsp-ctl dsar export"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['format']=='lsp-dsar/1' and d['profile']['name']=='opdsar'" \
	"$T/op.json" || fail "lsp-ctl dsar export output"
"$BIN/lsp-ctl" dsar erase opdsar 2>>"$T/ctl.log" || fail "lsp-ctl dsar erase"
"$BIN/lsp-ctl" dsar export opdsar >/dev/null 2>&1; [ $? = 1 ] || fail "erased user still exported"
[ "$(sql "SELECT count(*) FROM privacy_audit WHERE actor = 'operator'")" = 2 ] || fail "operator requests not audited"
ok "lsp-ctl dsar export/erase (audited, exit 1 once gone)"
grep -q "$LSP_SECRET" "$T/api.log" && fail "a secret in the log"
for tok in $(st alice_token) $(python3 -c "import json;print(json.load(open('$T/state.json'))['key1'])"); do
	grep -qF "$tok" "$T/api.log" && fail "a token or key in the log"
done
ok "no secret, token or key in lsp-api's log"
