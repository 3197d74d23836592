#!/usr/bin/env python3
"""edge-fanout.py PORT PUBLOG N [IDLE] — fan-out of one LL-HLS part to many
held viewers.  Opens IDLE idle connections, then N connections that each ask
lsp-edge (127.0.0.1:PORT) for the next part of demo/720p with a blocking
playlist reload, and reports how long after the part's publish time (from
tests/integ/edge/producer.py's log PUBLOG) the first, median and last answer
arrived.  Prints one JSON line."""
import json
import re
import selectors
import socket
import sys
import time
import urllib.request

port, publog, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
idle_n = int(sys.argv[4]) if len(sys.argv) > 4 else 0
base = "http://127.0.0.1:%d/hls/demo/720p/index.m3u8" % port
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle_n)]
pl = urllib.request.urlopen(base).read().decode()
s = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", pl).group(1))
c, p = 0, 0
for line in pl.splitlines():
    if line.startswith("#EXTINF"):
        c, p = c + 1, 0
    elif line.startswith("#EXT-X-PART:"):
        p += 1
msn, part = s + c + 1, 0  # first part of the next segment: 0.2-1 s away, all must wait
req = ("GET /hls/demo/720p/index.m3u8?_HLS_msn=%d&_HLS_part=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (msn, part)).encode()
sel = selectors.DefaultSelector()
for _ in range(n):
    k = socket.create_connection(("127.0.0.1", port))
    k.sendall(req)
    k.setblocking(False)
    sel.register(k, selectors.EVENT_READ)
done = []
deadline = time.time() + 10
while len(done) < n and time.time() < deadline:
    for key, _ in sel.select(timeout=1):
        data = key.fileobj.recv(65536)
        if data.startswith(b"HTTP/1.1 200") or not data:
            done.append(time.time())
            sel.unregister(key.fileobj)
            key.fileobj.close()
time.sleep(0.3)
tpub = None
for line in open(publog):
    a = line.split()
    if int(a[0]) == msn and int(a[1]) == part:
        tpub = float(a[2])
done.sort()
lat = [round((t - tpub) * 1000, 1) for t in done] if tpub else []
print(json.dumps({"viewers": n, "idle": idle_n, "answered": len(done), "part": "%d.%d" % (msn, part),
                  "after_publish_ms": {"first": lat[0], "median": lat[len(lat) // 2], "last": lat[-1]} if lat else None}))
