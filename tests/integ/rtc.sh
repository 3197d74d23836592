#!/usr/bin/env bash
# lsp-rtc WHEP: ffmpeg test pattern (H.264 + AAC) → lsp-ring → ring in a
# private LSP_RING_DIR (and the TS on to lsp-package → lsp-edge) → lsp-rtc
# → headless Chromium (web/whep.js) must decode >= 30 video frames and
# receive Opus audio; the session resource is DELETEd; the watch page plays
# over WebRTC and shows it; malformed STUN/DTLS/RTP/SDP/HTTP is dropped and
# counted while the server keeps serving; an unknown channel is 404;
# wire-level viewers get NACKs answered, PLIs without gaps, and are reaped
# when they go silent.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need node; need python3
need_browser
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"
H=$(free_port); U=$(free_port); E=$(free_port)
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 120 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | '$BIN/lsp-ring' --channel demo | exec '$BIN/lsp-package' --out '$T/hls/demo' --part 0.2 --segment 1" \
	2>"$T/ring.log"
bg "$BIN/lsp-rtc" --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 --consent 4 2>"$T/rtc.log"
wait_port "$H" 5 || { cat "$T/rtc.log"; fail "lsp-rtc did not listen"; }
wait_file "$LSP_RING_DIR/lsp-ring-demo" 5 || { cat "$T/ring.log"; fail "no ring"; }
sleep 0.5

# unknown channel, bad SDP, CORS preflight
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/sdp' --data-binary 'v=0' "http://127.0.0.1:$H/whep/nosuch")
[ "$code" = 404 ] || fail "unknown channel answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/sdp' --data-binary $'v=0\r\nm=video 9 x 96\r\n' "http://127.0.0.1:$H/whep/demo")
[ "$code" = 400 ] || fail "bad SDP answered $code"
curl -s -D - -o /dev/null -X OPTIONS "http://127.0.0.1:$H/whep/demo" | grep -qi '^access-control-allow-origin: \*' || fail "no CORS on preflight"
ok "404 unknown channel, 400 bad SDP, CORS preflight"

# 300 idle sockets (more than lsp-rtc holds) do not lock signalling out:
# a new request takes the place of the oldest idle one
python3 - "$H" "$T/idle.up" <<'PY' &
import socket, sys, time
socks = []
for _ in range(300):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.send(b"GET /stats HTTP/1.1\r\n")  # a head that never ends
    socks.append(s)
open(sys.argv[2], "w").write("up")
time.sleep(8)
PY
idle=$!
wait_file "$T/idle.up" 10 || fail "idle sockets not opened"
sleep 0.3
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -X POST -H 'Content-Type: application/sdp' --data-binary $'v=0\r\nm=video 9 x 96\r\n' "http://127.0.0.1:$H/whep/demo")
[ "$code" = 400 ] || fail "with 300 idle sockets open a WHEP request got $code (want 400 for its bad SDP)"
ev=$(curl -s -m 5 "http://127.0.0.1:$H/stats" | sed -n 's/.*"http_evicted":\([0-9]*\).*/\1/p')
[ "${ev:-0}" -ge 40 ] || fail "idle connections not evicted (http_evicted=$ev)"
kill "$idle" 2>/dev/null; wait "$idle" 2>/dev/null
ok "300 idle sockets: signalling still answers ($ev idle connections evicted)"

# garbage on the media port: STUN-looking, DTLS-looking, RTP-looking, random
python3 - "$U" <<'PY'
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a = ("127.0.0.1", int(sys.argv[1]))
s.sendto(struct.pack(">HHI", 1, 8, 0x2112A442) + os.urandom(12) + b"\x00\x06\x00\x09abc", a)  # bad STUN length
s.sendto(struct.pack(">HHI", 1, 12, 0x2112A442) + os.urandom(12) + b"\x00\x06\x00\x08nope:xyz", a)  # unknown ufrag
s.sendto(b"\x16\xfe\xfd" + os.urandom(40), a)   # DTLS from nobody
s.sendto(b"\x80\x60" + os.urandom(30), a)       # RTP from nobody
for _ in range(50):
    s.sendto(os.urandom(1 + os.urandom(1)[0] * 4), a)
PY
printf 'GARBAGE\r\n\r\n' | timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$H; cat >&3; cat <&3" >/dev/null 2>&1

out=$(cd "$B" && timeout 60 node whep.mjs "http://127.0.0.1:$H/whep/demo" --timeout 15 --frames 30 --hold 2 2>"$T/node.err")
rc=$?
echo "$out"
[ $rc -eq 0 ] || { cat "$T/node.err"; tail -n 20 "$T/rtc.log"; fail "Chromium decoded too few frames (rc=$rc)"; }
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["framesDecoded"] >= 30, d
assert d["width"] == 640 and d["height"] == 360, d
assert d["audioPackets"] > 0 and d["audioSamples"] > 0, d
assert d["audioConcealed"] < 0.2 * d["audioSamples"], d  # the Opus decodes
assert d["firstFrameMs"] is not None and d["firstFrameMs"] < 3000, d' "$out" || fail "player stats: $out"
ok "Chromium decoded frames over WHEP: $out"

