#!/usr/bin/env bash
# test: alone
# lsp-edge over HTTP/2: ffmpeg really publishes through lsp-package; h2c
# with prior knowledge (curl, nghttp) and h2 by ALPN over TLS get the same
# bytes and answers as HTTP/1.1 (playlists, init, segment, part, 404/403
# JSON, a held preload-hint part); a blocking reload held on one stream
# does not hold back another stream of the same connection; a forwarded
# route is sent back to HTTP/1.1; bad frames and a header flood close their
# own connection only; /metrics counts requests by protocol.
. "$(dirname "$0")/../lib.sh"
need curl; need ffmpeg; need openssl; need python3; need nghttp
curl -V | grep -q HTTP2 || skip "curl without HTTP/2"
mkdir -p "$T/hls/still/360p" "$T/hls/priv/360p" "$T/web"
printf '<!doctype html><title>t</title>\n' >"$T/web/index.html"
# a channel that never moves: a hold on it lasts until its timeout (503)
printf '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:1.0,\nseg7.m4s\n' \
	>"$T/hls/still/360p/index.m3u8"
touch -d '1 minute ago' "$T/hls/still/360p/index.m3u8"
# a channel whose playback needs a token (no secret given: always 403)
cp "$T/hls/still/360p/index.m3u8" "$T/hls/priv/360p/index.m3u8"
touch "$T/hls/priv/.signed"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
	-subj /CN=localhost >/dev/null 2>&1 || fail "openssl req"

P=$(free_port); PS=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$P" --hls-root "$T/hls" --web-root "$T/web" --upstream-api off \
	2>"$T/edge.log"
EP1=$!
bg "$BIN/lsp-edge" --listen "127.0.0.1:$PS" --hls-root "$T/hls" --web-root "$T/web" \
	--cert "$T/cert.pem" --key "$T/key.pem" 2>"$T/edge-tls.log"
EP2=$!
wait_port "$P" 10 && wait_port "$PS" 10 || { cat "$T/edge.log" "$T/edge-tls.log" >&2; fail "lsp-edge did not listen"; }
(ffmpeg -v error -re -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=sample_rate=48000 -t 60 \
	-c:v libx264 -preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -c:a aac -b:a 64k \
	-program title=360p:st=0:st=1 -muxdelay 0 -flush_packets 1 -f mpegts pipe:1 |
	"$BIN/lsp-package" --out "$T/hls/demo" --window 10 2>"$T/pack.log") &
_pids+=($!)
L=$T/hls/demo/360p/index.m3u8
for ((i = 0; i < 300; i++)); do
	[ "$(grep -c '^#EXTINF' "$L" 2>/dev/null)" -ge 3 ] 2>/dev/null && break
	sleep 0.1
done
[ "$(grep -c '^#EXTINF' "$L" 2>/dev/null)" -ge 3 ] || { cat "$T/pack.log" >&2; fail "no segments published"; }
U=http://127.0.0.1:$P
D=$U/hls/demo/360p
h1() { curl -s --http1.1 "$@"; }
h2() { curl -s --http2-prior-knowledge "$@"; }
# the next part to be published: "MSN PART" (the one after the last listed)
pl_next() {
	awk -F: '/^#EXT-X-MEDIA-SEQUENCE/{s=$2} /^#EXTINF/{c++; n=0} /^#EXT-X-PART:/{n++} END{print s+c, n}' "$L"
}

# ---- the same bytes over HTTP/1.1 and HTTP/2
[ "$(h2 -o /dev/null -w '%{http_version} %{http_code}' "$U/hls/demo/master.m3u8")" = "2 200" ] || fail "h2c master"
# a file that may change (lsp-package rewrites them): h1, h2, h1 until both
# h1 answers agree, then h2 must be the same bytes
same() { # url out
	local i
	for ((i = 0; i < 20; i++)); do
		h1 -o "$2" "$1"; h2 -o "$T/s2" "$1"; h1 -o "$T/s3" "$1"
		cmp -s "$2" "$T/s3" || continue
		[ -s "$2" ] && cmp -s "$2" "$T/s2" && return 0
		return 1
	done
	return 1
}
same "$U/hls/demo/master.m3u8" "$T/m1" || fail "master differs over h2"
same "$D/index.m3u8" "$T/p1" || fail "media playlist differs over h2"
seg=$(grep -v '^#' "$T/p1" | grep -m1 .)
part=$(sed -n 's/^#EXT-X-PART:.*URI="\([^"]*\)".*/\1/p' "$T/p1" | tail -n1)
[ -n "$seg" ] && [ -n "$part" ] || { cat "$T/p1" >&2; fail "no segment or part listed"; }
for f in init.mp4 "$seg" "$part"; do
	h1 -o "$T/f1" -D "$T/h1" "$D/$f"; h2 -o "$T/f2" -D "$T/h2" "$D/$f"
	cmp -s "$T/f1" "$T/f2" && [ -s "$T/f1" ] || fail "$f differs over h2"
	cmp -s "$T/f1" "$T/hls/demo/360p/$f" || fail "$f is not the file"
	for hd in content-type cache-control content-length; do
		a=$(grep -i "^$hd:" "$T/h1" | tr -d '\r' | tr A-Z a-z); b=$(grep -i "^$hd:" "$T/h2" | tr -d '\r' | tr A-Z a-z)
		[ -n "$a" ] && [ "$a" = "$b" ] || fail "$f $hd: '$a' over h1, '$b' over h2"
	done
