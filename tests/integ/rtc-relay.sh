#!/usr/bin/env bash
# lsp-rtc relay: ffmpeg → lsp-ring → ring → origin lsp-rtc ──GET /relay/demo──▶
# edge lsp-rtc --origin http://origin → two WHEP viewers in headless Chromium.
# Both play (1 upstream connection for 2 viewers, at the origin and the
# edge); the origin's feed is killed and restarted (a new ring generation)
# and the viewers recover; then the origin lsp-rtc itself is killed and
# restarted, the edge reconnects and the viewers recover again (recovery
# times printed).  An edge with --origin auto finds the origin through NATS
# announcements.  An edge whose origin sends garbage stays up and answers
# its viewers 502.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need node; need python3
need_browser
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"
H1=$(free_port); U1=$(free_port); H2=$(free_port); U2=$(free_port); M=$(free_port)
now_ms() { date +%s%3N; }

feed() { # the origin's pipeline: encoder → lsp-ring; sets FEED to both pids
	rm -f "$T/ts"; mkfifo "$T/ts"
	bg ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
		-f lavfi -i sine=frequency=440:sample_rate=48000 -t 60 -c:v libx264 -preset ultrafast \
		-tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k -f mpegts -y "$T/ts" 2>>"$T/ffmpeg.log"
	local f=$!
	bg bash -c 'exec "$1" --channel demo --no-pass <"$2"' - "$BIN/lsp-ring" "$T/ts" 2>>"$T/ring.log"
	FEED="$f $!"
}
origin() {
	bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$H1" --udp "127.0.0.1:$U1" --candidate 127.0.0.1 2>>"$T/origin.log"
	ORIGIN=$!
	wait_port "$H1" 5 || { cat "$T/origin.log"; fail "origin lsp-rtc did not listen"; }
}
feed
origin
bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$H2" --udp "127.0.0.1:$U2" --candidate 127.0.0.1 \
	--origin "http://127.0.0.1:$H1" --metrics "127.0.0.1:$M" 2>"$T/edge.log"
EDGE=$!
wait_port "$H2" 5 || { cat "$T/edge.log"; fail "edge lsp-rtc did not listen"; }
wait_file "$LSP_RING_DIR/lsp-ring-demo" 5 || { cat "$T/ring.log"; fail "no ring"; }
sleep 0.5

# an unknown channel: the edge asks its origin, which says 404, and so does the edge
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/sdp' --data-binary 'v=0' \
	"http://127.0.0.1:$H2/whep/nosuch")
[ "$code" = 404 ] || fail "unknown channel on the edge answered $code"
ok "unknown channel: 404 from the edge"

# two viewers on the edge for 24 s; meanwhile the feed and then the origin restart
(cd "$B" && exec timeout 60 node whepwatch.mjs "http://127.0.0.1:$H2/whep/demo" --viewers 2 --seconds 24) \
	>"$T/watch.json" 2>"$T/watch.err" &
W=$!; _pids+=($W)
wait_grep '^playing' "$T/watch.err" 20 || { cat "$T/watch.err"; tail -n 20 "$T/edge.log"; fail "edge viewers did not play"; }
t_play=$(now_ms)
ok "two Chromium viewers play from the edge"
sleep 3
for p in $FEED; do kill -9 "$p" 2>/dev/null; { wait "$p"; } 2>/dev/null; done
t_kill=$(now_ms)
sleep 1.5
feed
t_feed=$(now_ms)
for _ in $(seq 100); do
	[ "$(grep -c '"event":"origin generation"' "$T/edge.log")" -ge 2 ] && break; sleep 0.1
done
[ "$(grep -c '"event":"origin generation"' "$T/edge.log")" -ge 2 ] ||
	{ tail -n 20 "$T/edge.log"; fail "edge did not see the new generation"; }
