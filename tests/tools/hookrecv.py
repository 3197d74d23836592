#!/usr/bin/env python3
"""hookrecv.py — a webhook receiver for the tests: records every POST
(headers and body, one JSON object a line) and answers as a mode file
says, re-read on each request so a test can change it while it runs.

  hookrecv.py PORTFILE LOGFILE MODEFILE [PORT]

PORTFILE gets the port bound (PORT, or a free one).  Each line of MODEFILE
is "EVENT ACTION" (EVENT "*" matches any); the first match wins, none
means 200.  ACTION: 200, 403, 500 (any status), or sleepN (sleep N
seconds, then 200).  The answer's body is "<status> mode <action>".

  hookrecv.py --verify SECRET LOGFILE [TOLERANCE]

checks every recorded request's X-LSP-Signature (t=…,v1=HMAC-SHA256 of
"<t>." + body), that X-LSP-Event names the body's event and that t is
within TOLERANCE s (default 300) of when it arrived; prints the count."""
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret, logfile, tol=300):
    n = 0
    for line in open(logfile):
        r = json.loads(line)
        h = {k.lower(): v for k, v in r["headers"].items()}
        sig = h["x-lsp-signature"]
        parts = dict(p.split("=", 1) for p in sig.split(","))
        t = int(parts["t"])
        mac = hmac.new(secret.encode(), str(t).encode() + b"." + r["body"].encode(), hashlib.sha256).hexdigest()
        assert hmac.compare_digest(mac, parts["v1"]), ("bad signature", r)
        assert abs(r["arrived"] - t) <= tol, ("stale t", r)
        body = json.loads(r["body"])
        assert body["event"] == h["x-lsp-event"], r
        assert h["content-type"] == "application/json", r
        assert len(h["x-lsp-delivery"]) == 32, r
        n += 1
    print(n)


def main():
    if sys.argv[1] == "--verify":
        verify(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 300)
        return
    portfile, logfile, modefile = sys.argv[1:4]
    port = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode()
            try:
                event = json.loads(body).get("event", "")
            except ValueError:
                event = ""
            action = "200"
            try:
                for line in open(modefile):
                    f = line.split()
                    if len(f) == 2 and f[0] in ("*", event):
                        action = f[1]
                        break
            except OSError:
                pass
            rec = {"arrived": time.time(), "path": self.path, "headers": dict(self.headers.items()),
                   "body": body, "action": action}
            with lock, open(logfile, "a") as f:
                f.write(json.dumps(rec) + "\n")
            status = 200
            if action.startswith("sleep"):
                time.sleep(float(action[5:]))
            else:
                status = int(action)
            out = ("%d mode %s\n" % (status, action)).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            except OSError:
                pass  # the client gave up (a timeout): fine

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", port), H)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