done
r=$(h2 -r 10-19 -o "$T/r2" -w '%{http_code}' "$D/$seg")
[ "$r" = 206 ] && cmp -s "$T/r2" <(tail -c +11 "$T/hls/demo/360p/$seg" | head -c 10) || fail "h2 range: $r"
for path in /hls/demo/360p/nosuch.m3u8 /api/channels/nosuch /hls/priv/360p/index.m3u8 /hls/demo/360p/index.m3u8?_HLS_msn=x \
	/.hidden /api/channels; do
	a=$(h1 -w ' %{http_code}' "$U$path"); b=$(h2 -w ' %{http_code}' "$U$path")
	[ "$a" = "$b" ] || fail "$path: '$a' over h1, '$b' over h2"
done
[ "$(h2 -o /dev/null -w '%{http_code}' "$U/hls/priv/360p/index.m3u8")" = 403 ] || fail "token check over h2"
[ "$(h2 -I -o /dev/null -w '%{http_code}' "$D/init.mp4")" = 200 ] || fail "h2 HEAD"
ok "h2c: master, media playlist, init, segment, part, range, 404/403/400 JSON: as over HTTP/1.1"

# ---- a preload-hint part not written yet: held over h2, then the file
for ((i = 0; i < 50; i++)); do # a hint whose part is not written yet
	hint=$(sed -n 's/^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="\([^"]*\)".*/\1/p' "$L" | tail -n1)
	[ -n "$hint" ] && [ ! -e "$T/hls/demo/360p/$hint" ] && break
	sleep 0.02
done
[ -n "$hint" ] || fail "no preload hint"
[ "$(h2 -o "$T/hint2" -w '%{http_code}' "$D/$hint")" = 200 ] || fail "h2 preload hint part"
cmp -s "$T/hint2" "$T/hls/demo/360p/$hint" || fail "h2 preload hint bytes"
ok "h2c: preload-hint part held until written"

# ---- a blocking reload on one stream, others of the same connection meanwhile
# (nghttp: every URI on one connection; -s lists the streams as they ended)
read -r m p <<<"$(pl_next)"
nghttp -n -s "$U/hls/still/360p/index.m3u8?_HLS_msn=8" "$D/index.m3u8?_HLS_msn=$((m + 1))&_HLS_part=0" "$U/healthz" \
	>"$T/ng" 2>&1 || { cat "$T/ng" >&2; fail "nghttp"; }
got=$(awk '/^ *[0-9]+ +\+/ {print $5, $7}' "$T/ng" | tr '\n' ' ')
[ "$got" = "200 /healthz 200 /hls/demo/360p/index.m3u8?_HLS_msn=$((m + 1))&_HLS_part=0 503 /hls/still/360p/index.m3u8?_HLS_msn=8 " ] ||
	{ cat "$T/ng" >&2; fail "h2c streams ended as: $got"; }
read -r m p <<<"$(pl_next)"
out=$(h2 -o "$T/b2" -w '%{http_code}' "$D/index.m3u8?_HLS_msn=$((m + 1))&_HLS_part=0")
[ "$out" = 200 ] && grep -q "seg$((m + 1))\.0\.m4s\"" "$T/b2" || fail "h2c blocking reload for $((m + 1)).0: $out"
ok "h2c: blocking reload answered when part $((m + 1)).0 appears; other streams served meanwhile (one connection)"

# ---- the front door's routes stay on HTTP/2 (this edge forwards none: 404)
r=$(h2 -o /dev/null -w '%{http_version} %{http_code}' "$U/api/v1/channels")
[ "$r" = "2 404" ] || fail "/api/v1/ over h2: $r (want it answered on HTTP/2)"
ok "h2c: a forwarded route is answered on HTTP/2 (no retry over HTTP/1.1)"

# ---- TLS: ALPN picks h2; HTTP/1.1 still there
S=https://127.0.0.1:$PS
[ "$(curl -sk --http2 -o "$T/t2" -w '%{http_version}' "$S/hls/demo/360p/init.mp4")" = 2 ] || fail "ALPN did not give h2"
cmp -s "$T/t2" "$T/hls/demo/360p/init.mp4" || fail "h2 over TLS bytes"
[ "$(curl -sk --http1.1 -o /dev/null -w '%{http_version}' "$S/hls/demo/360p/init.mp4")" = 1.1 ] || fail "TLS HTTP/1.1"
read -r m p <<<"$(pl_next)"
out=$(curl -sk --http2 --parallel --parallel-max 3 -o "$T/t1" -o "$T/t2" -o "$T/t3" \
	-w '%{http_version} %{http_code} %{num_connects} %{url_effective}\n' \
	"$S/hls/still/360p/index.m3u8?_HLS_msn=8" "$S/hls/demo/360p/index.m3u8?_HLS_msn=$m&_HLS_part=$p" "$S/healthz" 2>/dev/null)
