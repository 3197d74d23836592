#!/usr/bin/env bash
# Two lsp-chat nodes sharing a real nats-server (JetStream), redis-server
# and postgres: a message crosses both ways, a late node gets history from
# JetStream, presence sums both nodes through Redis and adds an edge's
# report from NATS, GET /presence on either node (and on a node without
# Redis, from NATS reports) gives the same cluster-wide counts for many
# channels, falling as viewers leave, a ban on one node is
# enforced on the other, the rate limit is shared, a tip replayed on the
# other node is charged once, and a forged token is refused everywhere.
. "$(dirname "$0")/../lib.sh"
need python3
export PYTHONPATH=$ROOT/tests/tools BIN T
export LSP_SECRET=nodes-secret-$$
LSP_TEST_NATS_URL= start_nats   # private: JetStream history must not carry over from other runs
start_redis
start_pg
export LSP_DB_URL=$PG_URL LSP_NATS_URL=$NATS_URL LSP_REDIS_URL=$REDIS_URL NATS_URL

for u in alice mo; do "$BIN/lsp-ctl" user add $u >/dev/null 2>&1 || fail "user add $u"; done
"$BIN/lsp-ctl" user credit alice 500 >/dev/null 2>&1 || fail "credit"
"$BIN/lsp-ctl" channel add live >/dev/null 2>&1 || fail "channel add live" # tips go only to a registered channel
A=$("$BIN/lsp-ctl" token alice 2>/dev/null) || fail "token"
M=$("$BIN/lsp-ctl" token mo --role mod --channel live 2>/dev/null) || fail "token mo"

P1=$(free_port) P2=$(free_port) P3=$(free_port) P4=$(free_port)
bg "$BIN/lsp-chat" -l 127.0.0.1:$P1 --node n1 --rate 0.01 --burst 4 2>"$T/n1.log"
bg "$BIN/lsp-chat" -l 127.0.0.1:$P2 --node n2 --rate 0.01 --burst 4 2>"$T/n2.log"
wait_port "$P1" 5 && wait_port "$P2" 5 || { cat "$T"/n*.log >&2; fail "nodes did not start"; }
grep -q '"bus":"nats"' "$T/n1.log" || fail "node 1 not on nats"
grep -q '"presence":"redis"' "$T/n1.log" || fail "node 1 not on redis"

python3 - "$P1" "$P2" "$P3" "$A" "$M" "$P4" <<'PY' || fail "scenario (see above)"
import sys, time, subprocess, os, json, urllib.request
from wsc import WS, Closed
p1, p2, p3, A, M, p4 = sys.argv[1:]
def presence(port, chans):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/presence?channels={','.join(chans)}", timeout=3) as r:
        assert r.headers["Access-Control-Allow-Origin"] == "*", dict(r.headers)
        assert r.headers["Content-Type"] == "application/json", dict(r.headers)
        return json.load(r)
def presence_is(ports, want, secs=6):
    # every node answers want (a node learns another's count within ~1 s)
    deadline, got = time.time() + secs, None
    while time.time() < deadline:
        got = {p: presence(p, list(want)) for p in ports}
        if all(g == want for g in got.values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"presence: want {want}, got {got}")
u1, u2 = f"ws://127.0.0.1:{p1}/ws/live", f"ws://127.0.0.1:{p2}/ws/live"
def auth(ws, tok):
    ws.send({"type": "auth", "token": tok}); m = ws.until(lambda m: m["type"] in ("auth_ok", "error"))
    assert m["type"] == "auth_ok", m
def err(ws, code):
    m = ws.until(lambda m: m["type"] == "error"); assert m["code"] == code, (code, m)
a1, a2 = WS(u1), WS(u2)
auth(a1, A); auth(a2, A)
a1.send({"type": "say", "text": "from one"})
m = a2.until(lambda m: m["type"] == "say"); assert m["text"] == "from one", m
a2.send({"type": "say", "text": "from two"})
assert a1.until(lambda m: m["type"] == "say" and m["text"] == "from two")
# presence: both nodes' sockets counted (Redis), seen on both nodes
for w in (a1, a2):
    w.until(lambda m: m["type"] == "presence" and m["chat"] == 2, 6, past=True)
# an edge reports 7 HLS/WebRTC viewers on lsp.presence.live (raw NATS protocol)
import socket, json as _j
nurl = os.environ["NATS_URL"].rsplit(":", 1)
ns = socket.create_connection((nurl[0].split("//")[1], int(nurl[1])), timeout=3)
body = _j.dumps({"node": "edge-1", "source": "edge", "edge": 7}).encode()
ns.sendall(b"CONNECT {\"verbose\":false}\r\nPUB lsp.presence.live %d\r\n%s\r\nPING\r\n" % (len(body), body))
for w in (a1, a2):
    m = w.until(lambda m: m["type"] == "presence" and m["edge"] == 7, 6)
    assert m["viewers"] == m["chat"] + 7, m
