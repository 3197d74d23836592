#!/usr/bin/env python3
# avsync.py FILE — per-stream first presentation time and end (pts + duration)
# of the video and audio packets ffprobe reads from FILE (a playlist or a
# media file), as one JSON line with the start and end A/V offsets in ms.
import json, subprocess, sys
f = sys.argv[1]
out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts_time,duration_time:stream=index,codec_type",
                      "-of", "json", f], capture_output=True, text=True, check=True).stdout
d = json.loads(out)
kind = {s["index"]: s["codec_type"] for s in d["streams"]}
st = {}
for p in d["packets"]:
    k = kind[p["stream_index"]]
    t = float(p["pts_time"]); du = float(p.get("duration_time") or 0)
    a = st.setdefault(k, [1e18, -1e18, 0])
    a[0] = min(a[0], t); a[1] = max(a[1], t + du); a[2] += 1
v, a = st["video"], st["audio"]
print(json.dumps({"v_start": round(v[0], 4), "v_end": round(v[1], 4), "a_start": round(a[0], 4), "a_end": round(a[1], 4),
                  "v_frames": v[2], "a_frames": a[2], "duration": round(max(v[1], a[1]) - min(v[0], a[0]), 4),
                  "start_drift_ms": round(abs(a[0] - v[0]) * 1000, 1), "end_drift_ms": round(abs(a[1] - v[1]) * 1000, 1)}))