grep -q '"event":"viewer connected"' "$T/rtc.log" || fail "no viewer connected log"
# Chromium takes the AEAD_AES_128_GCM profile lsp-rtc offers first
grep '"event":"viewer connected"' "$T/rtc.log" | head -n1 | grep -q '"srtp":"AEAD_AES_128_GCM"' ||
	fail "Chromium did not negotiate SRTP AEAD_AES_128_GCM: $(grep '"viewer connected"' "$T/rtc.log" | head -n1)"

# the watch page prefers WHEP and says so (LL-HLS stays the fallback: integ/browser)
[ -f "$ROOT/web/vendor/hls.min.js" ] || fail "web/vendor/hls.min.js missing (run make)"
bg "$BIN/lsp-edge" --listen "127.0.0.1:$E" --hls-root "$T/hls" --web-root "$ROOT/web" 2>"$T/edge.log"
wait_port "$E" 5 || fail "lsp-edge did not listen"
w=$(cd "$B" && timeout 40 node watchrtc.mjs "http://127.0.0.1:$E/watch/demo?rtc=http://127.0.0.1:$H" --timeout 20 2>"$T/watch.err") ||
	{ cat "$T/watch.err"; fail "watch page did not play over WebRTC: $w"; }
ok "watch page plays over WebRTC: $w"
wait_grep '"event":"viewer gone"' "$T/rtc.log" 5 || fail "viewer not gone after DELETE"
st=$(curl -s "http://127.0.0.1:$H/stats")
python3 -c '
import json, sys
d = json.loads(sys.argv[1])["dropped"]
assert d["stun"] >= 1 and d["stun_auth"] >= 1 and d["unknown"] >= 2 and d["sdp"] >= 1 and d["http"] >= 1, d' "$st" \
	|| fail "malformed input not counted: $st"
ok "malformed input dropped and counted: $st"

# /stats never shows a live session's id: the id in the session's Location
# is what DELETE takes, so only whoever opened the session can end it
before=$(grep -c '"event":"viewer connected"' "$T/rtc.log")
(cd "$B" && timeout 40 node whep.mjs "http://127.0.0.1:$H/whep/demo" --timeout 15 --frames 10 --hold 6 \
	>"$T/held.json" 2>"$T/held.err") &
held=$!
for _ in $(seq 150); do
	[ "$(grep -c '"event":"viewer connected"' "$T/rtc.log")" -gt "$before" ] && break
	sleep 0.1
done
sid=$(grep '"event":"viewer connected"' "$T/rtc.log" | tail -n1 | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[ -n "$sid" ] || fail "no live viewer to look for in /stats"
st=$(curl -s "http://127.0.0.1:$H/stats")
grep -q '"state":"live"' <<<"$st" || fail "/stats lists no live session: $st"
grep -q "$sid" <<<"$st" && fail "/stats shows the live session's id $sid"
wait "$held" || { cat "$T/held.err"; fail "held viewer failed"; }
ok "/stats lists the live session without its id"

# NACK → retransmission, PLI → no sequence gap, vanished viewers reaped:
# three wire-level viewers (bench/whep-load: ICE, DTLS, SRTP like a browser)
san=(); [ "${SANITIZE:-}" = 1 ] && san=(-fsanitize=address,undefined)
cc -std=c17 -D_GNU_SOURCE -O2 "${san[@]}" -I"$ROOT/lib" -o "$T/whep-load" "$ROOT/bench/whep-load.c" \
	"$ROOT/${BUILD:-build/rel}/liblsp.a" $(pkg-config --libs openssl) 2>"$T/cc.log" ||
	{ cat "$T/cc.log"; fail "cannot build bench/whep-load.c"; }
out=$("$T/whep-load" "http://127.0.0.1:$H/whep/demo" 3 3 --nack --pli) || fail "whep-load: $out"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["connected"] == 3 and d["lost"] == 0 and d["rtx_ok"] == 1 and d["mbps_per_viewer"] > 0.1, d' "$out" \
	|| fail "wire-level viewers: $out"
ok "NACK answered, PLI without a gap, no loss: $out"
for _ in $(seq 60); do
	n=$(curl -s "http://127.0.0.1:$H/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["reaped"])')
	[ "$n" -ge 3 ] && break; sleep 0.2
done
[ "$n" -ge 3 ] || fail "silent viewers not reaped (reaped=$n)"
ok "3 silent viewers reaped after the consent timeout"
kill -0 "${_pids[1]}" 2>/dev/null || fail "lsp-rtc died"
grep -q '"level":"fatal"' "$T/rtc.log" && fail "fatal log"
exit 0
