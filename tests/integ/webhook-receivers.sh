#!/usr/bin/env bash
# lsp-hook keeps one queue per receiver: a receiver that hangs delays only
# its own channel's events.  Three channels publish at once (real ffmpeg →
# lsp-ingest → NATS → lsp-hook): "slow" has its own webhook_url at a
# receiver that sleeps 60 s on every request (lsp-hook gives each try up
# after LSP_WEBHOOK_TIMEOUT, 3 s), "fast" has its own at a healthy
# receiver, "plain" has none (the global LSP_WEBHOOK_URL).  Checked:
#  1. fast's and plain's live … ended arrive, in order, within a few
#     seconds of the publish (bound 20 s; one shared queue held them
#     behind slow's retries until --max-age, 60 s here), measured;
#  2. meanwhile slow's head is retried (the same X-LSP-Delivery posted
#     again, "webhook failed" logged, lsp_hook_failures_total counts) and
#     lsp_hook_receivers shows the one receiver still holding events;
#  3. once slow's receiver answers, its events follow in order (the
#     retried one once, as the first) and every queue is empty again.
# Every request's signature is checked; the secret is in no log.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
. "$(dirname "$0")/webhook/common.sh"
need ffmpeg; need curl; need python3
start_nats

RECV=$ROOT/tests/tools/hookrecv.py
SECRET=whsec-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_recv hang; echo "* sleep60" >"$T/hang.mode"
start_recv good
start_recv g
events() { # receiver channel → its events, one per delivery id, in order of first arrival
	python3 - "$T/$1.jsonl" "$2" <<'PY'
import json, sys
out, seen = [], set()
for l in open(sys.argv[1]):
    r = json.loads(l)
    b = json.loads(r["body"])
    d = {k.lower(): v for k, v in r["headers"].items()}["x-lsp-delivery"]
    if b["channel"] == sys.argv[2] and d not in seen:
        seen.add(d)
        out.append(b["event"])
print(" ".join(out))
PY
}
arrived() { # receiver channel event → arrival time (unix s, float) of the first, or nothing
	python3 - "$T/$1.jsonl" "$2" "$3" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    b = json.loads(r["body"])
    if b["channel"] == sys.argv[2] and b["event"] == sys.argv[3]:
        print("%.3f" % r["arrived"])
        break
PY
}
wait_event() { # receiver channel event [seconds]: by the clock, however slow each look is
	local end=$((SECONDS + ${4:-20}))
	while ((SECONDS < end)); do [[ " $(events "$1" "$2") " == *" $3 "* ]] && return 0; sleep 0.1; done
	return 1
}
metric() { curl -fsS "http://127.0.0.1:$MPORT/metrics"; }

KS=$(new_channel slow); KF=$(new_channel fast); KP=$(new_channel plain)
"$BIN/lsp-ctl" channel set slow "webhook_url=http://127.0.0.1:$(cat "$T/hang.port")/slow" || fail "set slow's URL"
"$BIN/lsp-ctl" channel set fast "webhook_url=http://127.0.0.1:$(cat "$T/good.port")/fast" || fail "set fast's URL"
PORT=$(free_port); MPORT=$(free_port)
# ingest asks no admission here (no secret in its environment): lsp-hook alone posts
LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-ingest" -l "127.0.0.1:$PORT" -t 3 -o "$T/{channel}.ts" 2>"$T/ingest.log"
wait_port "$PORT" 10 || fail "ingest did not listen"
LSP_WEBHOOK_URL=http://127.0.0.1:$(cat "$T/g.port")/global LSP_WEBHOOK_SECRET=$SECRET LSP_WEBHOOK_TIMEOUT=3 \
	LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-hook" --health-interval 0 --retry-max 2 --max-age 60 --concurrency 4 \
	--metrics "127.0.0.1:$MPORT" 2>"$T/hook.log"
HPID=$!
wait_grep '"subscribed"' "$T/hook.log" 10 || { cat "$T/hook.log"; fail "lsp-hook did not subscribe"; }

# slow first, so its live is the oldest event lsp-hook holds
(publish "rtmp://127.0.0.1:$PORT/live/$KS" 8) 2>"$T/ff-slow.err" & ps=$!
wait_grep '"publish started","channel":"slow"' "$T/ingest.log" 15 || fail "slow never started"
wait_grep '"webhook failed".*"channel":"slow"' "$T/hook.log" 15 ||
	{ cat "$T/hook.log"; fail "slow's receiver was not tried"; }
(publish "rtmp://127.0.0.1:$PORT/live/$KF" 3) 2>"$T/ff-fast.err" & pf=$!
(publish "rtmp://127.0.0.1:$PORT/live/$KP" 3) 2>"$T/ff-plain.err" & pp=$!
wait $pf || { cat "$T/ff-fast.err"; fail "publish fast"; }
wait $pp || { cat "$T/ff-plain.err"; fail "publish plain"; }
t_end=$(date +%s.%N)

