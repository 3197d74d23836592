#!/usr/bin/env bash
# TURN for viewers behind networks that drop UDP: a real coturn
# (turnserver, use-auth-secret) beside lsp-rtc, lsp-edge and a live ring
# from ffmpeg; lsp-rtc hands out time-limited TURN REST credentials at
# GET /whep/ice-servers (LSP_TURN_URLS, LSP_TURN_SECRET_FILE, LSP_TURN_TTL),
# reached through lsp-edge's /whep/ forwarding, and web/whep.js gives them
# to its RTCPeerConnection (and the studio's WHIP publisher to its own).
#
# netns mode (root, ip netns, nft or iptables): headless Chromium runs in a
# network namespace of its own whose firewall drops every UDP datagram and
# TCP to lsp-rtc's ICE-TCP port, so the only way to lsp-rtc is TURN over TCP
# to coturn, which relays over UDP.  Without TURN the viewer there cannot
# connect (the firewall holds); with it the picture plays through the
# relay.  relay mode (no namespace or firewall here): Chromium on loopback
# with iceTransportPolicy "relay", so again only coturn's relay reaches
# lsp-rtc.  Either way: frames decode and advance, the selected pair's
# local candidate is a relay one, coturn logs an allocation for the REST
# username lsp-rtc made; a WHIP publisher (fake camera, the studio's
# /whip/ice-servers) goes live through the relay the same way; an expired credential and one signed with another
# secret are refused (coturn answers 401, the viewer does not connect);
# the secret and the credentials never reach lsp-rtc's log; without
# LSP_TURN_URLS the answer is {"iceServers":[]}; bad settings stop lsp-rtc
# with exit 100.  LSP_TEST_TURN_MODE=relay runs relay mode where netns
# mode could run.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need node; need python3; need turnserver
need_browser
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR" "$LSP_DATA_DIR/hls"

# ---- bad settings: usage errors, the secret never echoed ----
SECRET=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$SECRET" >"$T/turn.secret"
chmod 600 "$T/turn.secret"
badrun() { # what, then env assignments
	local what=$1 rc; shift
	env "$@" timeout 10 "$BIN/lsp-rtc" --workers 1 --http 127.0.0.1:0 --udp 127.0.0.1:0 --ice-tcp off 2>"$T/bad.log"
	rc=$?
	[ $rc -eq 100 ] || fail "$what: exit $rc, not 100: $(cat "$T/bad.log")"
	grep -q "$SECRET" "$T/bad.log" && fail "$what: the secret is in the log"
	return 0
}
badrun "turn: URL without a secret" LSP_TURN_URLS=turn:127.0.0.1:3478 LSP_TURN_SECRET= LSP_TURN_SECRET_FILE=
badrun "a short secret" LSP_TURN_URLS=turn:127.0.0.1:3478 LSP_TURN_SECRET=short
badrun "an http URL" LSP_TURN_URLS=http://x LSP_TURN_SECRET="$SECRET"
badrun "a quote in a URL" LSP_TURN_URLS='turn:a"b' LSP_TURN_SECRET="$SECRET"
badrun "a TTL too short" LSP_TURN_URLS=turn:127.0.0.1:3478 LSP_TURN_SECRET="$SECRET" LSP_TURN_TTL=5
badrun "a TTL not a number" LSP_TURN_URLS=turn:127.0.0.1:3478 LSP_TURN_SECRET="$SECRET" LSP_TURN_TTL=1h
chmod 644 "$T/turn.secret"
badrun "a secret file others may read" LSP_TURN_URLS=turn:127.0.0.1:3478 LSP_TURN_SECRET_FILE="$T/turn.secret"
chmod 600 "$T/turn.secret"
ok "bad TURN settings: exit 100, the secret not logged"

# ---- the network: a viewer namespace behind a UDP-dropping firewall, or loopback ----
MODE=relay
S=$$
NS=lspt$S
net_down() {
	local p
	if [ "$MODE" = netns ]; then
		for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$NS" 2>/dev/null
	fi
	return 0
}
trap 'net_down; _cleanup' EXIT
trap 'exit 143' TERM; trap 'exit 130' INT; trap 'exit 129' HUP # so that EXIT runs
# namespaces left by a run that was SIGKILLed (its pid is gone)
for n in $(ip netns list 2>/dev/null | awk '$1 ~ /^lspt[0-9]+$/ { print $1 }'); do
	kill -0 "${n#lspt}" 2>/dev/null && continue
	for q in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$q" 2>/dev/null; done
	ip netns del "$n" 2>/dev/null
done
why=""
if [ "${LSP_TEST_TURN_MODE:-}" = relay ]; then
	why="LSP_TEST_TURN_MODE=relay"
