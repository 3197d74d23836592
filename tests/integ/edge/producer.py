#!/usr/bin/env python3
"""producer.py ROOT LOG — a fake LL-HLS packager for tests/integ/edge.sh.

Publishes channel "demo", rung "720p" under ROOT the way lsp-package does
(write a temp name, rename into place): a 0.2 s part every 0.2 s, five
parts to a 1 s segment, a six-segment window, a preload hint for the next
part.  After each playlist rename it appends "MSN PART UNIXTIME" to LOG
naming the part just published."""
import os
import sys
import time

root, log = sys.argv[1], sys.argv[2]
d = os.path.join(root, "demo", "720p")
os.makedirs(d, exist_ok=True)


def put(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


put(os.path.join(d, "init.mp4"), os.urandom(700))
put(os.path.join(root, "demo", "master.m3u8"),
    b"#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=1280x720\n720p/index.m3u8\n")
segs, n, p, t = [], 0, 0, time.monotonic()
out = open(log, "a", buffering=1)
while True:
    put(os.path.join(d, "seg%d.%d.m4s" % (n, p)), os.urandom(3000 + p))
    pub = (n, p)
    p += 1
    if p == 5:
        parts = b"".join(open(os.path.join(d, "seg%d.%d.m4s" % (n, i)), "rb").read() for i in range(5))
        put(os.path.join(d, "seg%d.m4s" % n), parts)
        segs.append(n)
        n, p = n + 1, 0
    segs = segs[-6:]
    lines = ["#EXTM3U", "#EXT-X-VERSION:9", "#EXT-X-TARGETDURATION:1",
             "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6",
             "#EXT-X-PART-INF:PART-TARGET=0.2",
             "#EXT-X-MEDIA-SEQUENCE:%d" % (segs[0] if segs else n), '#EXT-X-MAP:URI="init.mp4"']
    for s in segs:
        if s >= n - 3:  # recent segments keep their parts listed
            lines += ['#EXT-X-PART:DURATION=0.2,URI="seg%d.%d.m4s"' % (s, i) for i in range(5)]
        lines += ["#EXTINF:1.0,", "seg%d.m4s" % s]
    for i in range(p):
        lines.append('#EXT-X-PART:DURATION=0.2,URI="seg%d.%d.m4s"' % (n, i))
    lines.append('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg%d.%d.m4s"' % (n, p))
    put(os.path.join(d, "index.m3u8"), ("\n".join(lines) + "\n").encode())
    out.write("%d %d %.6f\n" % (pub[0], pub[1], time.time()))
    t += 0.2
    time.sleep(max(0.0, t - time.monotonic()))
