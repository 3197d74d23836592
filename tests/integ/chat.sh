#!/usr/bin/env bash
# lsp-chat on one node (SQLite, no NATS): say/history, tokens (forged,
# expired, wrong channel), moderation with audit, tips and replays, and
# bad input — oversized/invalid/unmasked frames, bad handshakes, unknown
# types, floods — answered with an error or the right close code while the
# node keeps serving; GET /presence counts the sockets of many channels
# (HEAD, OPTIONS, keep-alive, pipelining, CORS; bad names, too many
# channels, other methods refused).
. "$(dirname "$0")/../lib.sh"
need python3
export PYTHONPATH=$ROOT/tests/tools
export LSP_SECRET=test-secret-$$
CTL=$BIN/lsp-chat
"$CTL" --help | grep -q -- "--listen" || fail "--help"
"$CTL" --version | grep -q "^lsp-chat " || fail "--version"
"$CTL" --bogus 2>/dev/null; [ $? -eq 100 ] || fail "bad option exit"

"$BIN/lsp-ctl" user add alice >/dev/null 2>&1 || fail "user add"
"$BIN/lsp-ctl" user add bob >/dev/null 2>&1 || fail "user add bob"
"$BIN/lsp-ctl" user add mo >/dev/null 2>&1 || fail "user add mo"
"$BIN/lsp-ctl" user credit alice 1000 2>/dev/null | grep -q "balance	1000" || fail "credit"
"$BIN/lsp-ctl" channel add room >/dev/null 2>&1 || fail "channel add room" # tips go only to a registered channel
A=$("$BIN/lsp-ctl" token alice 2>/dev/null) || fail "token"
B=$("$BIN/lsp-ctl" token bob --channel other 2>/dev/null) || fail "token bob"
M=$("$BIN/lsp-ctl" token mo --role mod --channel room 2>/dev/null) || fail "token mo"
X=$("$BIN/lsp-ctl" token alice --ttl 1 2>/dev/null) || fail "short token"
F=$(LSP_SECRET=another-secret "$BIN/lsp-ctl" token alice 2>/dev/null) || fail "foreign token"
"$BIN/lsp-ctl" token nobody 2>/dev/null; [ $? -eq 1 ] || fail "token for a missing user"
"$BIN/lsp-ctl" token alice --role king 2>/dev/null; [ $? -eq 100 ] || fail "bad role"
grep -rq "$A" "$LSP_DATA_DIR" && fail "a token is stored"

P=$(free_port)
bg "$CTL" -l 127.0.0.1:$P --rate 50 --burst 50 2>"$T/chat.log"
wait_port "$P" 5 || fail "lsp-chat did not start"
PID=${_pids[-1]}
sleep 1.1 # let the 1-second token expire

python3 - "$P" "$A" "$B" "$M" "$X" "$F" <<'PY' || fail "scenario (see above)"
import sys, socket, time
from wsc import WS, Closed, frame
port, A, B, M, X, F = sys.argv[1:]
url = f"ws://127.0.0.1:{port}/ws/room"
def err(ws, code):
    m = ws.until(lambda m: m["type"] in ("error", "auth_ok"))
    assert m["type"] == "error" and m["code"] == code, (code, m)
def closes(ws, code):
    try:
        while True: ws.recv(3)
    except Closed as e:
        assert e.code == code, (code, e.code, e.reason)

a, v = WS(url), WS(url)
assert a.recv()["type"] == "hello" and a.recv() == {"type": "history", "messages": []}
a.send({"type": "say", "text": "anon"}); err(a, "auth_required")
# forged: flip one character of the MAC; foreign secret; expired; other channel
forged = A[:-2] + ("A" if A[-2] != "A" else "B") + A[-1]
for tok, code in ((forged, "bad_token"), (F, "bad_token"), (X, "token_expired"), (B, "wrong_channel")):
    a.send({"type": "auth", "token": tok}); err(a, code)
g = WS(url)   # five failures on one connection: closed 1008
for tok in ("v1.x.y", "", "v2.abc.def", forged):
    g.send({"type": "auth", "token": tok}); err(g, "bad_token")