elif [ "$(id -u)" != 0 ]; then
	why="not root"
elif ! command -v ip >/dev/null || ! ip netns add "$NS" 2>/dev/null; then
	why="ip netns unavailable"
else
	MODE=netns
	for k in $(seq 0 199); do # a /30 no other interface uses
		NET=10.214.$(( (S + k) % 200 + 20 ))
		ip -4 -o addr show | grep -q " $NET\." || break
	done
	HIP=$NET.1; VIP=$NET.2
	if ! { ip link add "lth$S" type veth peer name "ltv$S" && ip link set "ltv$S" netns "$NS" &&
		ip addr add "$HIP/30" dev "lth$S" && ip link set "lth$S" up &&
		ip -n "$NS" addr add "$VIP/30" dev "ltv$S" && ip -n "$NS" link set "ltv$S" up &&
		ip -n "$NS" link set lo up; } 2>"$T/veth.err"; then
		why="no veth pair here ($(head -n1 "$T/veth.err"))"
		net_down; ip link del "lth$S" 2>/dev/null; MODE=relay
	fi
fi
U=$(free_port) # lsp-rtc's UDP port, and its ICE-TCP port (the same number)
if [ "$MODE" = netns ]; then
	# the viewer's firewall: no UDP at all, no TCP to lsp-rtc's ICE-TCP port
	if command -v nft >/dev/null && ip netns exec "$NS" nft -f - <<EOF
table inet lspturn {
	chain out {
		type filter hook output priority 0; policy accept;
		meta l4proto udp drop
		ip daddr $HIP tcp dport $U drop
	}
}
EOF
	then fw=nft
	elif command -v iptables >/dev/null && ip netns exec "$NS" iptables -A OUTPUT -p udp -j DROP &&
		ip netns exec "$NS" iptables -A OUTPUT -p tcp -d "$HIP" --dport "$U" -j DROP; then fw=iptables
	else
		why="no nft or iptables"; net_down; MODE=relay
	fi
fi
if [ "$MODE" = netns ]; then
	echo "mode: netns — Chromium in namespace $NS ($VIP), its $fw firewall drops all UDP and TCP to :$U"
	VIEW=(ip netns exec "$NS")
	POLICY=all
else
	echo "mode: relay — $why: Chromium on loopback with iceTransportPolicy relay"
	HIP=127.0.0.1
	VIEW=()
	POLICY=relay
fi

# ---- coturn, lsp-rtc, lsp-edge, a live channel ----
TP=$(free_port); H=$(free_port); E=$(free_port)
cat >"$T/turnserver.conf" <<EOF
listening-ip=$HIP
relay-ip=$HIP
listening-port=$TP
use-auth-secret
static-auth-secret=$SECRET
realm=lsp.test
fingerprint
verbose
no-tls
no-dtls
no-cli
no-tcp-relay
no-multicast-peers
userdb=$T/turndb
pidfile=$T/turn.pid
simple-log
log-file=$T/turn.log
EOF
[ "$MODE" = relay ] && echo allow-loopback-peers >>"$T/turnserver.conf"
bg turnserver -c "$T/turnserver.conf" >/dev/null 2>"$T/turn.err"
for _ in $(seq 100); do (exec 3<>"/dev/tcp/$HIP/$TP") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/$HIP/$TP") 2>/dev/null || { cat "$T/turn.log"; fail "coturn did not listen on $HIP:$TP"; }

bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 300 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | exec '$BIN/lsp-ring' --channel demo >/dev/null" 2>"$T/ring.log"
wait_file "$LSP_RING_DIR/lsp-ring-demo" 15 || { cat "$T/ring.log"; fail "no ring"; }

TURN_URLS="turn:$HIP:$TP?transport=udp,turn:$HIP:$TP?transport=tcp"
LSP_TURN_URLS=$TURN_URLS LSP_TURN_SECRET_FILE=$T/turn.secret LSP_TURN_TTL=600 \
	bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$H" --udp "$HIP:$U" --candidate "$HIP" 2>"$T/rtc.log"
bg "$BIN/lsp-edge" -l "$HIP:$E" --hls-root "$LSP_DATA_DIR/hls" --web-root "$ROOT/web" \
	--upstream-rtc "http://127.0.0.1:$H" 2>"$T/edge.log"
wait_grep '"event":"listening"' "$T/rtc.log" 10 || fail "lsp-rtc did not start: $(cat "$T/rtc.log")"
grep -q '"event":"turn on".*"urls":2.*"ttl":600' "$T/rtc.log" || fail "no turn on event: $(grep turn "$T/rtc.log")"
for _ in $(seq 100); do (exec 3<>"/dev/tcp/$HIP/$E") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/$HIP/$E") 2>/dev/null || fail "lsp-edge did not listen: $(cat "$T/edge.log")"

