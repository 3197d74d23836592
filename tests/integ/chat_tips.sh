#!/usr/bin/env bash
# Tips survive a crash: clients tip under load, lsp-chat is killed with
# SIGKILL mid-load and restarted; every tip that was acknowledged must be
# in the ledger (a replay of its key returns the same id and charges
# nothing), and the ledger must reconcile (double entry, balances).
. "$(dirname "$0")/../lib.sh"
need python3
export PYTHONPATH=$ROOT/tests/tools
export LSP_SECRET=tips-secret-$$
"$BIN/lsp-ctl" user add fan >/dev/null 2>&1 || fail "user add"
"$BIN/lsp-ctl" user credit fan 100000000 >/dev/null 2>&1 || fail "credit"
"$BIN/lsp-ctl" channel add stage >/dev/null 2>&1 || fail "channel add stage" # tips go only to a registered channel
A=$("$BIN/lsp-ctl" token fan 2>/dev/null) || fail "token"
P=$(free_port)
bg "$BIN/lsp-chat" -l 127.0.0.1:$P --flood 10000 2>"$T/chat1.log"
wait_port "$P" 5 || fail "lsp-chat did not start"
PID=${_pids[-1]}

# phase 1: 4 clients, 8 tips in flight each, until the server dies
python3 - "$P" "$A" "$T/acked" <<'PY' &
import sys, json
from wsc import WS, Closed, Timeout
port, tok, path = sys.argv[1:]
out = open(path, "w", buffering=1)
socks = []
for i in range(4):
    w = WS(f"ws://127.0.0.1:{port}/ws/stage"); w.send({"type": "auth", "token": tok})
    w.until(lambda m: m["type"] == "auth_ok"); socks.append(w)
n = 0
def send(w):
    global n
    n += 1; w.send({"type": "tip", "amount": 1 + n % 7, "key": f"k{n}"})
try:
    for w in socks:
        for _ in range(8): send(w)
    while True:
        for w in socks:
            m = w.until(lambda m: m["type"] in ("tip_ok", "error"), 10)
            assert m["type"] == "tip_ok", m
            if m["type"] == "tip_ok":
                out.write(json.dumps(m) + "\n")
            send(w)
except (Closed, Timeout, OSError) as e:
    print("loader stopped:", repr(e))
PY
LOADER=$!
# kill mid-stream: once the loader has had 20 tips acknowledged (however
# long a busy box takes to start python), plus a moment more in flight
for _ in $(seq 300); do
	[ -f "$T/acked" ] && [ "$(wc -l <"$T/acked")" -ge 20 ] && break
	sleep 0.05
done
sleep 0.3
kill -9 "$PID" || fail "lsp-chat was not running"
wait "$LOADER"
acked=$(wc -l <"$T/acked")
[ "$acked" -ge 20 ] || fail "only $acked tips acknowledged before the kill"
ok "$acked tips acknowledged before kill -9"

bg "$BIN/lsp-chat" -l 127.0.0.1:$P 2>"$T/chat2.log"
wait_port "$P" 5 || fail "lsp-chat did not restart"
python3 - "$P" "$A" "$T/acked" <<'PY' || fail "acknowledged tips lost"
import sys, json
from wsc import WS
port, tok, path = sys.argv[1:]
acked = [json.loads(l) for l in open(path)]
for i, a in enumerate(acked):
    if i % 30 == 0: # a fresh connection every 30: stay under the per-connection flood guard
        w = WS(f"ws://127.0.0.1:{port}/ws/stage"); w.send({"type": "auth", "token": tok})
        w.until(lambda m: m["type"] == "auth_ok")
    w.send({"type": "tip", "amount": a["amount"], "key": a["key"]})
    r = w.until(lambda m: m["type"] in ("tip_ok", "error"))
    assert r["type"] == "tip_ok" and r["replay"] is True and r["id"] == a["id"], (a, r)
print(len(acked), "acknowledged tips replayed: all present, none charged again")
PY
out=$("$BIN/lsp-ctl" ledger stage --check 2>/dev/null) || fail "reconcile: $out"
ch=$("$BIN/lsp-ctl" ledger stage 2>/dev/null | head -n1 | cut -f3)
fan=$("$BIN/lsp-ctl" ledger user:fan 2>/dev/null | head -n1 | cut -f3)
[ $((ch + fan)) -eq 100000000 ] || fail "money not conserved: channel $ch + fan $fan"
rows=$(sqlite3 "$LSP_DATA_DIR/lsp.db" "SELECT count(*), sum(amount) FROM tips WHERE channel='stage'")
[ "${rows%|*}" -ge "$acked" ] || fail "fewer tip rows ($rows) than acknowledged ($acked)"
[ "${rows#*|}" -eq "$ch" ] || fail "tips sum ${rows#*|} != channel balance $ch"
ok "ledger reconciles after the crash: $rows, channel balance $ch"