sleep 5
kill "$ORIGIN"
t_okill=$(now_ms)
sleep 0.5
origin
t_origin=$(now_ms)
wait "$W"; rc=$?
[ $rc -eq 0 ] || { cat "$T/watch.err" "$T/watch.json"; tail -n 30 "$T/edge.log"; fail "viewers failed (rc=$rc)"; }
python3 - "$T/watch.json" "$t_play" "$t_kill" "$t_feed" "$t_okill" "$t_origin" <<'PY' || fail "viewers did not recover: $(head -c 600 "$T/watch.json")"
import json, sys
d = json.load(open(sys.argv[1]))
t_play, t_kill, t_feed, t_okill, t_origin = map(int, sys.argv[2:])
def frames_at(s, t):  # frames decoded by time t
    n = 0
    for ts, f in s:
        if ts <= t: n = f
    return n
def resumed(s, t0, t1):  # first time after t0 (and after the stall) when frames advance
    stall = frames_at(s, t0)
    for ts, f in s:
        if ts > t0 and f > stall + 2:   # a few frames: not stragglers of the old stream
            return ts
    return None
for i, v in enumerate(d["viewers"]):
    s = v["samples"]
    assert v["width"] == 640 and v["height"] == 360, v
    assert frames_at(s, t_kill) - frames_at(s, t_play) >= 45, ("no playback before the kill", i)
    r1 = resumed(s, t_feed, t_okill)
    assert r1 is not None and r1 < t_okill, ("no recovery after the feed restart", i)
    r2 = resumed(s, t_origin, None)
    assert r2 is not None, ("no recovery after the origin restart", i)
    assert s[-1][1] - frames_at(s, r2) >= 30, ("too few frames after the origin restart", i)
    print(f"viewer {i}: feed killed, restarted 1.5 s later → frames again {r1 - t_feed} ms after the restart; "
          f"origin lsp-rtc killed, restarted 0.5 s later → frames again {r2 - t_okill} ms after the kill; "
          f"{s[-1][1]} frames in all")
PY
ok "edge viewers recovered from a feed restart and an origin restart"

# one upstream connection per channel however many viewers: the edge made
# two in all (before and after the origin restart), each serving both viewers
st=$(curl -s "http://127.0.0.1:$H2/stats")
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
c = [c for c in d["channels"] if c["name"] == "demo"][0]
o = c["origin"]
assert o["connects"] == 2 and o["reconnects"] == 1, o
assert o["restarts"] >= 2 and o["gaps"] >= 0, o' "$st" || fail "edge upstream counts: $st"
n=$(grep -c '"event":"relay client connected"' "$T/origin.log")
[ "$n" = 2 ] || fail "origin saw $n relay connections, want 1 per origin run (2)"
n=$(grep -c '"event":"play offer"' "$T/origin.log")
[ "$n" = 0 ] || fail "viewers reached the origin directly"
mx=$(curl -s "http://127.0.0.1:$M/metrics")
echo "$mx" | grep -q '^lsp_rtc_relay_connects_total{channel="demo"} 2$' || fail "metrics: $(echo "$mx" | grep relay)"
echo "$mx" | grep -q '^lsp_rtc_relay_reconnects_total{channel="demo"} 1$' || fail "metrics: $(echo "$mx" | grep relay)"
echo "$mx" | grep -Eq '^lsp_rtc_relay_bytes_total\{channel="demo"\} [0-9.e+]+$' || fail "no relay bytes metric"
ok "2 viewers, 1 upstream connection per origin run (metrics: $(echo "$mx" | grep -E '^lsp_rtc_relay_(re)?connects' | tr '\n' ' '))"

# --origin auto: the channel's origin host from NATS (lsp.stream.demo.health,
# as lsp-ingest announces it), its lsp-rtc on --origin-port
start_nats
python3 - "${NATS_URL##*:}" "$H1" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(4096)
s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n')
p = b'{"channel":"demo","origin":"http://127.0.0.1:8080","viewers":0}'
for _ in range(240):
    s.sendall(b"PUB lsp.stream.demo.health %d\r\n%s\r\n" % (len(p), p))
    time.sleep(0.25)
