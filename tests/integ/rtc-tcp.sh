#!/usr/bin/env bash
# lsp-rtc over ICE-TCP (RFC 6544 passive candidate, RFC 4571 framing), for
# viewers whose UDP is blocked: headless Chromium plays channels over WHEP
# with every UDP candidate struck from the answer before
# setRemoteDescription (tests/browser/wheptcp.mjs), so STUN, DTLS, SRTP
# and RTCP can only run over the TCP stream.  With 1 worker and with 2
# (each worker its own TCP port, the one its answers carry: two channels
# land on both workers): frames decode and the picture advances, the
# selected pair is TCP, the log's "viewer connected" and /stats say
# transport tcp, the metrics count the connections and sessions.  Bad
# frames (a zero length, an oversized length, garbage) close that
# connection only — logged as one "ice-tcp closed" event, counted — while
# a viewer plays on; idle connections are capped (the oldest evicted) and
# closed after 10 s; lsp-rtc neither crashes nor stops serving.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need node; need python3
need_browser
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 300 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | '$BIN/lsp-ring' --channel demo | exec '$BIN/lsp-ring' --channel demo2 --no-pass" 2>"$T/ring.log"
wait_file "$LSP_RING_DIR/lsp-ring-demo" 15 && wait_file "$LSP_RING_DIR/lsp-ring-demo2" 15 ||
	{ cat "$T/ring.log"; fail "no rings"; }

# start lsp-rtc with N workers (UDP and TCP port 0: each picks its own)
start_rtc() { # workers log
	H=$(free_port); M=$(free_port)
	bg "$BIN/lsp-rtc" --workers "$1" --http "127.0.0.1:$H" --udp 127.0.0.1:0 --ice-tcp 0 --candidate 127.0.0.1 \
		--consent 6 --metrics "127.0.0.1:$M" 2>"$2"
	RTC=${_pids[-1]}
	wait_port "$H" 10 || { cat "$2"; fail "lsp-rtc did not listen"; }
	wait_grep '"event":"listening"' "$2" 10 || fail "no listening event: $(cat "$2")"
	if [ "$1" -gt 1 ]; then
		TCP=$(sed -n 's/.*"event":"listening".*"tcp_ports":"\([0-9,]*\)".*/\1/p' "$2")
		for _ in $(seq 100); do [ "$(grep -c '"event":"worker started"' "$2")" -ge "$1" ] && break; sleep 0.1; done
	else
		TCP=$(sed -n 's/.*"event":"listening".*"tcp":"[^"]*:\([0-9]*\)".*/\1/p' "$2")
	fi
	[ -n "$TCP" ] || fail "no ICE-TCP port in the listening event: $(grep listening "$2")"
}
play() { # channel out-file [hold-s [hold-until-file]]
	(cd "$B" && timeout 90 node wheptcp.mjs "http://127.0.0.1:$H/whep/$1" --timeout 60 --frames 30 \
		--hold "${3:-0}" ${4:+--hold-until "$4"} >"$2" 2>"$2.err")
}
check_play() { # out-file
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"], d
assert d["struck"] >= 1 and d["kept"] >= 1, d          # UDP struck, TCP left
assert d["remote"].startswith("tcp passive"), d
assert d["currentTime"][1] > d["currentTime"][0], d     # the picture advances' "$1" ||
		{ cat "$1" "$1.err"; tail -n 30 "$T/rtc$W.log"; fail "Chromium did not play over ICE-TCP ($W worker(s))"; }
}

# the default (TCP port = the UDP port number) on a busy TCP port: a
# warning, served without ICE-TCP; the same port asked for: a start-up error
P=$(free_port); H0=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); open(sys.argv[2], "w").write("up"); time.sleep(60)' \
	"$P" "$T/busy.up" & busy=$!
