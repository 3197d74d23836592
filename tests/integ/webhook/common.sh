# tests/integ/webhook/common.sh — helpers the webhook tests share
# (tests/integ/webhook-*.sh source it after ../lib.sh).

# start_recv NAME: a tests/tools/hookrecv.py receiver; its port in
# $T/NAME.port, the requests it got in $T/NAME.jsonl (one JSON object a
# line), what it answers from $T/NAME.mode (re-read on every request).
start_recv() {
	: >>"$T/$1.mode"
	bg python3 "$ROOT/tests/tools/hookrecv.py" "$T/$1.port" "$T/$1.jsonl" "$T/$1.mode"
	wait_file "$T/$1.port" 10 || fail "receiver $1 did not start"
	wait_port "$(cat "$T/$1.port")" 10 || fail "receiver $1 not listening"
	touch "$T/$1.jsonl"
}
