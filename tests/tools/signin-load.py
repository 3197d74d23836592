#!/usr/bin/env python3
"""signin-load.py PORT USER PASSWORD N — N sign-ins at once on N connections
to lsp-api at 127.0.0.1:PORT, and while they run, GET /api/v1/health.

Prints one JSON line: the statuses of the sign-ins (count by code), whether
every 503 carried Retry-After, the health answer's time in ms, and the time
the last sign-in finished (ms from the start).  Exit 0; the test judges."""
import http.client
import json
import sys
import threading
import time

port, user, pw, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
body = json.dumps({"name": user, "password": pw})
codes, retry_ok, ends = {}, [True], []
lock = threading.Lock()
ready = threading.Barrier(n + 1)
t0 = [0.0]


def signin():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=240)
    c.connect()
    ready.wait()
    c.request("POST", "/api/v1/signin", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    with lock:
        codes[r.status] = codes.get(r.status, 0) + 1
        if r.status == 503 and not r.getheader("Retry-After"):
            retry_ok[0] = False
        ends.append(time.monotonic())
    c.close()


hc = http.client.HTTPConnection("127.0.0.1", port, timeout=240)
hc.connect()
th = [threading.Thread(target=signin) for _ in range(n)]
for t in th:
    t.start()
ready.wait()
t0[0] = time.monotonic()
# let the sign-ins reach the server first: health goes behind them
while True:
    with lock:
        if ends or time.monotonic() - t0[0] > 0.05:
            break
    time.sleep(0.005)
h0 = time.monotonic()
hc.request("GET", "/api/v1/health")
hr = hc.getresponse()
hr.read()
h1 = time.monotonic()
for t in th:
    t.join()
print(json.dumps({
    "codes": {str(k): v for k, v in sorted(codes.items())},
    "retry_after": retry_ok[0],
    "health_status": hr.status,
    "health_ms": round((h1 - h0) * 1000, 1),
    "health_done_ms": round((h1 - t0[0]) * 1000, 1),
    "finished_before_health": sum(1 for e in ends if e <= h1),
    "last_signin_ms": round((max(ends) - t0[0]) * 1000, 1),
}))
