#!/usr/bin/env bash
# Revocation reaches open chat sockets (issue #20 item 5): real lsp-api,
# two lsp-chat nodes and nats-server.  Node N hears lsp.auth.revoke and
# runs no periodic re-check (--recheck 0), so what it does is the event's
# doing; node L has no NATS and re-checks the store every second
# (--recheck 1).  On both: a mod demoted through the API loses ban at once
# and keeps the socket as a viewer, an erased account's socket is closed
# 4001, a suspended channel's sockets 4003, a deleted one's 4004 (lsp-api
# and lsp-ctl alike); a token issued before the change does no better on
# a new socket.
. "$(dirname "$0")/../lib.sh"
need python3
need nats-server
export PYTHONPATH=$ROOT/tests/tools
export LSP_SECRET=revoke-secret-$$
start_nats

AP=$(free_port)
bg env LSP_NATS_URL="$NATS_URL" "$BIN/lsp-api" -l 127.0.0.1:$AP --scrypt-log2n 10 --rate-addr 100000 --rate-signup 1000 2>"$T/api.log"
wait_port "$AP" 10 || { cat "$T/api.log" >&2; fail "lsp-api did not start"; }
NP=$(free_port)
bg env LSP_NATS_URL="$NATS_URL" "$BIN/lsp-chat" -l 127.0.0.1:$NP --recheck 0 2>"$T/chat-nats.log"
LP=$(free_port)
bg env -u LSP_NATS_URL "$BIN/lsp-chat" -l 127.0.0.1:$LP --recheck 1 2>"$T/chat-local.log"
ZP=$(free_port) # neither: what it knows comes from auths alone
bg env -u LSP_NATS_URL "$BIN/lsp-chat" -l 127.0.0.1:$ZP --recheck 0 2>"$T/chat-zero.log"
wait_port "$NP" 10 || fail "lsp-chat (NATS) did not start"
wait_port "$LP" 10 || fail "lsp-chat (local) did not start"
wait_port "$ZP" 10 || fail "lsp-chat (no re-check) did not start"
wait_grep '"recheck":0' "$T/chat-nats.log" 10 || fail "node N does not report recheck 0"
wait_grep '"recheck":1' "$T/chat-local.log" 10 || fail "node L does not report recheck 1"
"$BIN/lsp-chat" --help | grep -q -- "--recheck" || fail "--help lacks --recheck"
"$BIN/lsp-chat" --recheck -1 2>/dev/null; [ $? -eq 100 ] || fail "a negative --recheck is not a usage error"

python3 - "http://127.0.0.1:$AP" "$NP" "$LP" "$BIN" "$$" "$NATS_URL" "$T/ctl.log" "$ZP" <<'PY' || fail "revocation scenario (see above)"
import os, subprocess, sys, time
from apitest import Api, signup, expect
from wsc import WS, Closed
base, np_, lp, bindir, sfx, nats, ctllog, zp = sys.argv[1:]
api = Api(base)
setrole = [bindir + "/lsp-api", "--set-role"]
admin, _ = signup(api, "adm" + sfx, "admin", setrole=setrole)
cre, _ = signup(api, "cre" + sfx, "creator")

def channel(name):
    st, js, _ = api.call("POST", "/api/v1/channels", {"name": name}, token=cre)
    assert st == 201, (st, js)
    return name

def chat_token(sess, ch):
    st, js, _ = api.call("POST", "/api/v1/chat/token", {"channel": ch}, token=sess)
    assert st == 200, (st, js)
    return js["token"]

def join(port, ch, tok=None, role=None):
    w = WS(f"ws://127.0.0.1:{port}/ws/{ch}")
    w.until(lambda m: m["type"] == "history")
    if tok:
        w.send({"type": "auth", "token": tok})
        m = w.until(lambda m: m["type"] in ("auth_ok", "error"))
        assert m["type"] == "auth_ok" and (role is None or m["role"] == role), m
    return w

def closed_with(w, code, limit):
    """Seconds until w was closed with code; fails past limit."""
    t0 = time.time()
    try:
        while True:
            w.recv(max(0.05, limit - (time.time() - t0)))
    except Closed as e:
        dt = time.time() - t0
        assert e.code == code, (code, e.code, e.reason)
        assert dt <= limit, (code, dt)
        return dt, e.reason
    except Exception as e:
        raise AssertionError(f"not closed with {code} within {limit} s: {e!r}")

def can_ban(w, target):
    w.send({"type": "ban", "user": target, "ref": "b"})
    m = w.until(lambda m: (m["type"] == "mod" and m["action"] == "ban" and m["user"] == target) or
                (m["type"] == "error" and m.get("ref") == "b"))
    return m["type"] == "mod", m

