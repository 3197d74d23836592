#!/usr/bin/env bash
# Password hashing is off lsp-api's request loop: while 50 sign-ins (scrypt,
# N = 2^15, tens of ms each) wait for the hashing threads, GET /api/v1/health
# is answered at once — before the sign-ins are done — and every sign-in
# still succeeds.  Then a queue of 2: the sign-ins past it get 503 with
# Retry-After, none waits forever, and the API answers again afterwards.
. "$(dirname "$0")/../lib.sh"
need python3
LOAD=$ROOT/tests/tools/signin-load.py
mkdir -p "$LSP_DATA_DIR"
start_api() { # port extra-args...
	local p=$1
	shift
	bg "$BIN/lsp-api" -l 127.0.0.1:$p --rate-addr 100000 --rate-user 100000 "$@" 2>>"$T/api.log"
	wait_port "$p" 20 || fail "lsp-api did not start"
}
P=$(free_port)
start_api "$P" --pw-threads 2
python3 - "$P" <<'PY' || fail "sign-up"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("POST", "/api/v1/signup", json.dumps({"name": "loadu", "password": "a long password", "age": 30}),
          {"Content-Type": "application/json"})
r = c.getresponse(); r.read()
sys.exit(0 if r.status == 201 else 1)
PY
out=$(python3 "$LOAD" "$P" loadu "a long password" 50) || fail "signin-load"
echo "$out"
j() { python3 -c 'import json,sys; print(eval(sys.argv[2], {}, json.loads(sys.argv[1])))' "$out" "$1"; }
[ "$(j 'codes.get("200", 0)')" = 50 ] || fail "not every sign-in succeeded: $out"
[ "$(j health_status)" = 200 ] || fail "health did not answer 200: $out"
# The bound that load cannot break: health is answered while sign-ins are
# still waiting for the threads (inline scrypt would answer it after them).
[ "$(j 'finished_before_health < 50')" = True ] || fail "health waited for every sign-in: $out"
ok "health answered in $(j health_ms) ms while 50 sign-ins hashed (they ended at $(j last_signin_ms) ms; $(j finished_before_health) done before health); load $(cut -d' ' -f1-3 /proc/loadavg)"
kill "${_pids[-1]}"

# A small queue: the overflow is refused at once with Retry-After.
P2=$(free_port)
start_api "$P2" --pw-threads 1 --pw-queue 2
out=$(python3 "$LOAD" "$P2" loadu "a long password" 30) || fail "signin-load (queue)"
echo "$out"
[ "$(j 'codes.get("503", 0) > 0')" = True ] || fail "no 503 past a queue of 2: $out"
[ "$(j 'codes.get("200", 0) >= 3')" = True ] || fail "the queued sign-ins did not succeed: $out"
[ "$(j 'sum(codes.values())')" = 30 ] || fail "a sign-in went unanswered: $out"
[ "$(j retry_after)" = True ] || fail "a 503 without Retry-After: $out"
grep -q '"event":"password queue full"' "$T/api.log" || fail "no 'password queue full' event"
ok "past a queue of 2: $(j 'codes.get("503", 0)') of 30 got 503 + Retry-After, $(j 'codes.get("200", 0)') signed in"
out=$(python3 "$LOAD" "$P2" loadu "a long password" 1) || fail "signin-load (after)"
[ "$(j 'codes.get("200", 0)')" = 1 ] || fail "no sign-in after the burst: $out"
ok "sign-in works again after the burst"
