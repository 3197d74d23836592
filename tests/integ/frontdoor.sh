#!/usr/bin/env bash
# lsp-edge as the front door: everything through one origin.  Real lsp-api,
# lsp-chat and lsp-rtc (with a live ring from ffmpeg) behind one lsp-edge,
# plain and over HTTPS with a self-signed certificate: /api/v1/ (signup with
# a JSON body, a bearer call, keep-alive reuse), a WebSocket chat round-trip
# (ws:// and wss://), GET /presence, a WHEP offer answered and its session
# DELETEd; the forwarded head carries X-Forwarded-For/-Proto (a client's
# own are replaced) and no hop-by-hop headers; request and response bodies
# larger than the edge's buffers pass whole; a chunked request body is
# refused 411; a dead upstream is answered 502 and a silent one 504, both
# with a JSON body and quickly; the counts show in /metrics; the edge keeps
# serving its own routes throughout.  Then the studio in Chromium over HTTPS
# on this machine's non-loopback address (secure context; plain HTTP there
# is not) goes live over WHIP through the front door and shows LIVE once
# media flows; and scripts/lsp-up bound there makes a self-signed
# certificate, says so, and prints the https URL.
. "$(dirname "$0")/../lib.sh"
need curl; need python3; need openssl; need ffmpeg
export PYTHONPATH=$ROOT/tests/tools
export LSP_SECRET=frontdoor-$$ LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR" "$LSP_DATA_DIR/hls"
"$BIN/lsp-edge" --help | grep -q -- "--upstream-api" || fail "--help lacks --upstream-api"
"$BIN/lsp-edge" --upstream-timeout 5 2>/dev/null; [ $? -eq 100 ] || fail "bad --upstream-timeout not a usage error"
"$BIN/lsp-edge" -l 127.0.0.1:0 --upstream-api ftp://x 2>/dev/null; [ $? -eq 111 ] || fail "bad upstream URL accepted"

"$BIN/lsp-ctl" user add alice >/dev/null 2>&1 && "$BIN/lsp-ctl" user add bob >/dev/null 2>&1 || fail "user add"
A=$("$BIN/lsp-ctl" token alice 2>/dev/null) && Bt=$("$BIN/lsp-ctl" token bob 2>/dev/null) || fail "chat tokens"

AP=$(free_port); C=$(free_port); H=$(free_port); U=$(free_port); E=$(free_port); S=$(free_port)
EC=$(free_port); DEAD=$(free_port); SIL=$(free_port); X=$(free_port)
bg "$BIN/lsp-api" -l "127.0.0.1:$AP" --scrypt-log2n 10 2>"$T/api.log"
bg "$BIN/lsp-chat" -l "127.0.0.1:$C" 2>"$T/chat.log"
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x180:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 60 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | exec '$BIN/lsp-ring' --channel demo >/dev/null" 2>"$T/ring.log"
bg "$BIN/lsp-rtc" --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 \
	--whip-exec "'$BIN/lsp-ring' --channel {channel} | '$BIN/lsp-package' --out '$LSP_DATA_DIR/hls/{channel}' --part 0.5" \
	2>"$T/rtc.log"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=frontdoor -keyout "$T/key.pem" -out "$T/cert.pem" \
	>/dev/null 2>&1 || fail "openssl req"
up=(--upstream-api "http://127.0.0.1:$AP" --upstream-chat "http://127.0.0.1:$C" --upstream-rtc "http://127.0.0.1:$H")
bg "$BIN/lsp-edge" -l "127.0.0.1:$E" --hls-root "$LSP_DATA_DIR/hls" --web-root "$ROOT/web" "${up[@]}" 2>"$T/edge.log"
bg "$BIN/lsp-edge" -l "127.0.0.1:$S" --hls-root "$LSP_DATA_DIR/hls" --web-root "$ROOT/web" "${up[@]}" \
	--cert "$T/cert.pem" --key "$T/key.pem" 2>"$T/edge-tls.log"
