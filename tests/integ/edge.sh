#!/usr/bin/env bash
# test: alone
# lsp-edge over a live fake LL-HLS packager (edge/producer.py): content
# types, CORS, path safety, blocking playlist reload timing, held preload
# hint parts, hold timeouts, keep-alive, pipelining, 2000 idle connections,
# TLS, /metrics and /api/channels.
. "$(dirname "$0")/../lib.sh"
need curl; need python3; need openssl
HERE=$(cd "$(dirname "$0")" && pwd)
ulimit -Sn 8192 2>/dev/null || true

mkdir -p "$T/hls/still/720p" "$T/web"
printf '<!doctype html><title>t</title>\n' >"$T/web/index.html"
cp "$T/web/index.html" "$T/web/watch.html"
printf 'body{}\n' >"$T/web/style.css"
# a channel that never moves: holds on it must time out
printf '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n' >"$T/hls/still/master.m3u8"
printf '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:1.0,\nseg7.m4s\n' \
	>"$T/hls/still/720p/index.m3u8"
touch -d '1 minute ago' "$T/hls/still/720p/index.m3u8" # not live: unchanged for > 10 s

bg python3 "$HERE/edge/producer.py" "$T/hls" "$T/pub.log"
P=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$P" --hls-root "$T/hls" --web-root "$T/web" --part-hold 1000 2>"$T/edge.log"
EPID=$!
wait_port "$P" 5 || { cat "$T/edge.log"; fail "lsp-edge did not listen"; }
wait_grep '^1 0 ' "$T/pub.log" 10 || fail "producer did not start"
U=http://127.0.0.1:$P
D=$U/hls/demo/720p

# ---- usage
"$BIN/lsp-edge" --version | grep -q '^lsp-edge ' || fail "--version"
"$BIN/lsp-edge" --help | grep -q -- '--hls-root' || fail "--help"
"$BIN/lsp-edge" --bogus 2>/dev/null; [ $? -eq 100 ] || fail "bad option exit code"
"$BIN/lsp-edge" --listen 127.0.0.1:0 --hls-root "$T/nope" --web-root "$T/web" 2>/dev/null; [ $? -eq 111 ] || fail "missing root exit code"

# ---- holds that must time out (run meanwhile): playlist → 503, part → 404
curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$U/hls/still/720p/index.m3u8?_HLS_msn=8&_HLS_part=0" >"$T/hold503" &
H1=$!
curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$U/hls/still/720p/seg9.0.m4s" >"$T/hold404" &
H2=$!

# ---- types, caching, CORS
hdr() { curl -s -o /dev/null -D - "$1" | tr -d '\r'; }
h=$(hdr "$U/hls/demo/master.m3u8")
grep -qi '^content-type: application/vnd.apple.mpegurl$' <<<"$h" || fail "master type: $h"
grep -qi '^cache-control: no-cache$' <<<"$h" || fail "playlist cache-control: $h"
grep -qi '^access-control-allow-origin: \*$' <<<"$h" || fail "no CORS: $h"
h=$(hdr "$D/seg0.0.m4s")
grep -qi '^content-type: video/iso.segment$' <<<"$h" || fail "part type: $h"
grep -qi '^cache-control: .*max-age=[1-9]' <<<"$h" || fail "part cache-control: $h"
hdr "$D/init.mp4" | grep -qi '^content-type: video/mp4$' || fail "init type"
hdr "$U/" | grep -qi '^content-type: text/html' || fail "index type"
hdr "$U/watch/demo" | grep -qi '^content-type: text/html' || fail "watch page type"
hdr "$U/style.css" | grep -qi '^content-type: text/css' || fail "css type"
h=$(curl -s -o /dev/null -D - -X OPTIONS -H 'Origin: http://x' -H 'Access-Control-Request-Method: GET' "$D/index.m3u8" | tr -d '\r')
grep -q '^HTTP/1.1 204' <<<"$h" && grep -qi '^access-control-allow-methods: .*GET' <<<"$h" || fail "preflight: $h"
[ "$(curl -s -I -o /dev/null -w '%{http_code}' "$D/seg0.0.m4s")" = 200 ] || fail "HEAD"
ok "content types, cache-control, CORS"

# ---- errors and path safety
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$D/nope.m3u8")" = 404 ] || fail "missing playlist not 404"
[ "$(code "$U/hls/nochannel/720p/index.m3u8")" = 404 ] || fail "missing channel not 404"
[ "$(code --path-as-is "$U/hls/demo/../../../etc/passwd")" = 400 ] || fail ".. not 400"
[ "$(code --path-as-is "$U/../etc/passwd")" = 400 ] || fail "top .. not 400"
[ "$(code "$U/hls/demo/720p%2f..%2f..%2fetc/passwd")" = 400 ] || fail "encoded slash not 400"
[ "$(code "$U/hls/demo/a%00b")" = 400 ] || fail "NUL not 400"
[ "$(code -X POST "$U/")" = 405 ] || fail "POST not 405"
[ "$(code "$U/$(head -c 5000 /dev/zero | tr '\0' a)")" = 414 ] || fail "long target not 414"
[ "$(code -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "$U/")" = 431 ] || fail "big head not 431"
ln -s /etc/passwd "$T/web/leak.txt"
[ "$(code "$U/leak.txt")" = 404 ] || fail "symlink out of the web root served"
ok "404/400/405/414/431, no escape from the roots"

