#!/usr/bin/env python3
"""s3order.py LOG PREFIX — check an s3srv.py request log for lsp-push:
every playlist body stored names only objects (parts, segments, init,
rung playlists) that had been stored before it (EXT-X-PRELOAD-HINT excepted:
it names a part that does not exist yet).  Prints counts as JSON; exit 1
with the first violation otherwise."""
import json, posixpath, re, sys

log, prefix = sys.argv[1], sys.argv[2].strip("/")
stored, checked, names, puts, deletes, ports, failed = set(), 0, 0, 0, 0, set(), 0
for line in open(log):
    r = json.loads(line)
    ports.add(r["port"])
    if r["status"] not in (200, 204):
        failed += 1
        continue
    if r["method"] == "DELETE":
        deletes += 1
        stored.discard(r["key"])
        continue
    if r["method"] != "PUT":
        continue
    puts += 1
    key = r["key"]
    if key.endswith(".m3u8"):
        base = posixpath.dirname(key)
        uris = []
        for l in r["body"].splitlines():
            if l.startswith("#EXT-X-PRELOAD-HINT"):
                continue
            if l.startswith("#"):
                uris += re.findall(r'URI="([^"]+)"', l)
            elif l.strip():
                uris.append(l.strip())
        for u in uris:
            k = posixpath.normpath(posixpath.join(base, u.split("?")[0]))
            names += 1
            if k not in stored:
                print("VIOLATION: %s (stored at %s) names %s, not stored before it" % (key, r["t"], k))
                sys.exit(1)
        checked += 1
    stored.add(key)
print(json.dumps({"playlists_checked": checked, "names_checked": names, "puts": puts, "deletes": deletes,
                  "failed_answers": failed, "connections": len(ports)}))
