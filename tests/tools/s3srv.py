#!/usr/bin/env python3
"""s3srv.py — a small S3-compatible HTTP server for lsp tests.

Real HTTP/1.1 (keep-alive) on a real socket; objects stored on disk under
ROOT/BUCKET/KEY; PUT, GET, HEAD, DELETE of objects; path-style
(/bucket/key) and virtual-host style (Host: bucket.localhost:PORT).

Every object request must carry a valid AWS Signature Version 4
Authorization header.  The verification below is written independently of
lib/push/sigv4.c, from the published algorithm, with Python's hmac/hashlib; it
checks the payload hash against the body and the time stamp against the
clock (15 minutes).  `--selftest` checks it against the published examples.

Faults for tests: GET /_ctl?fail=N&code=C&slow=S makes the next N object
requests answer C (default 500) and delays every object request by S
seconds (both apply until changed).  Each request is logged as one JSON line
(--log): t, method, key, status, peer port, bytes, error code, and the
body of each playlist stored (so a test can check what it named).
"""
import argparse, datetime, hashlib, hmac, json, os, sys, threading, time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EMPTY = hashlib.sha256(b"").hexdigest()


def q(s, safe):
    return urllib.parse.quote(s, safe=safe)


def canonical(method, raw_path, raw_query, headers, signed, payload_hash):
    path = q(urllib.parse.unquote(raw_path), "/-_.~")
    pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
    query = "&".join("%s=%s" % (q(k, "-_.~"), q(v, "-_.~")) for k, v in sorted(pairs))
    hl = ""
    for name in signed:
        vals = [" ".join(v.split()) for (k, v) in headers if k.lower() == name]
        hl += "%s:%s\n" % (name, ",".join(vals))
    return "\n".join([method, path, query, hl, ";".join(signed), payload_hash])


def signature(secret, amzdate, region, service, canon):
    scope = "%s/%s/%s/aws4_request" % (amzdate[:8], region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(canon.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (amzdate[:8], region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


def selftest():
    c = canonical("GET", "/", "", [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
                  ["host", "x-amz-date"], EMPTY)
    s = signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830T123600Z", "us-east-1", "service", c)
    assert s == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", s
    h = [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", EMPTY),
         ("x-amz-date", "20130524T000000Z")]
    c = canonical("GET", "/test.txt", "", h, ["host", "range", "x-amz-content-sha256", "x-amz-date"], EMPTY)
    s = signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524T000000Z", "us-east-1", "s3", c)
    assert s == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", s
    print("selftest ok")


class State:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.fail = 0
        self.code = 500
        self.slow = 0.0
        self.log = open(a.log, "a", buffering=1) if a.log else None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="application/xml", errcode=""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", ctype)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, msg):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>"
                % (code, msg)).encode()
        self.reply(status, body)
        return code

    def record(self, key, status, n, err="", body=None):
        st = self.server.st
        if st.log:
            r = {"t": round(time.time(), 4), "method": self.command, "key": key, "status": status,
                 "port": self.client_address[1], "bytes": n, "err": err}
            if body is not None:
                r["body"] = body.decode("utf-8", "replace")
            with st.lock:
                st.log.write(json.dumps(r) + "\n")

    def verify(self, body):
        a = self.server.st.a
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return self.error(403, "AccessDenied", "SigV4 Authorization header required")
        f = {}
        for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = part.strip().partition("=")
            f[k] = v
        try:
            ak, date8, region, service, term = f["Credential"].split("/")
            signed = f["SignedHeaders"].split(";")
            sig = f["Signature"]
        except (KeyError, ValueError):
            return self.error(400, "AuthorizationHeaderMalformed", "malformed Authorization")
        if ak != a.access:
            return self.error(403, "InvalidAccessKeyId", "unknown access key")
        if region != a.region or service != "s3" or term != "aws4_request":
            return self.error(400, "AuthorizationHeaderMalformed", "bad scope")
        amz = self.headers.get("x-amz-date", "")
        try:
            t = datetime.datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return self.error(403, "AccessDenied", "bad x-amz-date")
        if abs(t.timestamp() - time.time()) > 900 or amz[:8] != date8:
            return self.error(403, "RequestTimeTooSkewed", "time stamp too far from now")
        if "host" not in signed or "x-amz-date" not in signed:
            return self.error(403, "AccessDenied", "host and x-amz-date must be signed")
        ph = self.headers.get("x-amz-content-sha256", "")
        if ph != "UNSIGNED-PAYLOAD" and ph != hashlib.sha256(body).hexdigest():
            return self.error(400, "XAmzContentSHA256Mismatch", "payload hash does not match the body")
        raw_path, _, raw_query = self.path.partition("?")
        canon = canonical(self.command, raw_path, raw_query, list(self.headers.items()), signed, ph)
        want = signature(a.secret, amz, region, "s3", canon)
        if not hmac.compare_digest(want, sig):
            return self.error(403, "SignatureDoesNotMatch", "signature does not match")
        return None

    def locate(self):
        raw_path = urllib.parse.unquote(self.path.partition("?")[0])
        host = self.headers.get("Host", "").rsplit(":", 1)[0]
        if host.endswith(".localhost"):
            bucket, key = host[: -len(".localhost")], raw_path.lstrip("/")
        else:
            bucket, _, key = raw_path.lstrip("/").partition("/")
        if not bucket or not key or ".." in key.split("/") or bucket.startswith("."):
            return None, None
        return bucket, key

    def handle_obj(self):
        st = self.server.st
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path.startswith("/_ctl"):
            qs = dict(urllib.parse.parse_qsl(self.path.partition("?")[2]))
            with st.lock:
                st.fail = int(qs.get("fail", st.fail))
                st.code = int(qs.get("code", st.code))
                st.slow = float(qs.get("slow", st.slow))
            return self.reply(200, b"ok\n", "text/plain")
        bucket, key = self.locate()
        if st.slow:
            time.sleep(st.slow)
        with st.lock:
            inject = st.fail > 0
            if inject:
                st.fail -= 1
            code = st.code
        if inject:
            self.record(key, code, n, "injected")
            return self.error(code, "InternalError" if code >= 500 else "Injected", "injected fault")
        err = self.verify(body)
        if err:
            self.record(key, 0, n, err)
            return
        if bucket is None:
            self.record(key, 400, n, "InvalidURI")
            return self.error(400, "InvalidURI", "no bucket or key")
        path = os.path.join(st.a.root, bucket, key)
        if self.command == "PUT":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".part"
            with open(tmp, "wb") as f:
                f.write(body)
            os.replace(tmp, path)
            with open(path + ".meta", "w") as f:
                json.dump({"content-type": self.headers.get("Content-Type", ""),
                           "cache-control": self.headers.get("Cache-Control", "")}, f)
            self.record(key, 200, n, body=body if key.endswith(".m3u8") else None)
            return self.reply(200)
        if self.command == "DELETE":
            for p in (path, path + ".meta"):
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass
            self.record(key, 204, 0)
            return self.reply(204)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except (FileNotFoundError, IsADirectoryError):
            self.record(key, 404, 0, "NoSuchKey")
            return self.error(404, "NoSuchKey", "no such key")
        self.record(key, 200, len(data))
        return self.reply(200, data, "application/octet-stream")

    do_PUT = do_GET = do_HEAD = do_DELETE = handle_obj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--root", default=".")
    ap.add_argument("--log")
    ap.add_argument("--access", default="AKIDLSPTEST")
    ap.add_argument("--secret", default="lsp-test-secret")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    if a.selftest:
        return selftest()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    srv.daemon_threads = True
    srv.st = State(a)
    print("listening %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
