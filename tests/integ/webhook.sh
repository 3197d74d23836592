#!/usr/bin/env bash
# Webhooks end to end: a real nats-server, lsp-ingest asking the admission
# webhook at publish start, lsp-hook posting .live/.health/.ended, and a
# receiver (tests/tools/hookrecv.py) that records each POST and answers as
# told.  1. publish → live → health → ended arrive in order, each signed
# (the HMAC checked in Python); 2. a 403 refuses the publish, RTMP and SRT (ffmpeg fails,
# the refusal is logged, no .live); 3. a receiver that sleeps 10 s delays a
# publish by the timeout only (fail open; measured); 4. a receiver that is
# down: publishes go on, failures are logged in a few lines, and the
# events arrive once it is back; with LSP_WEBHOOK_FAIL=closed the publish
# is refused instead.  The secret and signatures appear in no log.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
need ffmpeg
need python3
start_nats

RECV=$ROOT/tests/tools/hookrecv.py
SECRET=whsec-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
MODE=$T/mode; LOG=$T/hooks.jsonl
: >"$MODE"
start_recv() { # [port]
	rm -f "$T/recv.port"
	bg python3 "$RECV" "$T/recv.port" "$LOG" "$MODE" ${1:-}
	RPID=$!
	wait_file "$T/recv.port" 10 || fail "receiver did not start"
	RPORT=$(cat "$T/recv.port")
	wait_port "$RPORT" 10 || fail "receiver not listening"
}
start_recv
export LSP_WEBHOOK_URL=http://127.0.0.1:$RPORT/hook LSP_WEBHOOK_SECRET=$SECRET
events() { # channel → its events in arrival order, one line
	python3 - "$LOG" "$1" <<'PY'
import json, sys
out = []
for l in open(sys.argv[1]):
    b = json.loads(json.loads(l)["body"])
    if b["channel"] == sys.argv[2]:
        out.append(b["event"])
print(" ".join(out))
PY
}
wait_event() { # channel event [seconds]
	local i n=$(( ${3:-20} * 10 ))
	for ((i = 0; i < n; i++)); do [[ " $(events "$1") " == *" $2 "* ]] && return 0; sleep 0.1; done
	return 1
}

KA=$(new_channel alpha); KB=$(new_channel beta); KC=$(new_channel gamma); KD=$(new_channel delta)
PORT=$(free_port); MPORT=$(free_port); SPORT=$(free_port)
LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-ingest" -l "127.0.0.1:$PORT" --srt-listen "127.0.0.1:$SPORT" -t 3 \
	-o "$T/{channel}.ts" 2>"$T/ingest.log"
wait_port "$PORT" 10 || fail "ingest did not listen"
LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-hook" --health-interval 0 --retry-max 2 --metrics "127.0.0.1:$MPORT" \
	2>"$T/hook.log"
HPID=$!
wait_grep '"subscribed"' "$T/hook.log" 10 || { cat "$T/hook.log"; fail "lsp-hook did not subscribe"; }

# 1. The whole life of a publish, in order and signed.
t0=$(date +%s%N)
(publish "rtmp://127.0.0.1:$PORT/live/$KA" 4) 2>"$T/ff-a.err" & pa=$!
wait_grep '"publish started","channel":"alpha"' "$T/ingest.log" 15 || fail "alpha never started"
base_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait $pa || { cat "$T/ff-a.err" "$T/ingest.log"; fail "publish a"; }
wait_event alpha ended 20 || { cat "$T/hook.log"; fail "no ended for alpha: $(events alpha)"; }
ev=$(events alpha)
[[ "$ev" =~ ^publish\ live\ (health\ )+ended$ ]] || fail "alpha's events: $ev"
n=$(python3 "$RECV" --verify "$SECRET" "$LOG") || fail "a signature did not verify"
python3 - "$LOG" <<'PY' || fail "bodies"
import json, sys
recs = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
p = [r for r in recs if r["event"] == "publish"][0]
assert p["channel"] == "alpha" and p["protocol"] == "rtmp" and p["remote_addr"].startswith("127.0.0.1:"), p
live = [r for r in recs if r["event"] == "live"][0]
assert live["data"]["video_codec"] == "h264" and live["data"]["width"] == 320, live
h = [r for r in recs if r["event"] == "health"][0]
assert h["data"]["bitrate_kbps"] > 0, h
e = [r for r in recs if r["event"] == "ended"][0]
assert e["data"]["reason"] == "unpublished", e
PY
ok "alpha: $ev; $n signatures verified"

# 2. 403: the publish is refused, the reason logged, no live.
echo "publish 403" >"$MODE"
if publish "rtmp://127.0.0.1:$PORT/live/$KB" 3 2>"$T/ff-b.err"; then fail "publish admitted despite a 403"; fi
wait_grep '"publish refused","channel":"beta".*"reason":"webhook refused: 403 403 mode 403"' "$T/ingest.log" 5 ||
	{ grep beta "$T/ingest.log"; fail "no refusal logged"; }
sleep 2 # a .live would have been posted well within this
[ "$(events beta)" = "publish" ] || fail "beta after a refusal: $(events beta)"
[ -e "$T/beta.ts" ] && fail "a refused publish opened its output"
ok "403 refused the publish (ffmpeg: $(head -c 80 "$T/ff-b.err" | tr '\n' ' '))"
# the same over SRT (the key travels in the streamid)
timeout -k 2 15 ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i "testsrc2=size=320x240:rate=25" \
	-t 5 -c:v libx264 -preset ultrafast -g 25 -f mpegts "srt://127.0.0.1:$SPORT?streamid=$KB" 2>"$T/ff-srt.err" &