g.send({"type": "auth", "token": forged}); closes(g, 1008)
a.send({"type": "auth", "token": A}); assert a.until(lambda m: m["type"] == "auth_ok")["user"] == "alice"
a.send({"type": "say", "text": "hello ☃", "ref": "r1"})
m = v.until(lambda m: m["type"] == "say")
assert m["text"] == "hello ☃" and m["user"] == "alice" and m["channel"] == "room", m
assert a.until(lambda m: m["type"] == "say")["id"] == m["id"]
a.send({"type": "say", "text": "x" * 501}); err(a, "bad_message")
a.send({"type": "nonsense"}); err(a, "unknown_type")
a.send({"type": "say"}); err(a, "bad_message")
a.raw(frame(1, b"{not json")); err(a, "bad_message")
a.raw(frame(1, b"[1,2]")); err(a, "bad_message")
# fragmented message reassembled
a.raw(frame(1, b'{"type":"say",', fin=False) + frame(9, b"p") + frame(0, b'"text":"frag"}'))
assert v.until(lambda m: m["type"] == "say")["text"] == "frag"
# history for a late joiner
h = WS(url).until(lambda m: m["type"] == "history")["messages"]
assert [x["text"] for x in h] == ["hello ☃", "frag"], h

# tips: new, replay, insufficient, not charged twice
a.send({"type": "tip", "amount": 300, "key": "t-1", "text": "gg"})
ok = a.until(lambda m: m["type"] == "tip_ok")
assert ok["replay"] is False and ok["balance"] == 700, ok
t = v.until(lambda m: m["type"] == "tip"); assert t["amount"] == 300 and t["id"] == ok["id"], t
a.send({"type": "tip", "amount": 300, "key": "t-1", "text": "gg"})
ok2 = a.until(lambda m: m["type"] == "tip_ok")
assert ok2["replay"] is True and ok2["id"] == ok["id"] and ok2["balance"] == 700, ok2
a.send({"type": "tip", "amount": 701, "key": "t-2"}); err(a, "insufficient_funds")
a.send({"type": "tip", "amount": -5, "key": "t-3"}); err(a, "bad_message")
a.send({"type": "tip", "amount": 5, "key": "bad key!"}); err(a, "bad_message")
# a channel nobody registered takes no tips (and charges nothing)
gh = WS(f"ws://127.0.0.1:{port}/ws/ghost"); gh.send({"type": "auth", "token": A})
gh.until(lambda m: m["type"] == "auth_ok")
gh.send({"type": "tip", "amount": 5, "key": "t-ghost"}); err(gh, "unknown_channel")

# moderation: viewers may not; a mod bans, times out, deletes, filters, slows
a.send({"type": "ban", "user": "bob"}); err(a, "forbidden")
mo = WS(url); mo.send({"type": "auth", "token": M}); mo.until(lambda m: m["type"] == "auth_ok")
mo.send({"type": "delete", "id": m["id"]})
assert v.until(lambda x: x["type"] == "mod")["id"] == m["id"]
h = WS(url).until(lambda m: m["type"] == "history")["messages"]
assert m["id"] not in [x["id"] for x in h], h
mo.send({"type": "filter", "word": "spoiler"}); mo.until(lambda m: m["type"] == "mod_ok")
a.send({"type": "say", "text": "big SPOILER here"}); err(a, "filtered")
mo.send({"type": "ban", "user": "alice", "reason": "test"})
assert v.until(lambda x: x["type"] == "mod")["action"] == "ban"
a.send({"type": "say", "text": "still here?"}); err(a, "banned")
a.send({"type": "tip", "amount": 1, "key": "t-4"}); err(a, "banned")
mo.send({"type": "unban", "user": "alice"}); v.until(lambda x: x["type"] == "mod")
a.send({"type": "say", "text": "back"}); assert v.until(lambda x: x["type"] == "say")["text"] == "back"
mo.send({"type": "timeout", "user": "alice", "seconds": 60}); v.until(lambda x: x["type"] == "mod")
a.send({"type": "say", "text": "muted?"}); err(a, "timed_out")
mo.send({"type": "unban", "user": "alice"}); v.until(lambda x: x["type"] == "mod")
mo.send({"type": "slow", "seconds": 30}); v.until(lambda x: x["type"] == "mod")
a.send({"type": "say", "text": "one"}); err(a, "slow_mode")   # "back" was less than 30 s ago
a2 = WS(url); a2.send({"type": "auth", "token": A}); a2.until(lambda m: m["type"] == "auth_ok")
a2.send({"type": "say", "text": "two"}); assert v.until(lambda x: x["type"] == "say")["text"] == "two"
a2.send({"type": "say", "text": "three"}); err(a2, "slow_mode")
mo.send({"type": "slow", "seconds": 0}); v.until(lambda x: x["type"] == "mod")