echo "$out" >"$T/par"
[ "$(awk '{n += $3} END {print n}' "$T/par")" = 1 ] || fail "TLS: not one connection: $out"
[ "$(sed -n 3p "$T/par")" = "2 503 1 $S/hls/still/360p/index.m3u8?_HLS_msn=8" ] &&
	grep -qx "2 200 0 $S/healthz" "$T/par" && grep -qx "2 200 0 $S/hls/demo/360p/index.m3u8?_HLS_msn=$m&_HLS_part=$p" "$T/par" ||
	fail "h2 over TLS, a blocking reload and healthz beside a hold: $out"
grep -q "seg$m\.$p\.m4s\"" "$T/t2" || fail "h2 blocking reload over TLS lacks part $m.$p"
[ "$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PS/healthz")" = 200 ] ||
	fail "h2c on the TLS port (from loopback)"
ok "TLS: ALPN h2 (blocking reload beside a hold, one connection), HTTP/1.1 by ALPN, h2c beside it"

# ---- relay mode: an edge in front of this one, asked over h2
PR=$(free_port)
bg "$BIN/lsp-edge" --listen "127.0.0.1:$PR" --origin "$U" --hls-root "$T/hls" --web-root "$T/web" 2>"$T/edge-relay.log"
EP3=$!
wait_port "$PR" 10 || fail "relay edge did not listen"
r=$(h2 -o "$T/rm" -w '%{http_version} %{http_code}' "http://127.0.0.1:$PR/hls/demo/master.m3u8")
[ "$r" = "2 200" ] && grep -q '^360p/index.m3u8$' "$T/rm" || fail "relay master over h2: $r"
read -r m p <<<"$(pl_next)"
out=$(h2 -o "$T/rb" -w '%{http_version} %{http_code}' "http://127.0.0.1:$PR/hls/demo/360p/index.m3u8?_HLS_msn=$m&_HLS_part=$p")
[ "$out" = "2 200" ] && grep -q "seg$m\.$p\.m4s\"" "$T/rb" || fail "relay blocking reload over h2: $out"
ok "relay mode over h2: origin answers, a blocking reload waits on the relay"

# ---- bad input closes that connection only
h2 -o "$T/held" -w '%{http_code}' "$U/hls/still/360p/index.m3u8?_HLS_msn=8" >"$T/held.code" &
HP=$!
exec 5<>"/dev/tcp/127.0.0.1/$P"
python3 - "$P" <<'EOF' || fail "garbage after the preface did not close the connection"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 64)
end = time.time() + 10
while time.time() < end:
    b = s.recv(4096)
    if not b:
        sys.exit(0)
sys.exit(1)
EOF
big=$(head -c 40000 /dev/zero | tr '\0' a)
r=$(h2 -o /dev/null -w '%{http_code}' -H "x-big: $big" "$U/healthz")
[ "$r" = 000 ] || fail "a 40 kB header block was answered $r"
r=$(h2 -o /dev/null -w '%{http_code}' -H "x-big: ${big:0:9000}" "$U/healthz")
[ "$r" = 431 ] || fail "a 9 kB header over h2: $r"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&5
head -c 15 <&5 | grep -q '^HTTP/1.1 200' || fail "an open HTTP/1.1 connection stopped working"
exec 5>&-
wait $HP
[ "$(cat "$T/held.code")" = 503 ] || fail "a held h2 stream on another connection: $(cat "$T/held.code")"
[ "$(h2 -o /dev/null -w '%{http_code}' "$U/healthz")" = 200 ] || fail "new h2 connection after bad ones"
ok "garbage after the preface and a header flood close their connection; others go on"

# ---- metrics by protocol (strict Prometheus text)
curl -s "$U/metrics" >"$T/metrics"
n=$(sed -n 's/^lsp_edge_requests_by_protocol_total{protocol="h2"} //p' "$T/metrics")
[ "${n:-0}" -ge 20 ] || fail "h2 requests counted: '${n:-}'"
grep -q '^lsp_edge_requests_by_protocol_total{protocol="h1"} [1-9]' "$T/metrics" || fail "h1 requests not counted"
grep -q '^# TYPE lsp_edge_h2_connections gauge' "$T/metrics" || fail "no h2 connections gauge"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/metrics" >"$T/promtool" 2>&1 || { cat "$T/promtool" >&2; fail "promtool"; }
fi
ok "metrics: $n requests over h2"

# ---- a clean stop (under SANITIZE=1: no leak or error report)
kill -TERM "$EP1" "$EP2" "$EP3"
wait "$EP1" "$EP2" "$EP3" 2>/dev/null
for l in edge edge-tls edge-relay; do
	! grep -q 'Sanitizer\|runtime error' "$T/$l.log" || { cat "$T/$l.log" >&2; fail "$l: sanitizer report"; }
	grep -q '"stopped"' "$T/$l.log" || fail "$l: lsp-edge did not stop cleanly"
done
ok "stopped cleanly"