for p in $AP $C $H $E $S; do wait_port "$p" 10 || { cat "$T"/*.log; fail "port $p did not listen"; }; done
wait_file "$LSP_RING_DIR/lsp-ring-demo" 10 || { cat "$T/ring.log"; fail "no ring"; }

# ---- lsp-api through the front door ----
for base in "http://127.0.0.1:$E" "https://127.0.0.1:$S"; do
	got=$(curl -sk -m 5 "$base/api/v1/health") || fail "$base/api/v1/health: no answer"
	echo "$got" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d.get("status") == "ok" or d.get("ok") is True, d' ||
		fail "$base/api/v1/health: $got"
done
tok=$(curl -s -m 5 -X POST "http://127.0.0.1:$E/api/v1/signup" -H 'Content-Type: application/json' \
	-d '{"name":"carol","password":"front-door-1","age":30,"creator":true}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || fail "signup through the edge"
# two requests on one client connection: the answer's framing keeps it alive
curl -sv -m 5 -H "Authorization: Bearer $tok" "http://127.0.0.1:$E/api/v1/me" "http://127.0.0.1:$E/api/v1/me" \
	>"$T/me.out" 2>"$T/me.err" || fail "GET /api/v1/me"
[ "$(grep -o '"name":"carol"' "$T/me.out" | wc -l)" = 2 ] || fail "/api/v1/me: $(cat "$T/me.out")"
grep -qi "re-using existing connection\|reusing existing connection" "$T/me.err" || fail "keep-alive not kept through the edge"
code=$(curl -sk -m 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$S/api/v1/me" -H "Authorization: Bearer $tok")
[ "$code" = 200 ] || fail "HTTPS /api/v1/me answered $code"
ok "lsp-api through the edge: health, signup (POST body), bearer call, keep-alive, HTTPS"

# ---- lsp-chat: WebSocket (ws and wss) and presence ----
python3 - "$E" "$S" "$A" "$Bt" <<'PY' || fail "chat through the front door"
import sys
from wsc import WS
e, s, A, B = sys.argv[1:]
for url in (f"ws://127.0.0.1:{e}/ws/room", f"wss://127.0.0.1:{s}/ws/room"):
    a, b = WS(url), WS(url)
    for w, t in ((a, A), (b, B)):
        w.until(lambda m: m["type"] == "history")
        w.send({"type": "auth", "token": t}); w.until(lambda m: m["type"] == "auth_ok")
    text = "hello via " + url[:4]
    a.send({"type": "say", "text": text})
    m = b.until(lambda m: m["type"] == "say" and m.get("text") == text, 8)
    b.send({"type": "say", "text": "back"})
    a.until(lambda m: m["type"] == "say" and m.get("text") == "back", 8)
    a.close(); b.close()
print("chat ok")
PY
python3 - "$E" "$A" "$C" <<'PY' || fail "presence through the front door"
import sys, time, urllib.request
from wsc import WS
e, A, c = sys.argv[1:]
ws = [WS(f"ws://127.0.0.1:{e}/ws/lobby") for _ in range(3)]
for _ in range(100):
    got = urllib.request.urlopen(f"http://127.0.0.1:{e}/presence?channels=lobby", timeout=5).read().decode()
    if got == '{"lobby":3}':
        break
    time.sleep(0.1)
assert got == '{"lobby":3}', got
PY
ok "chat: ws:// and wss:// round-trips through the edge; /presence"

# ---- lsp-rtc: a WHEP offer answered, its session deleted ----
offer=$ROOT/tests/fuzz/corpus/sdp/chromium-whep.sdp
for base in "http://127.0.0.1:$E" "https://127.0.0.1:$S"; do
	curl -sk -m 10 -D "$T/whep.h" -o "$T/whep.sdp" -X POST -H 'Content-Type: application/sdp' \
		--data-binary "@$offer" "$base/whep/demo" || fail "$base: WHEP offer: no answer"
	# over TLS, curl takes h2 by ALPN: the offer is forwarded from an HTTP/2 stream
	case $base in https:*) head -1 "$T/whep.h" | grep -q '^HTTP/2 ' || fail "$base: WHEP not over HTTP/2: $(head -1 "$T/whep.h")" ;; esac
	head -1 "$T/whep.h" | grep -q " 201" || { cat "$T/whep.h"; tail -5 "$T/rtc.log"; fail "$base: WHEP offer not 201"; }
	grep -q "^a=fingerprint" "$T/whep.sdp" || fail "$base: WHEP answer has no fingerprint"
	loc=$(sed -n 's/^[Ll]ocation: *\([^\r]*\).*/\1/p' "$T/whep.h")
	case $loc in /whep/*) ;; *) fail "$base: WHEP Location not a same-origin path: $loc" ;; esac
	code=$(curl -sk -m 5 -o /dev/null -w '%{http_code}' -X DELETE "$base$loc")
	case $code in 200|204) ;; *) fail "$base: DELETE $loc answered $code" ;; esac
done
ok "WHEP offer answered (201, SDP, Location) and deleted, plain (HTTP/1.1) and HTTPS (HTTP/2)"

# ---- what the upstream sees, big bodies, refusals, dead and silent upstreams ----
cat >"$T/echo.py" <<'PY'
import hashlib, json, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self, body, ctype="application/json"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Keep-Alive", "timeout=5")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def do_GET(self):
        if self.path.startswith("/api/v1/big"):
            self.answer(bytes(i % 251 for i in range(3 << 20)), "application/octet-stream")
        else:
            self.answer(json.dumps({"headers": {k.lower(): v for k, v in self.headers.items()}}).encode())
    do_HEAD = do_GET
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        b = self.rfile.read(n)
        self.answer(json.dumps({"len": len(b), "sha": hashlib.sha256(b).hexdigest()}).encode())
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
bg python3 "$T/echo.py" "$EC"
# a silent upstream: accepts, reads, never answers
bg python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); held = []
while True: held.append(s.accept()[0])' "$SIL"
bg "$BIN/lsp-edge" -l "127.0.0.1:$X" --hls-root "$LSP_DATA_DIR/hls" --web-root "$ROOT/web" \
	--upstream-api "http://127.0.0.1:$EC" --upstream-rtc "http://127.0.0.1:$DEAD" \
	--upstream-chat "http://127.0.0.1:$SIL" --upstream-timeout 1500 2>"$T/edge-x.log"
for p in $EC $SIL $X; do wait_port "$p" 10 || fail "port $p did not listen"; done

got=$(curl -s -m 5 -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Forwarded-Proto: https' -H 'Connection: keep-alive, X-Drop' \
	-H 'X-Drop: 1' -H 'X-Keep: 2' "http://127.0.0.1:$X/api/v1/echo?q=1")
python3 -c '
import json, sys
h = json.loads(sys.argv[1])["headers"]
assert h["x-forwarded-for"] == "127.0.0.1", h
assert h["x-forwarded-proto"] == "http", h
assert h["connection"] == "close", h
assert h["x-keep"] == "2", h
assert "keep-alive" not in h, h' "$got" || fail "forwarded head: $got"
head -c $((300 * 1024)) /dev/urandom >"$T/body.bin"
want=$(sha256sum "$T/body.bin" | cut -d' ' -f1)
got=$(curl -s -m 10 -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$T/body.bin" "http://127.0.0.1:$X/api/v1/upload")
echo "$got" | grep -q "\"len\": 307200, \"sha\": \"$want\"" || fail "300 KiB request body: $got"
curl -s -m 20 -o "$T/big.bin" "http://127.0.0.1:$X/api/v1/big"
python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); assert b == bytes(i % 251 for i in range(3 << 20)), len(b)' "$T/big.bin" ||
	fail "3 MiB response body not passed whole"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' --data-binary x "http://127.0.0.1:$X/api/v1/upload")
[ "$code" = 411 ] || fail "chunked request body answered $code"
ok "forwarded head (X-Forwarded-For/-Proto set, hop-by-hop dropped), 300 KiB up, 3 MiB down, chunked refused"

# the same over HTTP/2 (h2c prior knowledge): forwarded from a stream, the
# answer collected (1 MiB at most) and sent as one HTTP/2 response
h2=(curl -s --http2-prior-knowledge)
got=$("${h2[@]}" -m 5 -D "$T/h2.h" -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Keep: 2' "http://127.0.0.1:$X/api/v1/echo?q=1")
head -1 "$T/h2.h" | grep -q '^HTTP/2 200' || fail "h2 forwarded GET: $(head -1 "$T/h2.h")"
python3 -c '
import json, sys
h = json.loads(sys.argv[1])["headers"]
assert h["x-forwarded-for"] == "127.0.0.1" and h["x-keep"] == "2" and h["connection"] == "close", h' "$got" ||
	fail "h2 forwarded head: $got"
grep -qi '^keep-alive' "$T/h2.h" && fail "h2: a hop-by-hop header of the upstream reached the client"
got=$("${h2[@]}" -m 10 -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$T/body.bin" "http://127.0.0.1:$X/api/v1/upload")
echo "$got" | grep -q "\"len\": 307200, \"sha\": \"$want\"" || fail "h2: 300 KiB request body: $got"
r=$("${h2[@]}" -m 20 -o "$T/h2big.json" -w '%{http_version} %{http_code}' "http://127.0.0.1:$X/api/v1/big")
[ "$r" = "2 502" ] && grep -q '"upstream answer too large for HTTP/2"' "$T/h2big.json" || fail "h2: 3 MiB answer: $r $(head -c 200 "$T/h2big.json")"
r=$("${h2[@]}" -m 5 -o "$T/h2dead.json" -w '%{http_version} %{http_code}' -X POST --data-binary x "http://127.0.0.1:$X/whep/demo")
[ "$r" = "2 502" ] && grep -q '"upstream":"rtc"' "$T/h2dead.json" || fail "h2: dead upstream: $r"
t0=$(date +%s%N)
r=$("${h2[@]}" -m 8 -o "$T/h2slow.json" -w '%{http_version} %{http_code}' "http://127.0.0.1:$X/presence?channels=x")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$r" = "2 504" ] && grep -q '"upstream":"chat"' "$T/h2slow.json" || fail "h2: silent upstream: $r"
[ "$ms" -ge 1000 ] && [ "$ms" -lt 6000 ] || fail "h2: silent upstream answered after $ms ms (timeout 1.5 s)"
ok "HTTP/2 streams forwarded: head rewritten, 300 KiB up, a 3 MiB answer refused (502), dead 502, silent 504 in $ms ms"

t0=$(date +%s%N)
curl -s -m 5 -D "$T/dead.h" -o "$T/dead.json" -X POST --data-binary x "http://127.0.0.1:$X/whep/demo" || fail "dead upstream: no answer"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
head -1 "$T/dead.h" | grep -q " 502" || fail "dead upstream: $(head -1 "$T/dead.h")"
grep -qi '^content-type: application/json' "$T/dead.h" || fail "dead upstream: not JSON"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["upstream"] == "rtc" and d["status"] == 502, d' "$T/dead.json" ||
	fail "dead upstream body: $(cat "$T/dead.json")"
[ "$ms" -lt 3000 ] || fail "dead upstream took $ms ms"
dead_ms=$ms
t0=$(date +%s%N)
curl -s -m 8 -D "$T/slow.h" -o "$T/slow.json" "http://127.0.0.1:$X/presence?channels=x" || fail "silent upstream: no answer"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
head -1 "$T/slow.h" | grep -q " 504" || fail "silent upstream: $(head -1 "$T/slow.h")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["upstream"] == "chat" and d["status"] == 504, d' "$T/slow.json" ||
	fail "silent upstream body: $(cat "$T/slow.json")"
[ "$ms" -ge 1000 ] && [ "$ms" -lt 6000 ] || fail "silent upstream answered after $ms ms (timeout 1500)"
ok "dead upstream: 502 JSON in $dead_ms ms; silent upstream: 504 JSON in $ms ms (timeout 1.5 s)"

# ---- the edge's own routes and metrics ----
for base in "http://127.0.0.1:$E" "http://127.0.0.1:$X"; do
	[ "$(curl -s -m 5 "$base/healthz")" = ok ] || fail "$base/healthz"
	code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$base/api/channels")
	[ "$code" = 200 ] || fail "$base/api/channels answered $code"
done
code=$(curl -sk -m 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$S/studio")
[ "$code" = 200 ] || fail "HTTPS /studio answered $code"
# the TLS port speaks plain HTTP too, to clients on this host (make demo's http://localhost)
[ "$(curl -s -m 5 "http://127.0.0.1:$S/healthz")" = ok ] || fail "plain HTTP from loopback on the TLS port"
m=$(curl -s -m 5 "http://127.0.0.1:$X/metrics")
echo "$m" | grep -q '^lsp_edge_proxy_requests_total{upstream="api"} [1-9]' || fail "metrics: no api requests: $m"
echo "$m" | grep -q '^lsp_edge_proxy_errors_total{upstream="rtc"} [1-9]' || fail "metrics: no rtc errors"
echo "$m" | grep -q '^lsp_edge_proxy_errors_total{upstream="chat"} [1-9]' || fail "metrics: no chat errors"
ok "edge routes still served; proxy counts in /metrics"

# ---- the studio in Chromium, over HTTPS on an address other than localhost ----
if [ -n "${LSP_TEST_NO_BROWSER:-}" ]; then
	echo "skip: Chromium part (LSP_TEST_NO_BROWSER)"
else
	need node
	need_browser
	# this machine's own non-loopback address; without one, a name mapped in Chromium
	ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -n1)
	resolve=()
	if [ -n "$ip" ]; then
		name=$ip
	else
		ip=127.0.0.1 name=lsp-frontdoor.test resolve=(--resolve "$name=127.0.0.1")
	fi
	FS=$(free_port); FP=$(free_port)
	bg "$BIN/lsp-edge" -l "$ip:$FS" --hls-root "$LSP_DATA_DIR/hls" --web-root "$ROOT/web" "${up[@]}" \
		--cert "$T/cert.pem" --key "$T/key.pem" 2>"$T/edge-fd.log"
	bg "$BIN/lsp-edge" -l "$ip:$FP" --hls-root "$LSP_DATA_DIR/hls" --web-root "$ROOT/web" "${up[@]}" 2>"$T/edge-fdp.log"
	for p in $FS $FP; do
		for _ in $(seq 100); do
			curl -sk -m 1 -o /dev/null "http://$ip:$p/healthz" || curl -sk -m 1 -o /dev/null "https://$ip:$p/healthz" && break
			sleep 0.1
		done
	done
	key=$(new_channel fdlive); [ -n "$key" ] || fail "no stream key"
	shots=${LSP_TEST_LOGS:-$T}; mkdir -p "$shots"; shots=$(cd "$shots" && pwd)
	out=$(cd "$B" && timeout 120 node frontdoor.mjs "https://$name:$FS" fdlive "$key" --plain "http://$name:$FP" \
		"${resolve[@]}" --shot "$shots/frontdoor-studio.png" 2>"$T/node.err")
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || { cat "$T/node.err"; tail -n 20 "$T/rtc.log" "$T/edge-fd.log"; fail "studio through the front door (rc=$rc)"; }
	[ -f "$LSP_DATA_DIR/hls/fdlive/src/index.m3u8" ] || fail "no HLS from the studio's WHIP publish"
	ok "studio on https://$name:$FS: secure context (plain http there is not), WHIP through the front door, LIVE once media flowed"
fi

# ---- scripts/lsp-up on every address (the default ":PORT" form): HTTPS, self-signed ----
upip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -n1)
if [ -z "$upip" ]; then
	echo "skip: lsp-up part (no non-loopback address)"
else
	uh=$(free_port)
	# the store made before the servers open it together
	LSP_DATA_DIR=$T/up "$BIN/lsp-ctl" channel add upchan >/dev/null 2>>"$T/ctl.log" || fail "lsp-ctl channel add"
	LSP_DATA_DIR=$T/up LSP_HTTP_LISTEN=:$uh LSP_RTMP_LISTEN=127.0.0.1:$(free_port) \
		LSP_CHAT_LISTEN=127.0.0.1:$(free_port) LSP_API_LISTEN=127.0.0.1:$(free_port) \
		LSP_RTC_HTTP=127.0.0.1:$(free_port) LSP_RTC_UDP=127.0.0.1:$(free_port) LSP_SRT_LISTEN=off \
		bg "$ROOT/scripts/lsp-up" 2>"$T/up.log"
	wait_grep '"open the studio"' "$T/up.log" 30 || { cat "$T/up.log"; fail "lsp-up printed no URL"; }
	grep -q '"self-signed certificate made"' "$T/up.log" || fail "lsp-up did not say it made a certificate"
	[ -s "$T/up/tls/cert.pem" ] && [ -s "$T/up/tls/key.pem" ] || fail "no certificate under \$LSP_DATA_DIR/tls"
	[ "$(stat -c %a "$T/up/tls/key.pem")" = 600 ] || fail "key.pem is not private"
	grep -q "\"url\":\"https://$upip:$uh/studio\"" "$T/up.log" || fail "lsp-up URL: $(grep 'open the studio' "$T/up.log")"
	for _ in $(seq 100); do curl -sk -m 2 -o /dev/null "https://$upip:$uh/healthz" && break; sleep 0.1; done
	code=$(curl -sk -m 5 -o /dev/null -w '%{http_code}' "https://$upip:$uh/studio")
	[ "$code" = 200 ] || fail "lsp-up https /studio answered $code"
	# plain HTTP from another address on that port: sent to https (localhost keeps plain HTTP)
	got=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{redirect_url}' "http://$upip:$uh/studio?x=1")
	[ "$got" = "308 https://$upip:$uh/studio?x=1" ] || fail "plain HTTP from $upip: $got"
	[ "$(curl -s -m 5 "http://127.0.0.1:$uh/healthz")" = ok ] || fail "plain HTTP from localhost on lsp-up's port"
	for _ in $(seq 100); do curl -sk -m 2 "https://$upip:$uh/api/v1/health" | grep -q '"ok"' && break; sleep 0.1; done
	curl -sk -m 5 "https://$upip:$uh/api/v1/health" | grep -q '"ok"' || fail "lsp-up: /api/v1/health not through the front door"
	openssl x509 -in "$T/up/tls/cert.pem" -noout -text | grep -q "IP Address:$upip" || fail "certificate does not name $upip"
	ok "lsp-up on $upip: self-signed certificate made and said, https URL printed, studio and /api/v1/ over HTTPS, plain HTTP from $upip sent to https, from localhost served"
fi
grep -q '"level":"fatal"' "$T"/edge*.log && fail "fatal in an edge log"
exit 0