_pids+=("$busy")
wait_file "$T/busy.up" 10 || fail "could not hold a TCP port"
bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$H0" --udp "127.0.0.1:$P" --candidate 127.0.0.1 2>"$T/busy.log"
wait_grep '"event":"listening"' "$T/busy.log" 10 || fail "default ICE-TCP on a busy port stopped lsp-rtc: $(cat "$T/busy.log")"
grep -q '"level":"warn".*"event":"ice-tcp unavailable"' "$T/busy.log" || fail "no ice-tcp unavailable warning: $(cat "$T/busy.log")"
grep -q '"event":"listening".*"tcp":""' "$T/busy.log" || fail "listening event: $(grep listening "$T/busy.log")"
kill "${_pids[-1]}"
timeout 10 "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$(free_port)" --udp 127.0.0.1:0 --ice-tcp "$P" 2>"$T/busy2.log"
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'ice-tcp: unable to listen' "$T/busy2.log" ||
	fail "--ice-tcp on a busy port: rc=$rc $(cat "$T/busy2.log")"
kill "$busy"
ok "busy TCP port: the default warns and serves UDP only; --ice-tcp PORT fails to start (rc=$rc)"

# the answer carries a passive TCP candidate per address, below the UDP one
start_rtc 1 "$T/rtc1.log"
ans=$(python3 - "$H" <<'PY'
import sys, urllib.request
offer = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\n"
         "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
         "a=setup:actpass\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 H264/90000\r\n"
         "a=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n")
rq = urllib.request.Request("http://127.0.0.1:%s/whep/demo" % sys.argv[1], offer.encode(),
                            {"Content-Type": "application/sdp"})
print(urllib.request.urlopen(rq, timeout=10).read().decode())
PY
) || fail "WHEP offer failed"
python3 -c '
import sys
c = [l.split() for l in sys.argv[1].split("\r\n") if l.startswith("a=candidate:")]
u = [x for x in c if x[2] == "udp"]; t = [x for x in c if x[2] == "tcp"]
assert len(u) == 1 and len(t) == 1, c
assert t[0][5] == sys.argv[2] and t[0][-2:] == ["tcptype", "passive"], t
assert int(t[0][3]) < int(u[0][3]), c' "$ans" "$TCP" || fail "answer candidates: $ans"
ok "answer: passive TCP candidate on port $TCP, priority below UDP"

for W in 1 2; do
	[ "$W" = 2 ] && start_rtc 2 "$T/rtc2.log"
	log=$T/rtc$W.log
	if [ "$W" = 1 ]; then
		play demo "$T/p1.json"
		check_play "$T/p1.json"
	else
		# two channels at once: the second lands on the other worker (the
		# first plays on until the second has connected, however long a
		# loaded box takes to start its browser)
		play demo "$T/p2a.json" 0 "$T/second-connected" & pa=$!
		wait_grep '"event":"viewer connected"' "$log" 40 || { cat "$T/p2a.json.err"; fail "first viewer not connected"; }
		play demo2 "$T/p2b.json" || true
		touch "$T/second-connected"
		wait "$pa" || true
		check_play "$T/p2a.json"
		check_play "$T/p2b.json"
		ws=$(grep '"event":"viewer connected"' "$log" | sed -n 's/.*"worker":\([0-9]*\).*/\1/p' | sort -u | tr '\n' ' ')
		[ "$ws" = "0 1 " ] || fail "viewers not on both workers: '$ws' $(grep 'viewer connected' "$log")"
	fi
	n=$(grep '"event":"viewer connected"' "$log" | grep -c '"transport":"tcp"')
	[ "$n" -ge "$W" ] || fail "log does not say transport tcp: $(grep 'viewer connected' "$log")"
	wait_grep '"event":"ice-tcp closed".*"reason":"session gone"' "$log" 10 ||
		fail "the connection did not close with its session: $(grep ice-tcp "$log")"
	m=$(curl -s "http://127.0.0.1:$M/metrics")
	grep -Eq '^lsp_rtc_ice_tcp_sessions_total\{kind="viewer"\} '"$W"'$' <<<"$m" ||
		fail "metrics: $(grep ice_tcp <<<"$m")"
	grep -Eq '^lsp_rtc_ice_tcp_connections_total [1-9]' <<<"$m" || fail "metrics: $(grep ice_tcp <<<"$m")"
	st=$(curl -s "http://127.0.0.1:$H/stats")
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])["dropped"]
assert d["dtls"] == 0 and d["rtcp"] == 0 and d["srtp_auth"] == 0, d  # nothing torn on the stream' "$st" ||
		fail "DTLS/SRTCP over TCP dropped: $st"