# ---- blocking playlist reload: answer within part duration + 100 ms
pl_next() { # prints "MSN PART" of the next part not yet in the playlist
	curl -s "$D/index.m3u8" | awk -F: '/^#EXT-X-MEDIA-SEQUENCE/{s=$2} /^#EXTINF/{c++; p=0} /^#EXT-X-PART:/{p++}
		END{print s+c, p}'
}
worst=0
for i in 1 2 3 4 5; do
	read -r m p <<<"$(pl_next)"
	out=$(curl -s -w '\n%{http_code} %{time_total}\n' "$D/index.m3u8?_HLS_msn=$m&_HLS_part=$p")
	tend=$(date +%s.%N)
	read -r rc tt <<<"$(tail -n1 <<<"$out")"
	[ "$rc" = 200 ] || fail "blocking reload $m.$p: $rc"
	grep -q "URI=\"seg$m.$p.m4s\"" <<<"$out" || fail "reply lacks part $m.$p"
	tpub=$(awk -v m="$m" -v p="$p" '$1==m && $2==p {print $3}' "$T/pub.log")
	[ -n "$tpub" ] || fail "part $m.$p not in the publish log"
	after=$(awk -v a="$tend" -v b="$tpub" 'BEGIN{printf "%.3f", a-b}')
	echo "blocking reload $m.$p: total ${tt}s, answered ${after}s after publish"
	awk -v t="$tt" 'BEGIN{exit !(t <= 0.300)}' || fail "blocking reload took ${tt}s (> part 0.2 s + 100 ms)"
	awk -v a="$after" 'BEGIN{exit !(a <= 0.100)}' || fail "answered ${after}s after publish"
	worst=$(awk -v a="$after" -v w="$worst" 'BEGIN{print (a>w)?a:w}')
done
ok "blocking reload: worst ${worst}s after publish"
read -r m p <<<"$(pl_next)"
[ "$(code "$D/index.m3u8?_HLS_msn=$((m + 5))")" = 400 ] || fail "_HLS_msn far ahead not 400"
[ "$(code "$D/index.m3u8?_HLS_part=1")" = 400 ] || fail "_HLS_part alone not 400"
[ "$(code "$D/index.m3u8?_HLS_msn=x")" = 400 ] || fail "bad _HLS_msn not 400"
[ "$(code "$D/index.m3u8?_HLS_msn=$((m - 1))")" = 200 ] || fail "past segment not answered"
ok "_HLS_msn bounds"

# ---- preload hint: a part not written yet is held, then sent whole
# (the packager writes a part before the playlist that names it: on a busy
# box the next part may already be on disk — then wait for the one after)
for _ in $(seq 40); do
	read -r m p <<<"$(pl_next)"
	hint=seg$m.$p.m4s
	[ -e "$T/hls/demo/720p/$hint" ] || break
	sleep 0.02
done
[ -e "$T/hls/demo/720p/$hint" ] && fail "no part still to come in 40 tries: $hint exists already"
out=$(curl -s -o "$T/hint.m4s" -w '%{http_code} %{time_total}' "$D/$hint")
[ "${out% *}" = 200 ] || fail "preload hint request: $out"
cmp -s "$T/hint.m4s" "$T/hls/demo/720p/$hint" || fail "preload hint bytes differ"
ok "preload hint $hint held ${out#* }s then served"

# ---- keep-alive and pipelining
n=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' "$D/init.mp4" "$U/healthz")
[ "$n" = "1 0 " ] || fail "keep-alive: num_connects $n"
python3 - "$P" <<'PY' || fail "pipelining"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
sys.exit(0 if data.count(b"HTTP/1.1 200 OK") == 2 else 1)
PY
ok "keep-alive and pipelining"

# ---- 2000 idle connections, and a request still answers quickly
coproc IDLE { python3 "$HERE/edge/idle.py" "$P" 2000; }
read -r -t 20 line <&"${IDLE[0]}" || fail "idle client did not connect"
[ "$line" = "open 2000" ] || fail "idle client: $line"
t=$(curl -s -o /dev/null -w '%{time_total}' "$D/init.mp4")
awk -v t="$t" 'BEGIN{exit !(t < 0.2)}' || fail "request with 2000 idle took ${t}s"
open=$(curl -s "$U/metrics" | awk '/^lsp_edge_connections_open /{print $2}')
[ "$open" -ge 2001 ] || fail "metrics shows $open open connections"
rss=$(awk '/^VmRSS/{print $2}' "/proc/$EPID/status")
exec {IDLE[1]}>&-
read -r -t 10 line <&"${IDLE[0]}"; [ "$line" = "alive 2000" ] || fail "idle connections dropped: $line"
ok "2000 idle connections: request ${t}s, RSS ${rss} kB"