# bad frames → close codes; the node keeps serving others
def bad(data, code):
    w = WS(url); w.recv(); w.recv(); w.raw(data); closes(w, code)
bad(frame(1, b'{"type":"say","text":"' + b"x" * 5000 + b'"}'), 1009)
bad(frame(1, b'"\xff\xfe"'), 1007)
bad(frame(1, b'"\xed\xa0\x80"'), 1007)          # a UTF-16 surrogate
bad(frame(2, b"\x00\x01"), 1003)                 # binary
bad(frame(1, b"{}", mask=False), 1002)          # unmasked client frame
bad(frame(1, b"{}", rsv=0x40), 1002)            # reserved bit
bad(frame(3, b""), 1002)                         # reserved opcode
bad(frame(9, b"p", fin=False), 1002)            # fragmented control frame
bad(frame(0, b"x"), 1002)                        # continuation of nothing
bad(b"\x81\xff\x80" + b"\x00" * 7 + b"mask", 1002)  # 64-bit length with the top bit set
bad(b"\x81\xfe\x00\x05mask", 1002)              # non-minimal 16-bit length
# a length announcing 1 GiB is refused from the header alone
bad(b"\x81\xff" + (1 << 30).to_bytes(8, "big") + b"mask", 1009)
# a closing handshake is answered with the same code
w = WS(url); w.raw(frame(8, (4001).to_bytes(2, "big") + b"bye")); closes(w, 4001)
# flood: hundreds of messages at once → errors, then close 1008
w = WS(url); w.raw(b"".join(frame(1, b'{"type":"ping"}') for _ in range(300))); closes(w, 1008)
# bad handshakes get an HTTP status and a close
def http(req):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=3); s.sendall(req)
    d = s.recv(4096); s.close(); return int(d.split()[1])
key = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
up = b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
assert http(b"GET /ws/Bad! HTTP/1.1\r\nHost: x\r\n" + up + key + b"Sec-WebSocket-Version: 13\r\n\r\n") == 404
assert http(b"GET /nope HTTP/1.1\r\nHost: x\r\n" + up + key + b"Sec-WebSocket-Version: 13\r\n\r\n") == 404
assert http(b"GET /ws/room HTTP/1.1\r\nHost: x\r\n" + up + b"Sec-WebSocket-Version: 13\r\n\r\n") == 400
assert http(b"GET /ws/room HTTP/1.1\r\nHost: x\r\n" + up + key + b"Sec-WebSocket-Version: 8\r\n\r\n") == 426
assert http(b"POST /ws/room HTTP/1.1\r\nHost: x\r\n" + up + key + b"Sec-WebSocket-Version: 13\r\n\r\n") == 405
assert http(b"GARBAGE\r\n\r\n") == 400
assert http(b"GET /ws/room HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n\r\n") == 431
# GET /presence: sockets per channel, at once on a single node
import json
def get(target, method="GET", extra=b""):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=3)
    s.sendall(f"{method} {target} HTTP/1.1\r\nHost: x\r\n".encode() + extra + b"Connection: close\r\n\r\n")
    d = b""
    while True:
        c = s.recv(65536)
        if not c: break
        d += c
    s.close()
    head, _, body = d.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    return int(lines[0].split()[1]), hdr, body
