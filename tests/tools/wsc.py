"""wsc.py — a small WebSocket (RFC 6455) client for lsp-chat tests.

Standard library only.  WS(url) connects and does the opening handshake
(checking Sec-WebSocket-Accept); send(obj) sends JSON as a masked text
frame; recv(timeout) returns the next JSON message (dict), or raises
Closed(code, reason) when the server closes; raw(bytes) writes bytes as
they are, for malformed-frame tests; until(pred, timeout) skips messages
until pred(msg) is true (past=True also matches messages already seen).
"""
import base64, hashlib, json, os, socket, struct, time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Closed(Exception):
    def __init__(self, code, reason=""):
        super().__init__(f"closed {code} {reason}")
        self.code, self.reason = code, reason


class Timeout(Exception):
    pass


def frame(opcode, payload, fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        h = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        h = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return h + payload
    k = os.urandom(4)
    return h + k + bytes(c ^ k[i & 3] for i, c in enumerate(payload))


class WS:
    def __init__(self, url, timeout=5.0):
        tls = url.startswith("wss://")   # wss: any certificate (test servers are self-signed)
        assert tls or url.startswith("ws://")
        hostport, _, path = url[6 if tls else 5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or (443 if tls else 80))), timeout=timeout)
        if tls:
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        self.buf = b""
        self.seen = []   # every JSON message received, in order
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(4096)
            if not d:
                raise Closed(1006, "eof in handshake")
            self.buf += d
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        if self.status != 101:
            raise Closed(1006, "http %d" % self.status)
        want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        assert hdr.get("sec-websocket-accept") == want, "bad accept"

    def raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        self.raw(frame(1, json.dumps(obj).encode()))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.time()
            if left <= 0:
                raise Timeout()
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                raise Timeout()
            except ConnectionResetError:
                raise Closed(1006, "reset")
            if not d:
                raise Closed(1006, "eof")
            self.buf += d

    def frame(self, timeout=5.0):
        """Next frame as (opcode, payload)."""
        deadline = time.time() + timeout
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n, deadline)
        p, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return b0 & 0x0F, p

    def recv(self, timeout=5.0):
        deadline = time.time() + timeout
        while True:
            op, p = self.frame(max(0.01, deadline - time.time()))
            if op == 1:
                m = json.loads(p)
                self.seen.append(m)
                return m
            if op == 8:
                code = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 1005
                raise Closed(code, p[2:].decode(errors="replace"))
            if op == 9:
                self.raw(frame(10, p))

    def until(self, pred, timeout=5.0, past=False):
        """Skip messages until pred(msg); with past, first look at those seen."""
        if past:
            for m in self.seen:
                if pred(m):
                    return m
        deadline = time.time() + timeout
        while True:
            m = self.recv(max(0.01, deadline - time.time()))
            if pred(m):
                return m

    def close(self):
        try:
            self.raw(frame(8, struct.pack("!H", 1000)))
            self.sock.close()
        except OSError:
            pass
