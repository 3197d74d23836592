#!/usr/bin/env bash
# test: alone
# lsp-rtc relay tree: headless Chromium publishes over WHIP to the origin
# lsp-rtc (which writes the channel's ring itself); a relay lsp-rtc
# (--origin the origin) feeds an edge lsp-rtc (--origin the relay), and
# WHEP viewers in Chromium play from the edge, two relay links away.
# Relay auth: every tier shares a secret (a file, or LSP_RELAY_SECRET);
# GET /relay without a token, with a forged, expired or other-channel
# token is 401, logged with its reason and never the token, and counted;
# a token made by another implementation (Python's hmac) is accepted; a
# peer that is not loopback is refused when no secret is configured.
# Keyframe requests: a viewer joining on the edge sends a keyframe request
# up two relay links; the origin takes it and sends its publisher a PLI
# (--pli-interval 5000 keeps the GOP short: a channel's first reader on
# the origin packetises from the newest keyframe on), and the viewer's
# first frame is timed.  Bad input on a relay link
# (garbage sent up by a client) closes that link only.  Presence: the
# edge reports its WebRTC viewers on NATS and lsp-chat's GET /presence (the
# directory's source) counts them, and 0 once they are gone; so does
# lsp-edge for its HLS players.
. "$(dirname "$0")/../lib.sh"
need curl; need node; need python3
need_browser
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"
key=$(new_channel tree)
[ -n "$key" ] || fail "no stream key"
SECRET=relay-tree-secret-0123456789abcdef
printf '%s\n' "$SECRET" >"$T/relay.secret"
chmod 600 "$T/relay.secret"
H1=$(free_port); U1=$(free_port); M1=$(free_port)
H2=$(free_port); U2=$(free_port)
H3=$(free_port); U3=$(free_port); PC=$(free_port)
start_nats
LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-chat" -l "127.0.0.1:$PC" --node c1 2>"$T/chat.log"
rtc() { "$BIN/lsp-rtc" --workers 1 --candidate 127.0.0.1 "$@"; }

# a bad secret file is a usage error, and says why without the secret
chmod 644 "$T/relay.secret"
rtc --http "127.0.0.1:0" --udp "127.0.0.1:0" --relay-secret-file "$T/relay.secret" 2>"$T/bad-secret.log"
rc=$?; [ $rc = 100 ] || fail "world-readable secret file: exit $rc"
grep -q 'chmod 600' "$T/bad-secret.log" || fail "no reason: $(cat "$T/bad-secret.log")"
grep -q "$SECRET" "$T/bad-secret.log" && fail "secret logged"
chmod 600 "$T/relay.secret"
LSP_RELAY_SECRET=short rtc --http "127.0.0.1:0" --udp "127.0.0.1:0" 2>/dev/null
rc=$?; [ $rc = 100 ] || fail "short LSP_RELAY_SECRET: exit $rc"
ok "bad relay secrets refused at start-up (exit 100)"

LSP_LOG_LEVEL=debug bg "$BIN/lsp-rtc" --workers 1 --candidate 127.0.0.1 --http "127.0.0.1:$H1" --udp "127.0.0.1:$U1" --pli-interval 5000 \
	--relay-secret-file "$T/relay.secret" --metrics "127.0.0.1:$M1" 2>"$T/origin.log"
LSP_LOG_LEVEL=debug LSP_RELAY_SECRET=$SECRET bg "$BIN/lsp-rtc" --workers 1 --candidate 127.0.0.1 --http "127.0.0.1:$H2" \
	--udp "127.0.0.1:$U2" --origin "http://127.0.0.1:$H1" 2>"$T/relay.log"
LSP_NATS_URL=$NATS_URL LSP_LOG_LEVEL=debug bg "$BIN/lsp-rtc" --workers 1 --candidate 127.0.0.1 --http "127.0.0.1:$H3" --udp "127.0.0.1:$U3" \
	--origin "http://127.0.0.1:$H2" --relay-secret-file "$T/relay.secret" 2>"$T/edge.log"
