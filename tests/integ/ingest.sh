#!/usr/bin/env bash
# lsp-ingest end to end with real ffmpeg publishers (testsrc2 + sine, H.264 +
# AAC over RTMP) and ffprobe reading what ingest wrote: -o FILE, two channels
# at once with -o {channel}, --exec; refusals (wrong, unknown, revoked key,
# bad app, second publisher on a live channel) never stop the server, and
# keys never reach the log.  Three ingest servers run side by side to keep
# the wall time near one publish.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
need ffmpeg
need ffprobe
SECS=4

start_ingest() { # name args... → port in $PORT, pid in $IPID
	PORT=$(free_port)
	bg "$BIN/lsp-ingest" -l "127.0.0.1:$PORT" "${@:2}" 2>"$T/$1.log"
	IPID=$!
	wait_port "$PORT" 10 || fail "$1: ingest did not listen"
}

KA=$(new_channel alpha); KB=$(new_channel beta); KG=$(new_channel gamma)
KD=$(new_channel delta); KR=$(new_channel revoked); KE=$(new_channel epsilon)
"$BIN/lsp-ctl" key revoke revoked 2>/dev/null || fail "revoke"
[[ $KA =~ ^alpha_[0-9a-f]{48}$ ]] || fail "no key from lsp-ctl"

start_ingest multi -o "$T/{channel}.ts"; PM=$PORT; PIDM=$IPID
start_ingest single -o "$T/out.ts"; PS=$PORT
start_ingest exec --exec "cat > '$T/{channel}.exec.ts'"; PE=$PORT

# Refusals first: the same server must then serve good publishers.
publish "rtmp://127.0.0.1:$PM/live/alpha_$(printf '0%.0s' {1..48})" 1 2>"$T/ff-wrong.err" && fail "wrong key accepted"
publish "rtmp://127.0.0.1:$PM/live/nosuch_$(printf 'a%.0s' {1..48})" 1 2>/dev/null && fail "unknown channel accepted"
publish "rtmp://127.0.0.1:$PM/live/garbage" 1 2>/dev/null && fail "garbage key accepted"
publish "rtmp://127.0.0.1:$PM/live/$KR" 1 2>/dev/null && fail "revoked key accepted"
publish "rtmp://127.0.0.1:$PM/other/$KA" 1 2>/dev/null && fail "bad app accepted"
ok "wrong, unknown, garbage, revoked keys and bad app refused"

publish "rtmp://127.0.0.1:$PM/live/$KA" $SECS 2>"$T/ff-alpha.err" & pa=$!
publish "rtmp://127.0.0.1:$PM/live/$KB" $SECS 2>"$T/ff-beta.err" & pb=$!
publish "rtmp://127.0.0.1:$PS/live/$KG" $SECS 2>"$T/ff-gamma.err" & pg=$!
publish "rtmp://127.0.0.1:$PE/live/$KD" $SECS 2>"$T/ff-delta.err" & pd=$!
wait_grep '"publish started","channel":"alpha"' "$T/multi.log" 10 || fail "alpha never started"
publish "rtmp://127.0.0.1:$PM/live/$KA" 1 2>"$T/ff-busy.err" && fail "second publisher on a live channel accepted"
grep -q '"reason":"channel busy"' "$T/multi.log" || fail "busy refusal not logged"
publish "rtmp://127.0.0.1:$PS/live/$KE" 1 2>/dev/null && fail "second channel into one shared -o FILE accepted"
grep -q '"reason":"output busy"' "$T/single.log" || fail "output busy refusal not logged"
ok "second publisher refused while alpha is live; one shared output takes one publish"
wait $pa || { cat "$T/ff-alpha.err"; fail "alpha publish failed"; }
wait $pb || { cat "$T/ff-beta.err"; fail "beta publish failed"; }
wait $pg || { cat "$T/ff-gamma.err"; fail "gamma publish failed"; }
wait $pd || { cat "$T/ff-delta.err"; fail "delta publish failed"; }
wait_grep '"publish stopped","channel":"gamma"' "$T/single.log" 5 || fail "gamma never stopped"
wait_grep '"exec command exited","channel":"delta"' "$T/exec.log" 5 || fail "exec command exit not logged"
wait_grep '"publish stopped","channel":"beta"' "$T/multi.log" 5 || fail "beta never stopped"

check_ts "$T/out.ts" $SECS
check_ts "$T/alpha.ts" $SECS
check_ts "$T/beta.ts" $SECS
check_ts "$T/delta.exec.ts" $SECS

for r in "unknown key" "revoked key" "bad app"; do
	grep -q "\"reason\":\"$r\"" "$T/multi.log" || fail "refusal \"$r\" not logged"
done
for k in "$KA" "$KB" "$KG" "$KD" "$KR" "$KE"; do
	grep -q "${k#*_}" "$T"/*.log && fail "a stream key reached a log"
done
grep -q '"level":"fatal"' "$T"/*.log && fail "fatal in a log"
ok "refusals logged with reasons, no key in any log"

# The channel is free again once its publisher is gone.
publish "rtmp://127.0.0.1:$PM/live/$KA" 1 2>"$T/ff-again.err" || { cat "$T/ff-again.err"; fail "republish after end refused"; }
check_ts "$T/alpha.ts" 1

# A downstream that goes away mid-publish ends that publish cleanly (EPIPE).
start_ingest epipe --exec "head -c 3000 >/dev/null"
publish "rtmp://127.0.0.1:$PORT/live/$KB" 3 2>/dev/null
wait_grep '"publish stopped","channel":"beta".*"reason":"downstream closed"' "$T/epipe.log" 5 ||
	{ cat "$T/epipe.log"; fail "no clean end when the downstream closed"; }
kill -0 "$IPID" || fail "ingest died on EPIPE"
ok "downstream closing ends the publish with reason downstream closed"

kill -0 "$PIDM" || fail "ingest died"
kill -TERM "$PIDM"
for _ in $(seq 50); do kill -0 "$PIDM" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PIDM" 2>/dev/null && fail "ingest ignored SIGTERM"
wait "$PIDM"; rc=$?
[ $rc -eq 0 ] || fail "ingest exit $rc after SIGTERM"
"$BIN/lsp-ingest" --bogus 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "bad option rc=$rc"
"$BIN/lsp-ingest" --version | grep -q '^lsp-ingest ' || fail "--version"
ok "SIGTERM stops the server; usage errors exit 100"