hall = [WS(f"ws://127.0.0.1:{port}/ws/hall") for _ in range(3)]
st, hdr, body = get("/presence?channels=hall,nobody,hall,,")
assert st == 200 and json.loads(body) == {"hall": 3, "nobody": 0}, (st, body)
assert hdr["access-control-allow-origin"] == "*" and hdr["content-type"] == "application/json", hdr
assert hdr["cache-control"] == "public, max-age=1" and int(hdr["content-length"]) == len(body), hdr
hall.pop().close()
time.sleep(0.2)
assert json.loads(get("/presence?channels=hall")[2]) == {"hall": 2}
st, hdr, body = get("/presence")                 # every channel with sockets here
assert st == 200 and json.loads(body)["hall"] == 2 and "nobody" not in json.loads(body), body
st, hdr, body = get("/presence?channels=hall", "HEAD")
assert st == 200 and body == b"" and hdr["content-length"] == "10", (hdr, body)
st, hdr, body = get("/presence", "OPTIONS", b"Origin: http://x\r\nAccess-Control-Request-Method: GET\r\n")
assert st == 204 and "GET" in hdr["access-control-allow-methods"] and hdr["access-control-allow-origin"] == "*", hdr
st, hdr, body = get("/presence", "POST", b"Content-Length: 0\r\n")
assert st == 405 and "GET" in hdr["allow"], (st, hdr)
for bad_q in ("channels=Hall", "channels=a%2Fb", "channels=" + "x" * 65, "channels=%zz",
              "channels=" + ",".join(f"c{i}" for i in range(101))):
    st, hdr, body = get("/presence?" + bad_q)
    assert st == 400 and "error" in json.loads(body) and hdr["access-control-allow-origin"] == "*", (bad_q, st, body)
assert get("/presence?channels=" + "a," * 3000)[0] == 414
assert json.loads(get("/presence?channels=" + ",".join(f"c{i}" for i in range(100)))[2])["c99"] == 0
# keep-alive: two pipelined requests on one connection, both answered
s = socket.create_connection(("127.0.0.1", int(port)), timeout=3)
s.sendall(b"GET /presence?channels=hall HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
d = b""
while d.count(b'{"hall":2}') < 2:
    c = s.recv(4096); assert c, d; d += c
assert d.count(b"HTTP/1.1 200 OK") == 2 and b"Connection: keep-alive" in d, d
s.sendall(b"GET /presence?channels=nobody HTTP/1.1\r\nHost: x\r\n\r\n")   # and a third, later
d = b""
while b'{"nobody":0}' not in d:
    c = s.recv(4096); assert c, d; d += c
s.close()
for w in hall: w.close()
time.sleep(0.2)
assert json.loads(get("/presence?channels=hall")[2]) == {"hall": 0}
# still serving
a.send({"type": "say", "text": "alive"}); assert v.until(lambda x: x["type"] == "say")["text"] == "alive"
print("scenario ok")
PY
kill -0 "$PID" 2>/dev/null || fail "lsp-chat died"
grep -q '"level":"fatal"' "$T/chat.log" && fail "fatal in log"
grep -q "$A" "$T/chat.log" && fail "a token was logged"
ok "say, history, tokens, bad input"

out=$("$BIN/lsp-ctl" ledger room 2>/dev/null) || fail "ledger"
echo "$out" | head -n1 | grep -q "^channel:room	balance	300$" || fail "ledger balance: $out"
[ "$(echo "$out" | grep -c '	tip	')" = 1 ] || fail "tip entries: $out"
"$BIN/lsp-ctl" ledger user:alice 2>/dev/null | head -n1 | grep -q "balance	700$" || fail "alice balance"
"$BIN/lsp-ctl" ledger room --check 2>/dev/null | grep -q "ledger ok" || fail "reconcile"
audit=$("$BIN/lsp-ctl" audit room 2>/dev/null) || fail "audit"
for act in ban unban timeout delete slow filter_add; do
	echo "$audit" | grep -q "	mo	$act	" || fail "audit lacks $act: $audit"
done
ok "ledger and audit"