psrt=$!
wait_grep '"publish refused","channel":"beta".*"reason":"webhook refused: 403.*"stage":"srt"' "$T/ingest.log" 15 ||
	{ grep beta "$T/ingest.log"; fail "SRT publish not refused"; }
kill "$psrt" 2>/dev/null; wait "$psrt" 2>/dev/null
python3 - "$LOG" <<'PY' || fail "no SRT admission request"
import json, sys
assert any(json.loads(json.loads(l)["body"]).get("protocol") == "srt" for l in open(sys.argv[1]))
PY
ok "403 refused an SRT publish too"

# 3. A receiver that sleeps 10 s: admitted after the 2 s timeout (fail open).
echo "publish sleep10" >"$MODE"
t0=$(date +%s%N)
(publish "rtmp://127.0.0.1:$PORT/live/$KC" 4) 2>"$T/ff-c.err" & pc=$!
wait_grep '"publish started","channel":"gamma"' "$T/ingest.log" 15 || fail "gamma never started"
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
wait $pc || { cat "$T/ff-c.err"; fail "gamma's publish failed"; }
grep -q '"webhook failed","channel":"gamma".*admitted (fail open)' "$T/ingest.log" || fail "no fail-open warning"
waited=$(grep '"webhook failed","channel":"gamma"' "$T/ingest.log" | sed -n 's/.*"duration_s":\([0-9.]*\).*/\1/p')
awk -v w="$waited" 'BEGIN { exit !(w >= 1.9 && w < 3.5) }' || fail "webhook wait $waited s, want about 2"
[ $ms -lt 9000 ] || fail "publish start took $ms ms with a 10 s receiver"
ok "sleeping receiver: admitted after ${waited} s in ingest; ffmpeg start → publish started ${ms} ms (answering receiver: ${base_ms} ms; load $(cut -d' ' -f1 /proc/loadavg))"
: >"$MODE"
wait_event gamma ended 30 || fail "no ended for gamma: $(events gamma)"

# 4. The receiver is down: publishing goes on; events follow once it is back.
kill "$RPID"; wait "$RPID" 2>/dev/null
hook_fail0=$(grep -c '"webhook failed"' "$T/hook.log")
publish "rtmp://127.0.0.1:$PORT/live/$KD" 3 2>"$T/ff-d.err" || { cat "$T/ff-d.err"; fail "publish with the receiver down"; }
grep -q '"webhook failed","channel":"delta".*admitted (fail open)' "$T/ingest.log" || fail "ingest logged no failure"
wait_grep '"webhook failed".*"channel":"delta"' "$T/hook.log" 10 || fail "lsp-hook logged no failure"
P2=$(free_port)
LSP_WEBHOOK_FAIL=closed LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-ingest" -l "127.0.0.1:$P2" -o "$T/closed-{channel}.ts" \
	2>"$T/ingest-closed.log"
wait_port "$P2" 10 || fail "fail-closed ingest did not listen"
if publish "rtmp://127.0.0.1:$P2/live/$KD" 2 2>"$T/ff-e.err"; then fail "fail closed admitted a publish"; fi
grep -q '"publish refused","channel":"delta".*webhook unavailable (fail closed)' "$T/ingest-closed.log" ||
	fail "fail closed: no refusal logged"
sleep 3 # several retries fail meanwhile
start_recv "$RPORT"
wait_event delta ended 30 || { tail -n 5 "$T/hook.log"; fail "delta's events never arrived: $(events delta)"; }
# the admission POST found nobody (fail open); the rest was queued and retried
[[ "$(events delta)" =~ ^live\ (health\ )*ended$ ]] || fail "delta: $(events delta)"
nf=$(( $(grep -c '"webhook failed"' "$T/hook.log") - hook_fail0 ))
[ "$nf" -ge 1 ] && [ "$nf" -le 3 ] || fail "lsp-hook logged $nf failure lines (want 1..3)"
python3 - "$T/hook.log" "$T/ingest.log" <<'PY' || fail "log lines are not one JSON object each"
import json, sys
for l in open(sys.argv[1]).readlines() + open(sys.argv[2]).readlines():
    json.loads(l, object_pairs_hook=lambda kv: (len(kv) == len(dict(kv)) or sys.exit("duplicate key: " + l)) and dict(kv))
PY
m=$(curl -fsS "http://127.0.0.1:$MPORT/metrics") || fail "no metrics"
grep -Eq '^lsp_hook_failures_total\{event="(live|health|ended)"\} [1-9]' <<<"$m" || fail "no failures counted: $m"
grep -q '^lsp_hook_delivered_total{event="ended"} 3$' <<<"$m" || fail "delivered: $(grep delivered <<<"$m")"
n=$(python3 "$RECV" --verify "$SECRET" "$LOG") || fail "a signature did not verify"
ok "receiver down: publish went on, $nf lsp-hook failure line(s), delta's $(events delta | wc -w) events delivered after; $n signatures verified"

# Never the secret or a signature in a log.
if grep -l -e "$SECRET" -e 'v1=' "$T"/*.log; then fail "secret or signature logged"; fi
kill -0 "$HPID" || fail "lsp-hook died"
ok "no secret in the logs"
