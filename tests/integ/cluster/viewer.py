#!/usr/bin/env python3
"""viewer.py LOG CHANNEL SECONDS EDGE_URL [EDGE_URL...] — one bounded LL-HLS
viewer for tests/integ/cluster.sh.  Polls the first rung's media playlist
and fetches each new part; logs one line per event with a wall time in ms:
  <ms> ok <edge> <part-uri>     a new part arrived (fresh media)
  <ms> err <edge> <reason>      a request failed
  <ms> switch <edge>            moved to the next edge after 2 failures
Stops after SECONDS."""
import sys, time, urllib.request, urllib.error

log, ch, secs, edges = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
out = open(log, "a", buffering=1)
now = lambda: int(time.time() * 1000)
def get(url):
    with urllib.request.urlopen(url, timeout=2) as r:
        return r.read()

i, fails, last, end = 0, 0, None, time.time() + secs
while time.time() < end:
    base = edges[i] + "/hls/" + ch + "/"
    try:
        master = get(base + "master.m3u8").decode()
        rung = [l for l in master.splitlines() if l and not l.startswith("#")][0]
        d = base + rung.rsplit("/", 1)[0] + "/"
        pl = get(base + rung).decode()
        parts = [l.split('URI="')[1].split('"')[0] for l in pl.splitlines() if l.startswith("#EXT-X-PART:")]
        seq = [l for l in pl.splitlines() if l.startswith("#EXT-X-MEDIA-SEQUENCE:")]
        if parts:
            key = (seq[0] if seq else "") + parts[-1]
            if key != last:
                body = get(d + parts[-1])
                if body:
                    out.write("%d ok %s %s\n" % (now(), edges[i], parts[-1]))
                    last = key
        fails = 0
    except (urllib.error.URLError, OSError, IndexError, ValueError) as e:
        out.write("%d err %s %s\n" % (now(), edges[i], str(e).replace("\n", " ")[:80]))
        fails += 1
        if fails >= 2 and len(edges) > 1:
            i = (i + 1) % len(edges)
            fails = 0
            out.write("%d switch %s\n" % (now(), edges[i]))
    time.sleep(0.1)