# ---- the document, through the front door ----
curl -s -m 5 -D "$T/ice.head" -o "$T/ice.json" "http://$HIP:$E/whep/ice-servers" || fail "GET /whep/ice-servers"
grep -qi '^cache-control: no-store' "$T/ice.head" || fail "ice-servers cacheable: $(cat "$T/ice.head")"
grep -qi '^content-type: application/json' "$T/ice.head" || fail "ice-servers type: $(cat "$T/ice.head")"
python3 - "$T/ice.json" "$SECRET" "$TURN_URLS" <<'PY' || fail "ice-servers document: $(cat "$T/ice.json")"
import base64, hashlib, hmac, json, sys, time
d = json.load(open(sys.argv[1]))
s = d["iceServers"]
assert len(s) == 1 and s[0]["urls"] == sys.argv[3].split(","), d
exp, ident = s[0]["username"].split(":", 1)
assert abs(int(exp) - (time.time() + 600)) < 60 and ident.startswith("whep-"), d
want = base64.b64encode(hmac.new(sys.argv[2].encode(), s[0]["username"].encode(), hashlib.sha1).digest()).decode()
assert s[0]["credential"] == want, (s[0], want)
assert d["ttl"] == 600, d
PY
curl -s -m 5 "http://$HIP:$E/whip/ice-servers" | grep -q '"username":"[0-9]*:whip-' || fail "GET /whip/ice-servers"
[ "$(curl -s -m 5 "http://$HIP:$E/whep/ice-servers")" != "$(cat "$T/ice.json")" ] || fail "the same credential twice"
ok "GET /whep/ice-servers through lsp-edge: the TURN URLs, a REST credential good for 600 s, no-store"

play() { # out-file [whep.mjs options]
	local out=$1; shift
	(cd "$B" && timeout 120 "${VIEW[@]}" node whep.mjs "http://$HIP:$E/whep/demo" --timeout 45 --frames 60 "$@" \
		>"$out" 2>"$out.err")
}

# ---- netns: the firewall holds (no TURN, no connection) ----
if [ "$MODE" = netns ]; then
	play "$T/none.json" --ice-servers '[]' && fail "played without TURN through the firewall: $(cat "$T/none.json")"
	grep -q '"ok":false' "$T/none.json" || fail "no TURN: $(cat "$T/none.json" "$T/none.json.err")"
	ok "without TURN the viewer in $NS cannot reach lsp-rtc: $(cat "$T/none.json")"
fi

# ---- the relay: the page's own ICE servers, media through coturn ----
play "$T/relay.json" --policy "$POLICY" ||
	{ cat "$T/relay.json" "$T/relay.json.err"; tail -n 20 "$T/turn.log"; tail -n 20 "$T/rtc.log"; fail "no playback through TURN ($MODE)"; }
python3 - "$T/relay.json" "$MODE" <<'PY' || fail "relay playback: $(cat "$T/relay.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] and d["framesDecoded"] >= 60, d
assert d["path"] and d["path"].startswith("relay udp"), d           # the local candidate is coturn's
if sys.argv[2] == "netns":
    assert d["path"] == "relay udp via tcp", d                         # no UDP out of the namespace
assert d["rvfc"] >= 3, d                                               # the picture advances
PY
user=$(grep -o '"viewer connected"[^}]*' "$T/rtc.log" | head -n1)
[ -n "$user" ] || fail "lsp-rtc logged no viewer: $(tail -n 20 "$T/rtc.log")"
grep -Eq "user <[0-9]+:whep-[A-Za-z0-9]+>.*ALLOCATE processed, success" "$T/turn.log" ||
	fail "coturn logged no allocation for a REST username: $(grep -i alloc "$T/turn.log" | tail -n 5)"
ok "$MODE: Chromium played through coturn: $(cat "$T/relay.json")"

# ---- a publisher through the relay: WHIP with the ICE servers the studio asks for ----
key=$(new_channel pub)
[ -n "$key" ] || fail "no stream key: $(cat "$T/ctl.log")"
(cd "$B" && timeout 90 "${VIEW[@]}" node whip.mjs "http://$HIP:$E/whip/pub" "$key" --hold 3 --ice --policy "$POLICY" \
	>"$T/pub.json" 2>"$T/pub.err") ||
	{ cat "$T/pub.json" "$T/pub.err"; tail -n 20 "$T/rtc.log"; fail "no WHIP publish through TURN ($MODE)"; }