# 1. fast's and plain's events arrive promptly, in order, while slow's hang
wait_event good fast ended 20 || { tail -n 5 "$T/hook.log"; fail "fast's events held back: $(events good fast)"; }
wait_event g plain ended 20 || { tail -n 5 "$T/hook.log"; fail "plain's events held back: $(events g plain)"; }
for c in "good fast" "g plain"; do
	set -- $c
	[[ "$(events $1 $2)" =~ ^live\ (health\ )+ended$ ]] || fail "$2's events: $(events $1 $2)"
done
t_live=$(grep -m1 '"publish started","channel":"fast"' "$T/ingest.log" |
	python3 -c 'import json,sys,datetime as d; print(d.datetime.fromisoformat(json.loads(sys.stdin.read())["ts"].replace("Z","+00:00")).timestamp())' 2>/dev/null)
lag_live=$(awk -v a="$(arrived good fast live)" -v b="$t_live" 'BEGIN { if (b) printf "%.2f", a - b; else print "?" }')
lag_end=$(awk -v a="$(arrived good fast ended)" -v b="$t_end" 'BEGIN { printf "%.2f", a - b }')
lag_plain=$(awk -v a="$(arrived g plain ended)" -v b="$t_end" 'BEGIN { printf "%.2f", a - b }')
awk -v a="$lag_end" -v b="$lag_plain" 'BEGIN { exit !(a < 20 && b < 20) }' ||
	fail "fast's ended came ${lag_end} s, plain's ${lag_plain} s after their publishes ended (bound 20 s)"
[ -z "$(events good slow)$(events g slow)$(events g fast)$(events hang fast)" ] || fail "an event went to another channel's receiver"
ok "fast and plain delivered while slow's receiver hangs: fast $(events good fast | wc -w) events, live ${lag_live} s after its publish started, ended ${lag_end} s (plain's ${lag_plain} s) from ffmpeg's exit (negative: before it; load $(cut -d' ' -f1 /proc/loadavg))"

# 2. slow's head is retried: the same delivery posted again
for ((i = 0; i < 200; i++)); do
	n=$(python3 - "$T/hang.jsonl" <<'PY'
import collections, json, sys
c = collections.Counter({k.lower(): v for k, v in json.loads(l)["headers"].items()}["x-lsp-delivery"] for l in open(sys.argv[1]))
print(max(c.values()) if c else 0)
PY
)
	[ "$n" -ge 2 ] && break; sleep 0.1
done
[ "$n" -ge 2 ] || fail "slow's event was not retried"
[ "$(events hang slow | cut -d' ' -f1)" = live ] || fail "slow's first event: $(events hang slow)"
wait $ps || { cat "$T/ff-slow.err"; fail "publish slow"; }
m=$(metric) || fail "no metrics"
grep -Eq '^lsp_hook_failures_total\{event="live"\} [1-9]' <<<"$m" || fail "no failure counted: $(grep hook_ <<<"$m")"
for ((i = 0; i < 100; i++)); do m=$(metric); grep -q '^lsp_hook_receivers 1$' <<<"$m" && break; sleep 0.1; done
grep -q '^lsp_hook_receivers 1$' <<<"$m" || fail "receivers holding events: $(grep receivers <<<"$m")"
ok "slow's live tried $n times so far (same delivery id), the others unaffected; $(grep -E '^lsp_hook_(queue_length|in_flight) ' <<<"$m" | tr '\n' ' ')"

# 3. slow's receiver recovers: its events follow, in order
: >"$T/hang.mode"
wait_event hang slow ended 60 || { tail -n 5 "$T/hook.log"; fail "slow's events never arrived: $(events hang slow)"; }
[[ "$(events hang slow)" =~ ^live\ (health\ )+ended$ ]] || fail "slow: $(events hang slow)"
for ((i = 0; i < 100; i++)); do m=$(metric); grep -q '^lsp_hook_queue_length 0$' <<<"$m" && break; sleep 0.1; done
grep -q '^lsp_hook_queue_length 0$' <<<"$m" && grep -q '^lsp_hook_receivers 0$' <<<"$m" ||
	fail "queues not empty: $(grep -E 'queue_length|receivers' <<<"$m")"
grep -q '^lsp_hook_delivered_total{event="ended"} 3$' <<<"$m" || fail "delivered: $(grep delivered <<<"$m")"
for r in hang good g; do python3 "$RECV" --verify "$SECRET" "$T/$r.jsonl" >/dev/null || fail "a signature did not verify ($r)"; done
if grep -l -e "$SECRET" -e 'v1=' "$T"/*.log; then fail "secret or signature logged"; fi
kill -0 "$HPID" || fail "lsp-hook died"
ok "slow's receiver back: its $(events hang slow | wc -w) events delivered in order; queues empty; signatures verified"
