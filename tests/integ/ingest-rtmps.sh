#!/usr/bin/env bash
# lsp-ingest RTMPS (RTMP over TLS, OpenSSL): a self-signed certificate made
# here; ffmpeg publishes rtmps:// and ffprobe reads the TS; garbage bytes
# and a plain RTMP handshake on the TLS port are logged as failed TLS
# handshakes and the server keeps serving both ports; a wrong key over TLS
# is refused like over RTMP; --tls-listen without --cert/--key is a usage
# error and an unreadable certificate a system failure.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
need ffmpeg
need ffprobe
need openssl
SECS=3


openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
	-subj /CN=127.0.0.1 2>"$T/openssl.err" || fail "openssl req: $(cat "$T/openssl.err")"

timeout 5 "$BIN/lsp-ingest" -l "127.0.0.1:$(free_port)" --tls-listen "127.0.0.1:$(free_port)" 2>/dev/null; [ $? -eq 100 ] || fail "--tls-listen without --cert/--key: not a usage error"
timeout 5 "$BIN/lsp-ingest" -l "127.0.0.1:$(free_port)" --tls-listen "127.0.0.1:$(free_port)" --cert "$T/nosuch.pem" \
	--key "$T/key.pem" 2>"$T/nocert.log"; rc=$?
[ $rc -eq 111 ] || fail "missing certificate: exit $rc, want 111"
grep -q '"unable to listen".*nosuch.pem' "$T/nocert.log" || fail "missing certificate not logged"
ok "usage and certificate errors"

KA=$(new_channel alpha); KB=$(new_channel beta)
RP=$(free_port); TP=$(free_port)
bg "$BIN/lsp-ingest" -l "127.0.0.1:$RP" --tls-listen "127.0.0.1:$TP" --cert "$T/cert.pem" --key "$T/key.pem" \
	-o "$T/{channel}.ts" 2>"$T/ingest.log"
IPID=$!
wait_port "$TP" 10 || fail "ingest did not listen on the TLS port"

# Bad input on the TLS port first: random bytes, then a plain RTMP C0+C1.
head -c 4096 /dev/urandom >/dev/tcp/127.0.0.1/"$TP"
{ printf '\003'; head -c 1536 /dev/zero; } >/dev/tcp/127.0.0.1/"$TP"
publish "rtmp://127.0.0.1:$TP/live/$KA" 1 2>/dev/null && fail "plain RTMP accepted on the TLS port"
wait_grep '"tls handshake failed"' "$T/ingest.log" 5 || fail "garbage not logged: $(cat "$T/ingest.log")"
n=$(grep -c '"tls handshake failed"' "$T/ingest.log")
[ "$n" -ge 2 ] || fail "want ≥ 2 failed TLS handshakes logged, got $n"
publish "rtmps://127.0.0.1:$TP/live/alpha_$(printf '0%.0s' {1..48})" 1 2>/dev/null && fail "wrong key accepted over TLS"
grep -q '"publish refused".*"unknown key"' "$T/ingest.log" || fail "wrong key over TLS not logged"
kill -0 "$IPID" || fail "ingest died on bad input"
ok "garbage, plain RTMP and a wrong key on the TLS port: $n TLS failures logged, server alive"

# Then good publishers on both ports at once.
publish "rtmps://127.0.0.1:$TP/live/$KA" $SECS 2>"$T/ff-a.err" & pa=$!
publish "rtmp://127.0.0.1:$RP/live/$KB" $SECS 2>"$T/ff-b.err" & pb=$!
wait $pa || fail "rtmps publish failed: $(cat "$T/ff-a.err")"
wait $pb || fail "rtmp publish failed: $(cat "$T/ff-b.err")"
wait_grep '"publish stopped","channel":"alpha"' "$T/ingest.log" 5 || fail "alpha did not end"
wait_grep '"publish stopped","channel":"beta"' "$T/ingest.log" 5 || fail "beta did not end"
check_ts "$T/alpha.ts" $SECS
check_ts "$T/beta.ts" $SECS
grep -q '"publish started","channel":"alpha".*"stage":"publishing"' "$T/ingest.log" || fail "no RTMPS publish logged"
! grep -q "$KA\|$KB" "$T/ingest.log" || fail "a stream key reached the log"
kill -TERM "$IPID"; wait "$IPID" || fail "ingest exited $? on SIGTERM"
ok "rtmps:// and rtmp:// side by side; clean stop"
