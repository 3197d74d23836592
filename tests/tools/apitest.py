"""apitest.py — drive a running lsp-api over real HTTP and check every
answer against docs/openapi.json (standard library only).

The validator covers the subset the spec uses: $ref, type (with nullable),
properties / required / additionalProperties, items, enum, pattern,
minimum / maximum, minLength / maxLength.  Every response is checked: its
status must be documented for the operation, and a JSON body must match
the documented schema (a 204 must have no body).

  python3 apitest.py BASE_URL matrix ROUTES_TSV SETROLE_CMD...
  python3 apitest.py BASE_URL scenario STATE.json   (writes what bash needs)
"""
import http.client, json, os, re, subprocess, sys, time, urllib.parse

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SPEC = json.load(open(os.path.join(ROOT, "docs", "openapi.json")))
ROLES = ["anon", "viewer", "creator", "mod", "admin"]


class Fail(Exception):
    pass


def resolve(s):
    while "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[1]
        s = SPEC["components"]["schemas"][name]
    return s


def validate(schema, v, where="$"):
    s = resolve(schema)
    if v is None:
        if s.get("nullable"):
            return
        raise Fail(f"{where}: null not allowed")
    t = s.get("type")
    ok = {
        "object": lambda x: isinstance(x, dict),
        "array": lambda x: isinstance(x, list),
        "string": lambda x: isinstance(x, str),
        "integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
        "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
        "boolean": lambda x: isinstance(x, bool),
        None: lambda x: True,
    }[t]
    if not ok(v):
        raise Fail(f"{where}: want {t}, got {json.dumps(v)[:80]}")
    if "enum" in s and v not in s["enum"]:
        raise Fail(f"{where}: {v!r} not in {s['enum']}")
    if t == "string":
        if "pattern" in s and not re.search(s["pattern"], v):
            raise Fail(f"{where}: {v!r} does not match {s['pattern']}")
        if len(v) < s.get("minLength", 0) or len(v) > s.get("maxLength", 1 << 30):
            raise Fail(f"{where}: length {len(v)} out of bounds")
    if t in ("integer", "number") and (v < s.get("minimum", -(1 << 63)) or v > s.get("maximum", 1 << 63)):
        raise Fail(f"{where}: {v} out of bounds")
    if t == "array":
        for i, x in enumerate(v):
            validate(s.get("items", {}), x, f"{where}[{i}]")
    if t == "object":
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                raise Fail(f"{where}: missing {k}")
        for k, x in v.items():
            if k in props:
                validate(props[k], x, f"{where}.{k}")
            elif s.get("additionalProperties", True) is False:
                raise Fail(f"{where}: unexpected property {k}")