gone=$(grep '"event":"viewer gone"' "$log" | grep -o '"nacks":[0-9]*,"rtx":[0-9]*,"plis":[0-9]*' | tr '\n' ' ')
	ok "$W worker(s): Chromium played over ICE-TCP only: $(cat "$T"/p$W*.json | tr '\n' ' ') RTCP: $gone"
done

# /stats lists a TCP session as such (2 workers: summed through the supervisor)
play demo "$T/p3.json" 32 & pv=$!
for _ in $(seq 300); do
	st=$(curl -s "http://127.0.0.1:$H/stats")
	grep -q '"state":"live"[^}]*"transport":"tcp"' <<<"$st" && break
	sleep 0.1
done
grep -q '"state":"live"[^}]*"transport":"tcp"' <<<"$st" || fail "/stats shows no live TCP session: $st"
ok "/stats: a live session with transport tcp"

# while that viewer plays: bad frames and idle sockets on both workers' TCP ports
python3 - "$TCP" "$T/bad.json" <<'PY'
import json, os, socket, sys, time
ports = [int(p) for p in sys.argv[1].split(",")]
res = {}
def closed(s, t=10):
    s.settimeout(t)
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
for i, port in enumerate(ports):
    for name, data in (("zero", b"\x00\x00"), ("oversized", b"\xff\xff" + os.urandom(64)),
                       ("garbage", b"\x10\x01" + os.urandom(4096 + 64))):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(data)
        res["%s%d" % (name, i)] = closed(s)
        s.close()
        time.sleep(1.1)  # each its own warning (one a second at most)
    # 100 idle connections: at most 64 held, the oldest evicted for new ones
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
    time.sleep(0.5)
    res["evicted%d" % i] = sum(closed(s, 0.05) for s in idle[:36])
    res["kept%d" % i] = sum(not closed(s, 0.05) for s in idle[36:])
    res["idle_closed%d" % i] = closed(idle[-1], 15)  # then closed, idle past 10 s
    for s in idle:
        s.close()
json.dump(res, open(sys.argv[2], "w"))
PY
[ $? -eq 0 ] || fail "bad-frame client failed"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
n = len(sys.argv[2].split(","))
for i in range(n):
    assert d["zero%d" % i] and d["oversized%d" % i] and d["garbage%d" % i], d
    assert d["evicted%d" % i] == 36 and d["kept%d" % i] == 64 and d["idle_closed%d" % i], d' "$T/bad.json" "$TCP" ||
	fail "bad frames / idle sockets: $(cat "$T/bad.json")"
wait "$pv"; check_play "$T/p3.json"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["framesDecoded"] >= 300, d' "$T/p3.json" ||
	fail "the viewer did not play on through the bad frames: $(cat "$T/p3.json")"
ok "bad frames and idle sockets closed, the viewer played on: $(cat "$T/bad.json")"
nb=$(grep '"event":"ice-tcp closed"' "$T/rtc2.log" | grep -c '"reason":"bad frame"')
[ "$nb" -ge 4 ] || fail "bad frames not logged one event each ($nb): $(grep 'ice-tcp closed' "$T/rtc2.log" | head)"
grep '"event":"ice-tcp closed".*"reason":"bad frame"' "$T/rtc2.log" | grep -q '"level":"warn"' || fail "bad frame not a warning"
st=$(curl -s "http://127.0.0.1:$H/stats")
python3 -c '
import json, sys
t = json.loads(sys.argv[1])["ice_tcp"]
assert t["bad_frame"] >= 4 and t["evicted"] >= 72 and t["accepted"] >= 200, t' "$st" || fail "/stats ice_tcp: $st"
m=$(curl -s "http://127.0.0.1:$M/metrics")
grep -Eq '^lsp_rtc_ice_tcp_closed_total\{reason="bad frame"\} [4-9]' <<<"$m" || fail "metrics: $(grep ice_tcp <<<"$m")"
ok "bad frames: one event each, counted in /stats and metrics"
kill -0 "$RTC" 2>/dev/null || fail "lsp-rtc died"
grep -q '"event":"worker died"' "$T/rtc2.log" && fail "a worker died: $(grep 'worker died' "$T/rtc2.log")"
grep -q '"level":"fatal"' "$T"/rtc*.log && fail "fatal log"
exit 0