def scenario(port, tag, limit):
    s = tag + sfx
    ch, chs, chd, chc = (channel(p + s) for p in ("r", "s", "d", "c"))
    mo, _ = signup(api, "mo" + s, "mod", admin=admin)
    vic, _ = signup(api, "vic" + s)
    era, _ = signup(api, "era" + s)

    # (1) a demoted mod: downgraded in place, the socket stays
    mtok = chat_token(mo, ch)
    m = join(port, ch, mtok, "mod")
    ok, r = can_ban(m, "vic" + s)
    assert ok, r
    m.send({"type": "unban", "user": "vic" + s})
    m.until(lambda x: x["type"] == "mod" and x["action"] == "unban")  # applied before the demotion
    t0 = time.time()
    st, _, _ = api.call("POST", f"/api/v1/users/mo{s}/role", {"role": "viewer"}, token=admin)
    assert st == 200
    r = m.until(lambda x: x["type"] == "role", limit)
    dt = time.time() - t0
    assert r["role"] == "viewer", r
    ok, r = can_ban(m, "vic" + s)
    assert not ok and r["code"] == "forbidden", r
    m.send({"type": "ping"}); m.until(lambda x: x["type"] == "pong")
    expect(True, f"[{tag}] a mod demoted through the API is a viewer {dt:.2f} s later: ban refused, socket open")
    again = join(port, ch, mtok)   # the token from before the demotion, on a new socket
    ok, r = can_ban(again, "vic" + s)
    assert not ok and r["code"] == "forbidden", r
    expect(True, f"[{tag}] the mod token issued before the demotion opens chat as a viewer only")

    # (2) an erased account: its socket is closed 4001; its token is refused after
    etok = chat_token(era, ch)
    e = join(port, ch, etok)
    st, _, _ = api.call("DELETE", f"/api/v1/users/era{s}", token=admin)
    assert st == 204
    dt, why = closed_with(e, 4001, limit)
    expect(why == "account erased", f"[{tag}] an erased account's socket is closed 4001 '{why}' in {dt:.2f} s")
    w = join(port, ch)
    w.send({"type": "auth", "token": etok})
    r = w.until(lambda x: x["type"] in ("auth_ok", "error"))
    expect(r["type"] == "error" and r["code"] == "account_gone", f"[{tag}] its still-valid token is refused: {r.get('code')}")

    # (3) a suspended channel: every socket closed 4003, signed in or not; a new one too
    v = join(port, chs, chat_token(vic, chs))
    anon = join(port, chs)
    st, js, _ = api.call("POST", f"/api/v1/channels/{chs}/suspend", {"suspended": True}, token=admin)
    assert st == 200
    d1, _ = closed_with(v, 4003, limit)
    d2, _ = closed_with(anon, 4003, limit)
    expect(True, f"[{tag}] a suspended channel's sockets are closed 4003 ({d1:.2f} s, {d2:.2f} s)")
    n = WS(f"ws://127.0.0.1:{port}/ws/{chs}")
    closed_with(n, 4003, 5)
    expect(True, f"[{tag}] a new socket on the suspended channel is closed 4003 at once")

    # (4) a deleted channel: lsp-api's DELETE, and lsp-ctl channel rm
    d = join(port, chd, chat_token(vic, chd))
    st, _, _ = api.call("DELETE", f"/api/v1/channels/{chd}", token=cre)
    assert st == 204
    dt, _ = closed_with(d, 4004, limit)
    expect(True, f"[{tag}] a channel deleted through the API: its sockets are closed 4004 in {dt:.2f} s")
    c = join(port, chc, chat_token(vic, chc))
    with open(ctllog, "a") as log:
        subprocess.run([bindir + "/lsp-ctl", "channel", "rm", chc], check=True, stderr=log,
                       env=dict(os.environ, LSP_NATS_URL=nats))
    dt, _ = closed_with(c, 4004, limit)
    expect(True, f"[{tag}] a channel removed with lsp-ctl: its sockets are closed 4004 in {dt:.2f} s")

# node N: the events alone (no periodic re-check), 2 s; node L: the 1 s re-check, 4 s
scenario(np_, "n", 2.0)
scenario(lp, "l", 4.0)

# a mod demoted while no socket of theirs is open comes back with the old
# token: a node that saw the mod grant at the earlier auth lowers it
s = "z" + sfx
ch = channel("r" + s)
mo, _ = signup(api, "mo" + s, "mod", admin=admin)
mtok = chat_token(mo, ch)
m = join(zp, ch, mtok, "mod")
m.close()
st, _, _ = api.call("POST", f"/api/v1/users/mo{s}/role", {"role": "viewer"}, token=admin)
assert st == 200
m = join(zp, ch, mtok, "viewer")
ok, r = can_ban(m, "x" + s)
expect(not ok and r["code"] == "forbidden", "[z] a mod demoted while away comes back with the old token as a viewer")
PY
grep -q '"revocation sent"' "$T/ctl.log" || fail "lsp-ctl logged no revocation sent"
grep -q '"sockets revoked"' "$T/chat-nats.log" || fail "no sockets revoked event on node N"
grep -q '"role downgraded"' "$T/chat-local.log" || fail "no role downgraded event on node L"
grep -q '"revocation sent"' "$T/api.log" || fail "lsp-api logged no revocation sent"

# a malformed event on lsp.auth.revoke is a warning; the node keeps serving
python3 - "$NATS_URL" <<'PY' || fail "publish a malformed event"
import socket, sys
host, port = sys.argv[1].rsplit("/", 1)[-1].split(":")
c = socket.create_connection((host, int(port)), timeout=5)
c.recv(4096)  # INFO
for body in (b"{not json", b'{"reason":"erased"}', b'{"reason":"role","user":"A.B"}', b"\x00" * 40):
    c.sendall(b"CONNECT {}\r\nPUB lsp.auth.revoke %d\r\n%s\r\n" % (len(body), body))
c.sendall(b"PING\r\n")
got = b""
while b"PONG" not in got:
    got += c.recv(4096)
PY
wait_grep '"bad revocation event"' "$T/chat-nats.log" 10 || fail "no warning for a malformed event"
python3 -c "
import sys; from wsc import WS
w = WS('ws://127.0.0.1:$NP/ws/after'); w.until(lambda m: m['type'] == 'history')" || fail "node N stopped serving"
ok "a malformed revocation event is a warning; the node keeps serving"