def find_op(method, path):
    for tmpl, item in SPEC["paths"].items():
        rx = "^" + re.sub(r"\\\{[a-z]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
        if re.match(rx, path) and method.lower() in item:
            return tmpl, item[method.lower()]
    return None, None


class Api:
    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.conn = None
        self.calls = 0

    def raw(self, method, path, body=b"", headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, {k.lower(): v for k, v in r.getheaders()}, r.getheader("Set-Cookie"), r, data
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt:
                    raise

    def call(self, method, path, body=None, token=None, cookie=None, csrf=None, headers=None, check=True):
        h = dict(headers or {})
        data = b""
        if body is not None:
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            h.setdefault("Content-Type", "application/json")
        if token:
            h["Authorization"] = "Bearer " + token
        if cookie:
            h["Cookie"] = "lsp_session=" + cookie
        if csrf:
            h["X-CSRF-Token"] = csrf
        status, hdrs, _, r, raw = self.raw(method, path, data, h)
        self.calls += 1
        js = json.loads(raw) if raw and hdrs.get("content-type", "").startswith("application/json") else None
        if check:
            self.check(method, path, status, hdrs, raw, js)
        return status, js, hdrs

    def check(self, method, path, status, hdrs, raw, js):
        tmpl, op = find_op(method, path.split("?")[0])
        if op is None:
            if status in (404, 405):
                return
            raise Fail(f"{method} {path}: not in the spec but answered {status}")
        resp = op["responses"].get(str(status))
        if resp is None:
            raise Fail(f"{method} {tmpl}: status {status} is not documented ({raw[:200]!r})")
        for h in ("x-content-type-options", "content-security-policy", "cache-control"):
            if h not in hdrs:
                raise Fail(f"{method} {path}: no {h} header")
        content = resp.get("content")
        if not content:
            if raw:
                raise Fail(f"{method} {tmpl} {status}: body where none is documented")
            return
        if js is None:
            raise Fail(f"{method} {tmpl} {status}: no JSON body")
        try:
            validate(content["application/json"]["schema"], js)
        except Fail as e:
            raise Fail(f"{method} {tmpl} {status}: {e}")


def signup(api, name, role="viewer", age=30, setrole=None, admin=None):
    st, js, _ = api.call("POST", "/api/v1/signup",
                         {"name": name, "password": "pw-" + name + "-long", "age": age, "creator": role == "creator"})
    if st != 201:
        raise Fail(f"signup {name}: {st} {js}")
    if role in ("mod", "admin"):
        if admin:
            st, pr, _ = api.call("POST", f"/api/v1/users/{name}/role", {"role": role}, token=admin)
            if st != 200:
                raise Fail(f"set role {name}: {st} {pr}")
        else:
            subprocess.run(setrole + [f"{name}={role}"], check=True)
    return js["token"], js["csrf"]


def expect(cond, what):
    if not cond:
        raise Fail(what)
    print("ok:", what)


# ---- routes × roles --------------------------------------------------------

def matrix(api, routes_tsv, setrole):
    got = set()
    for line in open(routes_tsv):
        m, p, roles = line.rstrip("\n").split("\t")
        got.add((m, p, tuple(sorted(roles.split(",")))))
    spec = set()
    for p, item in SPEC["paths"].items():
        for m, op in item.items():
            if m == "parameters":
                continue
            spec.add((m.upper(), p, tuple(sorted(op["x-lsp-roles"]))))
    expect(got == spec, f"lsp-api --routes equals the spec's operations and x-lsp-roles ({len(got)} routes)")
    sfx = str(os.getpid())
    admin, _ = signup(api, "root" + sfx, "admin", setrole=setrole)
    n = 0
    denied = allowed = 0
    for (m, p, roles) in sorted(got):
        for role in ROLES:
            n += 1
            tag = f"{role[0]}{n}x{sfx}"
            owner_tok = None
            tok = None
            if role != "anon":
                tok, _ = signup(api, "u" + tag, role, admin=admin)
            if role in ("creator", "admin"):
                owner_tok = tok
            else:
                owner_tok, _ = signup(api, "o" + tag, "creator", admin=admin)
            ch = "c" + tag
            st, js, _ = api.call("POST", "/api/v1/channels", {"name": ch}, token=owner_tok)
            if st != 201:
                raise Fail(f"channel for matrix: {st} {js}")
            victim = "v" + tag
            signup(api, victim)
            path = p.replace("{name}", victim if "/users/" in p else ch)
            body = {
                "/api/v1/signup": {"name": "n" + tag, "password": "long-password", "age": 20},
                "/api/v1/signin": {"name": victim, "password": "pw-" + victim + "-long"},
                "/api/v1/channels": {"name": "d" + tag},
                "/api/v1/channels/{name}": {"title": "t"},
                "/api/v1/channels/{name}/suspend": {"suspended": True},
                "/api/v1/users/{name}/role": {"role": "mod"},
                "/api/v1/chat/token": {"channel": ch},
            }.get(p) if m in ("POST", "PATCH") else None
            st, js, _ = api.call(m, path, body, token=tok)
            may = role in roles
            if may:
                if not (200 <= st < 300):
                    raise Fail(f"{m} {p} as {role}: allowed but got {st} {js}")
                allowed += 1
            else:
                want = 401 if role == "anon" else 403
                if st != want:
                    raise Fail(f"{m} {p} as {role}: want {want}, got {st} {js}")
                denied += 1
    expect(True, f"authorisation matrix: {n} route x role calls, {allowed} allowed (2xx), {denied} refused (401/403)")


# ---- the scenario ------------------------------------------------------------

def scenario(api, state_path, setrole, chat_port):
    sfx = str(os.getpid())
    out = {}
    st, js, h = api.call("GET", "/api/v1/health")
    expect(st == 200 and h.get("x-content-type-options") == "nosniff" and "default-src 'none'" in
           h.get("content-security-policy", "") and "strict-transport-security" not in h,
           "security headers (nosniff, CSP; no HSTS without TLS)")
    admin, _ = signup(api, "adm" + sfx, "admin", setrole=setrole)

    # accounts: sign-up sets HttpOnly Secure SameSite cookies; CSRF on cookie sessions
    status, hdrs, _, r, raw = api.raw("POST", "/api/v1/signup", json.dumps(
        {"name": "alice" + sfx, "password": "correct horse", "age": 30, "creator": True}).encode(),
        {"Content-Type": "application/json"})
    cookies = r.msg.get_all("Set-Cookie") or []
    sess = [c for c in cookies if c.startswith("lsp_session=")]
    expect(status == 201 and sess and all(a in sess[0] for a in ("HttpOnly", "Secure", "SameSite=Strict")),
           "sign-up sets an HttpOnly Secure SameSite=Strict session cookie")
    js = json.loads(raw)
    api.check("POST", "/api/v1/signup", status, hdrs, raw, js)
    alice, csrf = js["token"], js["csrf"]
    st, _, _ = api.call("POST", "/api/v1/channels", {"name": "x" + sfx}, cookie=alice)
    expect(st == 403, "cookie session without X-CSRF-Token is refused (403)")
    st, _, _ = api.call("POST", "/api/v1/channels", {"name": "x" + sfx}, cookie=alice, csrf="0" * 32)
    expect(st == 403, "cookie session with a wrong X-CSRF-Token is refused (403)")
    st, js, _ = api.call("POST", "/api/v1/channels", {"name": "x" + sfx, "title": "cookie"}, cookie=alice, csrf=csrf)
    expect(st == 201, "cookie session with the right X-CSRF-Token works")
    st, _, _ = api.call("GET", "/api/v1/me", cookie=alice)
    expect(st == 200, "cookie session reads without a CSRF header")

    # bounded bodies, JSON only
    st, _, _ = api.call("POST", "/api/v1/signin", b"{" + b" " * 20000 + b"}", check=False)
    expect(st == 413, "a 20 KB body is refused (413)")
    st, _, _ = api.call("POST", "/api/v1/signin", b"name=a", headers={"Content-Type": "application/x-www-form-urlencoded"})
    expect(st == 415, "a form body is refused (415)")
    st, _, _ = api.call("POST", "/api/v1/signin", b"[1,2", headers={"Content-Type": "application/json"})
    expect(st == 400, "bad JSON is refused (400)")

    # the connection loop: garbage, chunked bodies, oversized heads
    import socket
    def rawsock(data):
        c = socket.create_connection((api.host, api.port), timeout=5)
        c.sendall(data)
        r = c.recv(4096)
        c.close()
        return r.split(b" ", 2)[1] if r.startswith(b"HTTP/1.1 ") else r[:20]
    expect(rawsock(b"GARBAGE\r\n\r\n") == b"400", "a malformed request line gets 400")
    expect(rawsock(b"POST /api/v1/signin HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == b"411",
           "a chunked body gets 411")
    expect(rawsock(b"GET /api/v1/health HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n") == b"431",
           "a head over 8 KiB gets 431")
    c = socket.create_connection((api.host, api.port), timeout=10)
    n = 1200  # ~24 KB of pipelined requests: answered in order, no recursion, no crash
    c.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n" * n)
    got = b""
    while got.count(b"HTTP/1.1 200") < n:
        d = c.recv(1 << 16)
        if not d:
            break
        got += d
    c.close()
    expect(got.count(b"HTTP/1.1 200") == n, f"{n} pipelined requests on one connection all answered")

    # sign-in rate limit per account
    victim = "rl" + sfx
    signup(api, victim)
    codes = [api.call("POST", "/api/v1/signin", {"name": victim, "password": "wrong-password"})[0] for _ in range(6)]
    expect(codes[:5] == [401] * 5 and codes[5] == 429, f"5 bad sign-ins then 429 for the account ({codes})")
    st, _, _ = api.call("POST", "/api/v1/signin", {"name": victim, "password": "pw-" + victim + "-long"})
    expect(st == 429, "even the right password waits while the account is limited")

    # sign-out revokes the token
    st, js, _ = api.call("POST", "/api/v1/signin", {"name": "alice" + sfx, "password": "correct horse"})
    t2 = js["token"]
    st, _, _ = api.call("POST", "/api/v1/signout", token=t2)
    st2, _, _ = api.call("GET", "/api/v1/me", token=t2)
    expect(st == 204 and st2 == 401, "sign-out revokes the session (then 401)")
    st, _, _ = api.call("GET", "/api/v1/me", token=alice)
    expect(st == 200, "other sessions of the account still work")

    # channels and keys
    ch = "live" + sfx
    st, js, _ = api.call("POST", "/api/v1/channels", {"name": ch, "title": "Live", "category": "music"}, token=alice)
    expect(st == 201 and js["key"].startswith(ch + "_"), "creator creates a channel; the key is shown once")
    out["channel"], out["key1"] = ch, js["key"]
    st, js, _ = api.call("GET", f"/api/v1/channels/{ch}", token=alice)
    expect(st == 200 and "key" not in js and js["has_key"], "the key is never shown again")
    st, js, _ = api.call("PATCH", f"/api/v1/channels/{ch}", {"title": "Live now", "category": "talk"}, token=alice)
    expect(st == 200 and js["title"] == "Live now" and js["category"] == "talk", "creator sets title and category")
    bob_c, _ = signup(api, "bobc" + sfx, "creator")
    st, _, _ = api.call("POST", f"/api/v1/channels/{ch}/key", token=bob_c)
    expect(st == 403, "another creator may not rotate this channel's key")
    st, js, _ = api.call("GET", f"/api/v1/channels/{ch}/health", token=alice)
    expect(st == 200 and js["live"] is False, "creator sees channel health")
    st, js, _ = api.call("GET", f"/api/v1/channels/{ch}/recordings", token=alice)
    expect(st == 200 and js["recordings"] == [], "creator lists recordings (none yet)")

    # kid mode
    kid, _ = signup(api, "kid" + sfx, age=10)
    st, js, _ = api.call("GET", "/api/v1/me", token=kid)
    expect(js["kid"] is True, "a declared age of 10 makes a kid-mode account")
    st, _, _ = api.call("POST", "/api/v1/signup", {"name": "kc" + sfx, "password": "long-password", "age": 9, "creator": True})
    expect(st == 403, "a kid-mode account cannot be a creator")
    mat = "adult" + sfx
    st, _, _ = api.call("POST", "/api/v1/channels", {"name": mat, "mature": True}, token=alice)
    st, js, _ = api.call("GET", "/api/v1/channels", token=kid)
    names = [c["name"] for c in js["channels"]]
    expect(mat not in names and ch in names, "mature channels are hidden from kid-mode accounts in the directory")
    st, _, _ = api.call("GET", f"/api/v1/channels/{mat}", token=kid)
    st2, _, _ = api.call("GET", f"/api/v1/channels/{mat}")
    expect(st == 404 and st2 == 200, "and by name (404 for the kid, 200 for others)")
    st, js, _ = api.call("POST", "/api/v1/chat/token", {"channel": ch}, token=kid)
    expect(st == 403 and js["error"] == "kid_mode", "a kid-mode account gets no chat token")
    out["kid_token"] = kid

    # chat token for a viewer; the session token format is lsp-chat's
    bob, _ = signup(api, "bob" + sfx)
    st, js, _ = api.call("POST", "/api/v1/chat/token", {"channel": ch}, token=bob)
    expect(st == 200 and js["role"] == "viewer", "a viewer gets a chat token")
    st, js2, _ = api.call("POST", "/api/v1/chat/token", {"channel": ch}, token=alice)
    expect(st == 200 and js2["role"] == "owner", "the channel's creator gets an owner chat token")
    out["bob"], out["bob_token"], out["bob_chat"] = "bob" + sfx, bob, js["token"]
    out["alice_token"], out["admin_token"] = alice, admin
    json.dump(out, open(state_path, "w"))


def dsar(api, state_path):
    s = json.load(open(state_path))
    text = s["text"]
    for _ in range(50):
        st, js, h = api.call("GET", "/api/v1/me/export", token=s["bob_token"])
        if any(m["text"] == text for m in js["chat_messages"]):
            break
        time.sleep(0.1)
    expect(st == 200 and "attachment" in h.get("content-disposition", ""), "DSAR export is a JSON attachment")
    expect(any(m["text"] == text and m["channel"] == s["channel"] for m in js["chat_messages"]),
           "the export holds the chat message the user sent")
    expect(js["profile"]["name"] == s["bob"] and len(js["sessions"]) >= 1, "and the profile and sessions")
    if s.get("tipped"):
        expect(len(js["tips"]) == 1 and js["tips"][0]["amount"] == s["tipped"], "and the tip")
    st, _, _ = api.call("DELETE", "/api/v1/me", token=s["bob_token"])
    expect(st == 204, "DELETE /api/v1/me erases the account")
    st, _, _ = api.call("GET", "/api/v1/me/export", token=s["bob_token"])
    expect(st == 401, "the erased account's session is gone")
    st, _, _ = api.call("GET", f"/api/v1/users/{s['bob']}", token=s["admin_token"])
    expect(st == 404, "the erased user is gone")


def suspend(api, state_path):
    s = json.load(open(state_path))
    st, js, _ = api.call("POST", f"/api/v1/channels/{s['channel']}/suspend", {"suspended": True}, token=s["admin_token"])
    expect(st == 200 and js["suspended"] is True, f"admin suspends the channel (kick sent: {js['kicked']})")
    st, _, _ = api.call("POST", f"/api/v1/channels/{s['channel']}/key", token=s["alice_token"])
    expect(st == 409, "a suspended channel's key cannot be rotated")
    st, _, _ = api.call("GET", f"/api/v1/channels/{s['channel']}")
    expect(st == 404, "a suspended channel is hidden from the public")


def rotate(api, state_path):
    s = json.load(open(state_path))
    st, js, _ = api.call("POST", f"/api/v1/channels/{s['channel']}/key", token=s["alice_token"])
    expect(st == 200 and js["key"] != s["key1"], "creator rotates the key (a new one, shown once)")
    s["key2"] = js["key"]
    json.dump(s, open(state_path, "w"))


def health(api, state_path):
    s = json.load(open(state_path))
    for _ in range(30):
        st, js, _ = api.call("GET", f"/api/v1/channels/{s['channel']}/health", token=s["alice_token"])
        if js.get("ingest"):
            break
        time.sleep(0.1)
    expect(st == 200 and isinstance(js.get("ingest"), dict),
           f"channel health carries lsp-ingest's NATS report while live ({sorted(js['ingest'])[:4]}...)")


def recordings(api, state_path):
    s = json.load(open(state_path))
    st, js, _ = api.call("GET", f"/api/v1/channels/{s['channel']}/recordings", token=s["alice_token"])
    expect(st == 200 and len(js["recordings"]) == 1 and js["recordings"][0]["state"] == "done" and
           js["recordings"][0]["duration"] > 0, f"creator lists the recording lsp-record made ({js['recordings'][0]['duration']} s)")
    st, _, _ = api.call("GET", f"/api/v1/channels/{s['channel']}/recordings", token=s["admin_token"])
    expect(st == 200, "an admin lists it too")


if __name__ == "__main__":
    base, cmd = sys.argv[1], sys.argv[2]
    api = Api(base)
    try:
        if cmd == "matrix":
            matrix(api, sys.argv[3], sys.argv[4:])
        elif cmd == "scenario":
            scenario(api, sys.argv[3], sys.argv[4:], None)
        elif cmd == "dsar":
            dsar(api, sys.argv[3])
        elif cmd == "rotate":
            rotate(api, sys.argv[3])
        elif cmd == "health":
            health(api, sys.argv[3])
        elif cmd == "recordings":
            recordings(api, sys.argv[3])
        elif cmd == "suspend":
            suspend(api, sys.argv[3])
        else:
            raise SystemExit("unknown command " + cmd)
    except Fail as e:
        print("FAIL:", e, file=sys.stderr)
        sys.exit(1)
    print(f"({api.calls} HTTP calls, every answer checked against docs/openapi.json)")