PY
_pids+=($!)
H4=$(free_port); U4=$(free_port)
# two workers: each is exec'd and follows the origins over its own NATS
# connection (a forked one inherited the supervisor's NATS threads' locks)
LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-rtc" --workers 2 --http "127.0.0.1:$H4" --udp "127.0.0.1:$U4" --candidate 127.0.0.1 \
	--origin auto --origin-port "$H1" 2>"$T/edge-auto.log"
wait_port "$H4" 5 || { cat "$T/edge-auto.log"; fail "auto edge did not listen"; }
sleep 0.5
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/sdp' --data-binary 'v=0' \
	"http://127.0.0.1:$H4/whep/other")
[ "$code" = 404 ] || fail "auto edge: a channel nobody announces answered $code"
v=$(cd "$B" && timeout 40 node whep.mjs "http://127.0.0.1:$H4/whep/demo" --timeout 10 --frames 30 2>"$T/auto.err") ||
	{ cat "$T/auto.err"; tail -n 20 "$T/edge-auto.log"; fail "auto edge did not play: $v"; }
grep -q "\"event\":\"origin connected\".*\"url\":\"http://127.0.0.1:$H1\"" "$T/edge-auto.log" || fail "auto edge: wrong origin"
ok "--origin auto found the origin on the bus and plays: $(echo "$v" | grep -o '"framesDecoded":[0-9]*')"

# a malicious origin: right head, then garbage; the edge drops it, answers
# its viewers 502 and stays up
F=$(free_port); H3=$(free_port); U3=$(free_port)
python3 - "$F" <<'PY' &
import socket, struct, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
bodies = [b"LSPRLY01" + struct.pack(">BBHIQqq", 1, 0, 0, 0xffffffff, 0, 0, 0),      # huge payload
          b"LSPRLY01" + struct.pack(">BBHIQqq", 3, 0, 0, 0, 1, 0, 0) + b"\x01" * 4000,  # gen, then junk
          b"NOTRELAY" * 10,
          b"LSPRLY01" + struct.pack(">BBHIQqq", 3, 0, 0, 0, 1, 0, 0) +
          struct.pack(">BBHIQqq", 1, 1, 0, 4, 0, 2**62, 0) + b"\0\0\0\1"]              # absurd pts
i = 0
while i < 40:
    c, _ = s.accept()
    try:
        if c.recv(4096):  # not a port probe
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-lsp-relay\r\n\r\n" + bodies[i % len(bodies)])
            i += 1
    except OSError:
        pass
    c.close()
PY
_pids+=($!)
wait_port "$F" 5 || fail "fake origin did not listen"
LSP_LOG_LEVEL=debug bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$H3" --udp "127.0.0.1:$U3" --candidate 127.0.0.1 \
	--origin "http://127.0.0.1:$F" 2>"$T/edge-bad.log" # debug: failures after the first in a row

BAD=$!
wait_port "$H3" 5 || fail "third lsp-rtc did not listen"
for _ in 1 2 3; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/sdp' \
		--data-binary $'v=0\r\n' "http://127.0.0.1:$H3/whep/demo")
	[ "$code" = 502 ] || fail "edge with a garbage origin answered $code"
done
grep -q 'relay frame too large' "$T/edge-bad.log" || fail "huge frame not refused: $(tail -n 5 "$T/edge-bad.log")"
grep -q 'bad relay framing' "$T/edge-bad.log" || fail "bad framing not refused: $(tail -n 5 "$T/edge-bad.log")"
curl -sf "http://127.0.0.1:$H3/healthz" >/dev/null || fail "edge died on a garbage origin"
kill -0 "$BAD" || fail "edge with a garbage origin died"
ok "garbage from an origin: dropped, viewers told 502, edge up"

kill -0 "$EDGE" || fail "edge lsp-rtc died"
grep -q '"level":"fatal"' "$T/edge.log" "$T/origin.log" "$T/edge-bad.log" "$T/edge-auto.log" && fail "fatal log"
exit 0