python3 - "$T/pub.json" "$MODE" <<'PY' || fail "WHIP through TURN: $(cat "$T/pub.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] and d["connected"] and d["framesEncoded"] > 0, d
assert d["path"] and d["path"].startswith("relay udp"), d
if sys.argv[2] == "netns":
    assert d["path"] == "relay udp via tcp", d
PY
grep -q '"event":"publisher connected","channel":"pub"' "$T/rtc.log" || fail "lsp-rtc logged no publisher: $(grep pub "$T/rtc.log")"
grep -Eq "user <[0-9]+:whip-[A-Za-z0-9]+>.*ALLOCATE processed, success" "$T/turn.log" ||
	fail "coturn logged no allocation for a WHIP username"
ok "$MODE: a WHIP publisher went live through coturn: $(cat "$T/pub.json")"

# ---- credentials coturn must refuse: expired, and signed with another secret ----
servers() { # secret expiry id
	python3 - "$TURN_URLS" "$@" <<'PY'
import base64, hashlib, hmac, json, sys
urls, secret, exp, ident = sys.argv[1:]
user = "%s:%s" % (exp, ident)
cred = base64.b64encode(hmac.new(secret.encode(), user.encode(), hashlib.sha1).digest()).decode()
print(json.dumps([{"urls": urls.split(","), "username": user, "credential": cred}]))
PY
}
now=$(date +%s)
n401=$(grep -c 'error 401' "$T/turn.log")
play "$T/expired.json" --policy relay --ice-servers "$(servers "$SECRET" $((now - 120)) expired)" &&
	fail "an expired credential played: $(cat "$T/expired.json")"
grep -q '"ok":false' "$T/expired.json" || fail "expired: $(cat "$T/expired.json" "$T/expired.json.err")"
play "$T/wrong.json" --policy relay --ice-servers "$(servers "another-secret-0123456789" $((now + 600)) wrong)" &&
	fail "a credential from another secret played: $(cat "$T/wrong.json")"
grep -q '"ok":false' "$T/wrong.json" || fail "wrong secret: $(cat "$T/wrong.json" "$T/wrong.json.err")"
for _ in $(seq 50); do [ "$(grep -c 'error 401' "$T/turn.log")" -gt "$n401" ] && break; sleep 0.1; done
grep 'error 401' "$T/turn.log" | grep -q 'user <[0-9]*:expired>' ||
	fail "coturn did not refuse the expired credential: $(grep -E 'wrong|expired|401' "$T/turn.log" | tail -n 5)"
grep 'error 401' "$T/turn.log" | grep -q 'user <[0-9]*:wrong>' ||
	fail "coturn did not refuse the wrong credential: $(grep -E 'wrong|expired|401' "$T/turn.log" | tail -n 5)"
grep -q 'user <[0-9]*:expired>.*ALLOCATE processed, success' "$T/turn.log" && fail "coturn allocated for an expired username"
grep -q 'user <[0-9]*:wrong>.*ALLOCATE processed, success' "$T/turn.log" && fail "coturn allocated for a wrong credential"
ok "expired and wrong credentials refused by coturn: $(grep -c 'error 401' "$T/turn.log") answers 401"

# ---- what lsp-rtc logged: neither the secret nor a credential ----
cred=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["iceServers"][0]["credential"])' "$T/ice.json")
grep -qF "$SECRET" "$T/rtc.log" "$T/edge.log" && fail "the TURN secret is in a log"
grep -qF "$cred" "$T/rtc.log" "$T/edge.log" && fail "a TURN credential is in a log"
grep -q '"level":"fatal"' "$T/rtc.log" && fail "fatal log"

# ---- no LSP_TURN_URLS: an empty list, the page plays as before ----
H2=$(free_port)
bg "$BIN/lsp-rtc" --workers 2 --http "127.0.0.1:$H2" --udp 127.0.0.1:0 --ice-tcp off 2>"$T/rtc2.log"
wait_port "$H2" 10 || fail "lsp-rtc without TURN did not listen: $(cat "$T/rtc2.log")"
got=$(curl -s -m 5 "http://127.0.0.1:$H2/whep/ice-servers")
[ "$got" = '{"iceServers":[]}' ] || fail "without LSP_TURN_URLS: $got"
got=$(curl -s -m 5 "http://127.0.0.1:$H2/whip/ice-servers")
[ "$got" = '{"iceServers":[]}' ] || fail "without LSP_TURN_URLS (whip): $got"
grep -q '"event":"turn on"' "$T/rtc2.log" && fail "turn on without LSP_TURN_URLS"
ok "no LSP_TURN_URLS (2 workers behind the supervisor): $got"
exit 0
