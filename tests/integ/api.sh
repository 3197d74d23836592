#!/usr/bin/env bash
# test: alone
# lsp-api on SQLite, over real HTTP: routes x roles, accounts, CSRF, rate
# limits, kid mode, DSAR export/erase with lsp-chat and NATS, then an ffmpeg
# publish with the key from the API, key rotation (the old key is refused)
# and suspension (the live publisher is cut via NATS lsp.ctl.<ch>.kick).
. "$(dirname "$0")/../lib.sh"
need sqlite3
need ffmpeg
sql() { sqlite3 "$LSP_DATA_DIR/lsp.db" "$1"; }
. "$ROOT/tests/tools/api-flow.sh"

# publish with the API's key; rotate; the old key is refused
IP=$(free_port)
bg "$BIN/lsp-ingest" -l 127.0.0.1:$IP -o "$T/{channel}.ts" -t 5 2>"$T/ingest.log"
wait_port "$IP" 10 || fail "lsp-ingest did not start"
publish() { # key seconds
	timeout -k 2 $(($2 + 10)) ffmpeg -hide_banner -nostdin -loglevel error -re \
		-f lavfi -i "testsrc2=size=160x120:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
		-t "$2" -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -c:a aac -b:a 32k \
		-f flv "rtmp://127.0.0.1:$IP/live/$1" 2>>"$T/ffmpeg.log"
}
KEY1=$(st key1)
publish "$KEY1" 2 || fail "publish with the key from the API"
[ -s "$T/$CH.ts" ] || fail "no TS from the first publish"
ok "ffmpeg publishes with the key lsp-api showed"
$AT "$API" rotate "$T/state.json" || fail "rotate"
n0=$(grep -c "publish refused" "$T/ingest.log")
publish "$KEY1" 1 && fail "the old key still publishes after rotation"
[ "$(grep -c "publish refused" "$T/ingest.log")" -gt "$n0" ] || fail "ingest did not log the refusal"
ok "after rotation the old key is refused"
KEY2=$(st key2)
rm -f "$T/$CH.ts"
publish "$KEY2" 1 || fail "the new key does not publish"
[ -s "$T/$CH.ts" ] || fail "no TS from the new key"
ok "the new key publishes"
"$BIN/lsp-record" -c "$CH" -i "$T/$CH.ts" --always --no-sync --segment 1 2>"$T/record.log" || fail "lsp-record"
$AT "$API" recordings "$T/state.json" || fail "recordings"

# suspension cuts the live publisher within a second (NATS kick)
publish "$KEY2" 30 & FF=$!
n1=$(grep -c "publish started" "$T/ingest.log")
for _ in $(seq 50); do [ "$(grep -c "publish started" "$T/ingest.log")" -gt "$n1" ] && break; sleep 0.1; done
$AT "$API" health "$T/state.json" || fail "health"
t0=$(date +%s%N)
$AT "$API" suspend "$T/state.json" || fail "suspend"
for _ in $(seq 40); do kill -0 $FF 2>/dev/null || break; sleep 0.05; done
t1=$(date +%s%N)
if kill -0 $FF 2>/dev/null; then kill $FF; fail "the live publisher was not cut within 2 s of the suspension"; fi
ms=$(( (t1 - t0) / 1000000 ))
ok "suspension cut the live publisher in ${ms} ms"
publish "$KEY2" 1 && fail "a suspended channel still publishes"
ok "a suspended channel's key is refused"

# TLS: HSTS on HTTPS answers; per-address sign-in limit; CORS for the pages' origin
need openssl
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" \
	>/dev/null 2>&1 || fail "openssl req"
SP=$(free_port)
bg "$BIN/lsp-api" -l 127.0.0.1:$SP --cert "$T/cert.pem" --key "$T/key.pem" --scrypt-log2n 10 --rate-addr 3 \
	--cors "https://tv.example:8080" 2>"$T/api-tls.log"
wait_port "$SP" 10 || fail "lsp-api with TLS did not start"
H=$(curl -sk -D - -o /dev/null "https://127.0.0.1:$SP/api/v1/health") || fail "HTTPS request"
grep -qi '^strict-transport-security: max-age=' <<<"$H" || fail "no HSTS over TLS"
ok "HTTPS answers carry HSTS"
codes=""
for i in 1 2 3 4; do
	codes+=$(curl -sk -o /dev/null -w '%{http_code} ' -H 'Content-Type: application/json' \
		-d "{\"name\":\"nobody$i\",\"password\":\"whatever1\"}" "https://127.0.0.1:$SP/api/v1/signin")
done
[ "$codes" = "401 401 401 429 " ] || fail "per-address limit: got $codes"
ok "per-address sign-in limit (--rate-addr 3): $codes"
H=$(curl -sk -D - -o /dev/null -X OPTIONS -H 'Origin: https://tv.example:8080' \
	-H 'Access-Control-Request-Method: POST' "https://127.0.0.1:$SP/api/v1/signin")
grep -qi '^access-control-allow-origin: https://tv.example:8080' <<<"$H" &&
	grep -qi '^access-control-allow-credentials: true' <<<"$H" || fail "no CORS for the allowed origin"
H=$(curl -sk -D - -o /dev/null -H 'Origin: https://evil.example' "https://127.0.0.1:$SP/api/v1/health")
grep -qi '^access-control-allow-origin' <<<"$H" && fail "CORS granted to a foreign origin"
ok "CORS with credentials for --cors origins only"