# ---- /metrics and /api/channels
m=$(curl -s "$U/metrics")
grep -q '^lsp_edge_requests_total{code="2xx"} [1-9]' <<<"$m" || fail "metrics: $m"
grep -q '^lsp_edge_bytes_sent_total [1-9]' <<<"$m" || fail "metrics bytes"
curl -s "$U/api/channels" | python3 -c '
import json, sys
d = {c["name"]: c for c in json.load(sys.stdin)}
assert d["demo"]["live"] is True and d["demo"]["rungs"] == ["720p"], d
assert d["still"]["live"] is False, d' || fail "/api/channels"
curl -s "$U/api/channels/demo" | grep -q '"live":true' || fail "/api/channels/demo"
[ "$(code "$U/api/channels/nosuch")" = 404 ] || fail "/api/channels/nosuch not 404"
ok "metrics and channel API"

# ---- TLS with a self-signed certificate
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
	-subj /CN=localhost >/dev/null 2>&1 || fail "openssl req"
PS=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$PS" --hls-root "$T/hls" --web-root "$T/web" \
	--cert "$T/cert.pem" --key "$T/key.pem" 2>"$T/edge-tls.log"
wait_port "$PS" 5 || fail "TLS edge did not listen"
curl -sk -o "$T/init.tls" "https://127.0.0.1:$PS/hls/demo/720p/init.mp4" || fail "https GET"
cmp -s "$T/init.tls" "$T/hls/demo/720p/init.mp4" || fail "https bytes differ"
read -r m p <<<"$(pl_next)"
out=$(curl -sk -o /dev/null -o /dev/null -w '%{http_code} %{num_connects} ' "https://127.0.0.1:$PS/hls/demo/720p/index.m3u8?_HLS_msn=$m&_HLS_part=$p" \
	"https://127.0.0.1:$PS/healthz")
[ "$out" = "200 1 200 0 " ] || fail "https blocking reload + keep-alive: $out"
ok "TLS"

# ---- relay mode: an edge in front of this one coalesces identical requests
PR=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$PR" --origin "http://127.0.0.1:$P" --web-root "$T/web" \
	--hls-root "$T/hls" 2>"$T/edge-relay.log"
wait_port "$PR" 5 || fail "relay edge did not listen"
R=http://127.0.0.1:$PR/hls/demo/720p
metric() { curl -s "$1/metrics" | awk -v k="$2" '$1==k {print $2}'; }
curl -s "$R/init.mp4" | cmp -s - "$T/hls/demo/720p/init.mp4" || fail "relay: init.mp4 bytes"
up0=$(metric "http://127.0.0.1:$PR" lsp_edge_relay_upstream_total)
curl -s -o /dev/null "$R/init.mp4"
[ "$(metric "http://127.0.0.1:$PR" lsp_edge_relay_upstream_total)" = "$up0" ] || fail "relay: cached init.mp4 fetched again"
read -r m p <<<"$(pl_next)"
h0=$(metric "$U" lsp_edge_holds_total)
up0=$(metric "http://127.0.0.1:$PR" lsp_edge_relay_upstream_total)
pids=()
for i in $(seq 1 20); do
	curl -s -o "$T/relay.$i" -w '%{http_code}\n' "$R/index.m3u8?_HLS_msn=$m&_HLS_part=$p" >"$T/relay.$i.code" &
	pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 1 20); do
	[ "$(cat "$T/relay.$i.code")" = 200 ] || fail "relay blocking reload $i: $(cat "$T/relay.$i.code")"
	grep -q "URI=\"seg$m.$p.m4s\"" "$T/relay.$i" || fail "relay reply $i lacks part $m.$p"
done
h1=$(metric "$U" lsp_edge_holds_total)
up1=$(metric "http://127.0.0.1:$PR" lsp_edge_relay_upstream_total)
echo "20 viewers of part $m.$p through the relay: $((up1 - up0)) upstream request(s), origin holds +$((h1 - h0))"
[ $((up1 - up0)) -le 2 ] || fail "relay did not coalesce: $((up1 - up0)) upstream requests"
curl -s "http://127.0.0.1:$PR/api/channels/demo" | grep -q '"live":true' || fail "relay /api/channels/demo"
ok "relay: caches, coalesces 20 identical blocking requests into $((up1 - up0))"

# ---- the holds started at the beginning
wait "$H1" "$H2"
read -r c t <"$T/hold503"
[ "$c" = 503 ] || fail "stalled playlist hold gave $c"
awk -v t="$t" 'BEGIN{exit !(t >= 2.9 && t < 4)}' || fail "playlist hold lasted ${t}s, want 3 x target (3 s)"
read -r c t <"$T/hold404"
[ "$c" = 404 ] || fail "never-written part gave $c"
awk -v t="$t" 'BEGIN{exit !(t >= 0.9 && t < 2)}' || fail "part hold lasted ${t}s, want --part-hold 1 s"
ok "hold timeouts: playlist 503 after 3 x target, part 404 after --part-hold"
kill -0 "$EPID" || fail "lsp-edge died"