# GET /presence counts what the chat panel shows: 2 sockets + the edge's 7
# (n1 and n2 host "live"; "side" and "none" have no socket on n1)
presence_is((p1, p2), {"live": 9, "none": 0}, 5)
body = _j.dumps({"node": "edge-1", "source": "edge", "edge": 0}).encode()  # the edge's viewers left
ns.sendall(b"PUB lsp.presence.live %d\r\n%s\r\nPING\r\n" % (len(body), body))
presence_is((p1, p2), {"live": 2}, 5)
ns.close()
# viewers of "side" on both nodes; a third node without Redis (NATS only)
# answers from the chat nodes' presence reports
env4 = {k: v for k, v in os.environ.items() if k != "LSP_REDIS_URL"}
n4 = subprocess.Popen([os.environ["BIN"] + "/lsp-chat", "-l", f"127.0.0.1:{p4}", "--node", "n4"],
                      stderr=open(os.environ["T"] + "/n4.log", "w"), env=env4)
try:
    side = [WS(f"ws://127.0.0.1:{p}/ws/side") for p in (p1, p1, p2)]
    for _ in range(50):
        try:
            presence(p4, ["side"]); break
        except OSError:
            time.sleep(0.1)
    presence_is((p1, p2, p4), {"side": 3, "live": 2, "none": 0})
    side.pop().close()             # the one on n2 leaves
    presence_is((p1, p2, p4), {"side": 2, "live": 2, "none": 0})
    for w in side: w.close()       # and the two on n1
    presence_is((p1, p2, p4), {"side": 0, "live": 2, "none": 0})
    assert '"presence":"local"' in open(os.environ["T"] + "/n4.log").read()
finally:
    n4.terminate(); n4.wait()
# the shared bucket (burst 4, ~no refill): 2 said already, 2 more pass, the 5th is refused
a1.send({"type": "say", "text": "3"}); a2.until(lambda m: m["type"] == "say" and m["text"] == "3")
a2.send({"type": "say", "text": "4"}); a1.until(lambda m: m["type"] == "say" and m["text"] == "4")
a1.send({"type": "say", "text": "5"}); err(a1, "rate_limited")
# forged token refused on both
forged = A[:-3] + ("xyz" if A[-3:] != "xyz" else "abc")
for w in (WS(u1), WS(u2)):
    w.send({"type": "auth", "token": forged}); err(w, "bad_token")
# a ban on node 1 holds on node 2, and is lifted there too
mo = WS(u1); auth(mo, M)
mo.send({"type": "ban", "user": "alice"})
a2.until(lambda m: m["type"] == "mod" and m["action"] == "ban")
a2.send({"type": "tip", "amount": 1, "key": "during-ban"}); err(a2, "banned")
mo.send({"type": "unban", "user": "alice"})
for w in (a1, a2): # applied by both nodes (each when the event reaches it)
    w.until(lambda m: m["type"] == "mod" and m["action"] == "unban")
# one idempotency key sent to both nodes at once: charged once
a1.send({"type": "tip", "amount": 200, "key": "same-key"})
a2.send({"type": "tip", "amount": 200, "key": "same-key"})
r1 = a1.until(lambda m: m["type"] in ("tip_ok", "error"), 10)
r2 = a2.until(lambda m: m["type"] in ("tip_ok", "error"), 10)
assert r1["type"] == r2["type"] == "tip_ok", (r1, r2)
assert r1["id"] == r2["id"] and sorted([r1["replay"], r2["replay"]]) == [False, True], (r1, r2)
assert r1["balance"] == r2["balance"] == 300, (r1, r2)
# a late third node gets the channel's history from JetStream
env = dict(os.environ)
n3 = subprocess.Popen([os.environ["BIN"] + "/lsp-chat", "-l", f"127.0.0.1:{p3}", "--node", "n3"],
                      stderr=open(os.environ["T"] + "/n3.log", "w"), env=env)
try:
    for _ in range(50):
        try:
            c = WS(f"ws://127.0.0.1:{p3}/ws/live"); break
        except OSError:
            time.sleep(0.1)
    h = c.until(lambda m: m["type"] == "history")["messages"]
    texts = [x.get("text") for x in h if x["type"] == "say"]
    assert texts == ["from one", "from two", "3", "4"], h
    assert any(x["type"] == "tip" and x["amount"] == 200 for x in h), h
finally:
    n3.terminate(); n3.wait()
print("scenario ok")
PY
ok "fan-out, history, presence (WebSocket and GET /presence), bans, rate limit, tips across nodes"
out=$("$BIN/lsp-ctl" ledger live 2>/dev/null) || fail "ledger"
echo "$out" | head -n1 | grep -q "balance	200$" || fail "channel balance: $out"
"$BIN/lsp-ctl" ledger live --check 2>/dev/null | grep -q "ledger ok" || fail "reconcile"
"$BIN/lsp-ctl" audit live 2>/dev/null | grep -q "	mo	ban	alice" || fail "ban not audited"
psql -qAt "$PG_URL" -c "SELECT count(*) FROM tips WHERE idem_key = 'same-key'" | grep -qx 1 || fail "tip rows"
ok "postgres ledger"
