#!/usr/bin/env python3
"""coalesce.py EDGE_URL CHANNEL N — N concurrent viewers of one part that
does not exist yet, through one relay edge (tests/integ/cluster.sh).

Reads the channel's first rung, makes a blocking playlist request
(_HLS_msn/_HLS_part) for the part the playlist hints at, so that the new
preload hint names a part the origin has only just started; then N threads
GET that part at once.  The edge's relay counters are read just before and
just after.  Prints one line of JSON:
  {"part", "n", "codes", "same", "bytes", "upstream", "coalesced", "hits"}
where same is true when every viewer got the same non-empty bytes and the
last three are counter deltas (lsp_edge_relay_*_total)."""
import json, re, sys, threading, urllib.request

edge, ch, n = sys.argv[1], sys.argv[2], int(sys.argv[3])


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def metrics():
    _, body = get(edge + "/metrics")
    out = {}
    for line in body.decode().splitlines():
        f = line.split()
        if len(f) == 2 and f[0].startswith("lsp_edge_relay_"):
            out[f[0]] = int(f[1])
    return out


def hint(pl):
    m = re.search(r'^#EXT-X-PRELOAD-HINT:.*URI="seg(\d+)\.(\d+)\.m4s"', pl, re.M)
    if not m:
        raise SystemExit("no part preload hint in:\n" + pl)
    return int(m.group(1)), int(m.group(2))


base = edge + "/hls/" + ch + "/"
master = get(base + "master.m3u8")[1].decode()
rung = [l for l in master.splitlines() if l and not l.startswith("#")][0]
d = base + rung.rsplit("/", 1)[0] + "/"
msn, part = hint(get(base + rung)[1].decode())
# returns as soon as that part exists: the next hint is fresh
msn, part = hint(get("%s?_HLS_msn=%d&_HLS_part=%d" % (base + rung, msn, part))[1].decode())
name = "seg%d.%d.m4s" % (msn, part)

m0 = metrics()
go = threading.Barrier(n)
res = [None] * n


def viewer(i):
    go.wait()
    try:
        res[i] = get(d + name)
    except Exception as e:  # noqa: BLE001 — reported, not raised
        res[i] = (str(e)[:60], b"")


ts = [threading.Thread(target=viewer, args=(i,)) for i in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
m1 = metrics()
delta = lambda k: m1.get("lsp_edge_relay_%s_total" % k, 0) - m0.get("lsp_edge_relay_%s_total" % k, 0)
print(json.dumps({
    "part": name, "n": n, "codes": sorted(set(str(r[0]) for r in res)),
    "same": len(set(r[1] for r in res)) == 1 and len(res[0][1]) > 0, "bytes": len(res[0][1]),
    "upstream": delta("upstream"), "coalesced": delta("coalesced"), "hits": delta("hits"),
}))