for p in "$H1" "$H2" "$H3" "$PC"; do wait_port "$p" 5 || { cat "$T"/*.log; fail "lsp-rtc on $p did not listen"; }; done
grep -q '"msg":"relay auth on"\|"event":"relay auth on"\|relay auth on' "$T/origin.log" || fail "no 'relay auth on' log"

# relay auth at the origin
tok() { # secret channel expiry
	python3 -c 'import hmac,hashlib,sys; s,c,e=sys.argv[1:]; print("v1.%s.%s"%(e,hmac.new(s.encode(),("lsp-relay.v1|%s|%s"%(c,e)).encode(),hashlib.sha256).hexdigest()))' "$@"
}
now=$(date +%s)
FORGED=$(tok "another-secret-0123456789" tree $((now + 60)))
EXPIRED=$(tok "$SECRET" tree $((now - 120)))
OTHER=$(tok "$SECRET" other $((now + 60)))
LONG=$(tok "$SECRET" tree $((now + 3600)))
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@"; }
[ "$(code "http://127.0.0.1:$H1/relay/tree")" = 401 ] || fail "no token: not 401"
for t in "$FORGED" "$EXPIRED" "$OTHER" "$LONG" "v1.garbage"; do
	c=$(code -H "Authorization: Bearer $t" "http://127.0.0.1:$H1/relay/tree")
	[ "$c" = 401 ] || fail "bad token $t answered $c"
done
for why in "missing token" "bad signature" "token expired" "token lives too long" "malformed token"; do
	grep '"event":"relay refused"' "$T/origin.log" | grep -q "\"reason\":\"$why\"" ||
		fail "refusal not logged with reason '$why': $(grep 'relay refused' "$T/origin.log" | head -3)"
done
grep '"event":"relay refused"' "$T/origin.log" | head -1 | grep -q '"peer":"127.0.0.1:' || fail "refusal without the peer"
for t in "$FORGED" "$EXPIRED" "$OTHER" "$LONG"; do grep -qF "${t##*.}" "$T/origin.log" && fail "a token was logged"; done
mx=$(curl -s "http://127.0.0.1:$M1/metrics")
echo "$mx" | grep -q '^lsp_rtc_relay_refused_total{reason="bad signature"} 2$' ||
	fail "refusals not counted: $(echo "$mx" | grep refused)"
ok "GET /relay: no, forged, expired, other-channel, too long-lived and malformed tokens → 401, logged by reason, counted"

# the publisher: Chromium over WHIP at the origin, for the rest of the test
(cd "$B" && exec timeout 300 node whip.mjs "http://127.0.0.1:$H1/whip/tree" "$key" --hold 270) >"$T/pub.json" 2>"$T/pub.err" &
PUB=$!; _pids+=($PUB)
wait_file "$LSP_RING_DIR/lsp-ring-tree" 20 || { cat "$T/pub.err" "$T/origin.log"; fail "no ring for the WHIP channel"; }

# a viewer two relay links away, watching until the checks below are done
# (the tree stays up meanwhile; $T/v1.stop ends its hold).
# Its offer waits (4 s at most) for the edge's channel to stream; a cold
# tree on a loaded box can take longer (each tier connects in turn), so a
# 404 then is tried again, up to 3 times.
for try in 1 2 3; do
	(cd "$B" && exec timeout 200 node whep.mjs "http://127.0.0.1:$H3/whep/tree" --timeout 150 --frames 30 --hold 140 --until "$T/v1.stop") \
		>"$T/v1.json" 2>"$T/v1.err" &
	V1=$!; _pids+=($V1)
	for _ in $(seq 400); do
		grep -q '"event":"viewer connected"' "$T/edge.log" && break
		kill -0 "$V1" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '"event":"viewer connected"' "$T/edge.log" && break
	wait "$V1"
	grep -q 'WHEP 404' "$T/v1.json" || break
	echo "cold tree: the first offer was answered 404 (try $try)"
done
grep -q '"event":"viewer connected"' "$T/edge.log" ||
	{ cat "$T/v1.err" "$T/v1.json"; tail -n 20 "$T/edge.log" "$T/relay.log" "$T/origin.log"; fail "edge viewer did not connect"; }
grep -q "\"event\":\"origin connected\".*\"url\":\"http://127.0.0.1:$H2\"" "$T/edge.log" || fail "edge not fed by the relay"
grep -q "\"event\":\"origin connected\".*\"url\":\"http://127.0.0.1:$H1\"" "$T/relay.log" || fail "relay not fed by the origin"
presence() { # want: wait until lsp-chat's GET /presence counts the channel's viewers so
	python3 - "$PC" "$1" <<'PY'
import json, sys, time, urllib.request
port, want = int(sys.argv[1]), int(sys.argv[2])
got = None
for _ in range(100):
    with urllib.request.urlopen("http://127.0.0.1:%d/presence?channels=tree" % port, timeout=3) as r:
        got = json.load(r)["tree"]
    if got == want:
        sys.exit(0)
    time.sleep(0.25)
print("presence: want %d, got %s" % (want, got))
sys.exit(1)
PY
}
presence 1 || fail "the directory does not count the WebRTC viewer"
ok "lsp-chat's GET /presence (the directory) counts the edge's WebRTC viewer: 1"

# a keyframe request travels up: the origin asks its publisher (no periodic PLI)
plis() {
	curl -s "http://127.0.0.1:$H1/stats" |
		python3 -c 'import json,sys; print(sum(s["plis"] for s in json.load(sys.stdin)["sessions"] if s["kind"] == "whip"))'
}
p1=$(plis)
n_up=$(grep -c '"event":"keyframe request sent up"' "$T/edge.log")
v=$(cd "$B" && timeout 60 node whep.mjs "http://127.0.0.1:$H3/whep/tree" --timeout 20 --frames 30 2>"$T/v2.err") ||
	{ cat "$T/v2.err"; tail -n 20 "$T/edge.log"; fail "second edge viewer did not play: $v"; }
warm=$(echo "$v" | python3 -c 'import json,sys; print(json.load(sys.stdin)["firstFrameMs"])')
p2=$(plis)
n_in=$(grep -c '"event":"relay keyframe request"' "$T/origin.log")
[ "$n_in" -ge 1 ] || fail "the origin got no keyframe request from the relay"
[ "$p2" -gt "$p1" ] || fail "origin sent no PLI to its publisher for a viewer two tiers down ($p1 → $p2)"
[ "$(grep -c '"event":"relay client connected"' "$T/origin.log")" = 1 ] || fail "the relay reconnected: not a keyframe request"
[ "$(grep -c '"event":"keyframe request sent up"' "$T/edge.log")" -gt "$n_up" ] || fail "edge sent no keyframe request up"
grep -q '"event":"relay keyframe request"' "$T/relay.log" || fail "relay did not take the edge's keyframe request"
grep -q '"event":"keyframe request sent up"' "$T/relay.log" || fail "relay did not pass the keyframe request up"
ok "a viewer joining two tiers down: keyframe request edge → relay → origin → PLI to the publisher ($p1 → $p2 PLIs); first frame $warm ms after connecting"
[ "$warm" -le 3000 ] || fail "first frame through two relay tiers took $warm ms"
# garbage up a relay link (a client with a good token): that link closes,
# the relay's own link (V1 still watching through it) stays
gone0=$(grep -c '"event":"relay client gone"' "$T/origin.log")
python3 - "$H1" "$SECRET" <<'PY' || fail "garbage up a relay link: link not closed"
import hashlib, hmac, socket, sys, time
port, secret = int(sys.argv[1]), sys.argv[2].encode()
e = int(time.time()) + 60
t = "v1.%d.%s" % (e, hmac.new(secret, b"lsp-relay.v1|tree|%d" % e, hashlib.sha256).hexdigest())
s = socket.create_connection(("127.0.0.1", port))
s.sendall(("GET /relay/tree HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % t).encode())
s.settimeout(5)
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
assert buf.startswith(b"HTTP/1.1 200"), buf[:60]
s.sendall(b"LSPRLY01" + b"\x01" * 64)  # a media frame the wrong way
t0 = time.time()
while time.time() - t0 < 10:
    d = s.recv(65536)
    if not d:
        sys.exit(0)
sys.exit(1)
PY
wait_grep '"reason":"bad input from the edge"' "$T/origin.log" 5 || fail "origin did not log the bad link"
gone1=$(grep -c '"event":"relay client gone"' "$T/origin.log")
[ $((gone1 - gone0)) = 1 ] || fail "more than the bad link was closed ($gone0 → $gone1)"
curl -s "http://127.0.0.1:$H1/stats" | python3 -c 'import json,sys; assert len(json.load(sys.stdin)["relays"]) == 1' ||
	fail "the relay's own link went with the bad one"
ok "garbage up one relay link closed that link only; the relay's link streams on"

touch "$T/v1.stop"
wait "$V1" || { cat "$T/v1.err" "$T/v1.json"; fail "first edge viewer failed"; }
read -r ffm nfr played < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["firstFrameMs"], d["framesDecoded"], round(d["playedMs"] / 1000))' "$T/v1.json")
for l in origin relay; do
	[ "$(grep -c '"event":"play offer"' "$T/$l.log")" = 0 ] || fail "a viewer reached the $l directly"
done
ok "WHEP viewer on the third tier played ${played} s, through every check above (first frame $ffm ms after connecting, cold tree; $nfr frames)"

# no secret: /relay only for loopback peers
IP=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n1)
if [ -n "$IP" ]; then
	H4=$(free_port); U4=$(free_port)
	bg "$BIN/lsp-rtc" --workers 1 --candidate 127.0.0.1 --http "0.0.0.0:$H4" --udp "127.0.0.1:$U4" 2>"$T/open.log"
	wait_port "$H4" 5 || fail "no-secret lsp-rtc did not listen"
	grep -q 'relay auth off' "$T/open.log" || fail "no 'relay auth off' log"
	[ "$(code "http://$IP:$H4/relay/tree")" = 401 ] || fail "no secret: a peer at $IP was not refused"
	[ "$(code "http://127.0.0.1:$H4/relay/tree")" = 200 ] || true # a 200 streams: curl times out, that is fine
	grep -q '"reason":"no relay secret configured: loopback peers only"' "$T/open.log" || fail "refusal not logged"
	ok "no secret: a peer at $IP is refused, loopback is served"
else
	echo "skip: no global IPv4 address to test the loopback-only default from"
fi

presence 0 || fail "the directory still counts viewers that left"
ok "… and 0 once they left"

# lsp-edge's HLS viewers count too: two players (two User-Agents) polling
# a channel's playlist are two viewers in lsp-chat's /presence
mkdir -p "$T/hls/tree"
printf '#EXTM3U\n#EXT-X-TARGETDURATION:1\n' >"$T/hls/tree/index.m3u8"
HE=$(free_port)
LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-edge" -l "127.0.0.1:$HE" --hls-root "$T/hls" --web-root "$ROOT/web" 2>"$T/hls-edge.log"
wait_port "$HE" 5 || fail "lsp-edge did not listen"
( for _ in $(seq 60); do
	for ua in player-one player-two; do curl -s -o /dev/null -A "$ua" "http://127.0.0.1:$HE/hls/tree/index.m3u8"; done
	curl -s -o /dev/null -A player-one "http://127.0.0.1:$HE/hls/nosuch/index.m3u8"
	sleep 0.5
done ) &
_pids+=($!)
presence 2 || fail "the directory does not count lsp-edge's HLS viewers"
ok "lsp-edge's HLS viewers (2 players polling) counted in lsp-chat's /presence"

grep -q '"level":"fatal"' "$T/origin.log" "$T/relay.log" "$T/edge.log" && fail "fatal log"
exit 0
