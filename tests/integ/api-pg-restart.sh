#!/usr/bin/env bash
# Postgres restarted under load: lsp-api and lsp-chat report the store as
# down while it is (health 503 "degraded"), then serve again within 5 s of
# the database accepting connections, with no restart of their own.  Runs
# only on a Postgres this test starts itself (it stops and starts it).
. "$(dirname "$0")/../lib.sh"
need psql
need python3
unset LSP_TEST_PG_URL # never restart a shared server: this test makes its own
start_pg
export LSP_DB_URL=$PG_URL
export LSP_SECRET=pg-restart-$$
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
pgctl() { su postgres -c "$PGBIN/pg_ctl -D $_pg_dir -l $_pg_dir/log -w $*" >>"$T/pgctl.log" 2>&1; }

AP=$(free_port)
bg "$BIN/lsp-api" -l 127.0.0.1:$AP --scrypt-log2n 10 --rate-addr 100000 --rate-signup 100000 2>"$T/api.log"
wait_port "$AP" 10 || { cat "$T/api.log" >&2; fail "lsp-api did not start"; }
CP=$(free_port)
bg "$BIN/lsp-chat" -l 127.0.0.1:$CP 2>"$T/chat.log"
wait_port "$CP" 10 || { cat "$T/chat.log" >&2; fail "lsp-chat did not start"; }
"$BIN/lsp-ctl" channel add pgload >/dev/null 2>>"$T/ctl.log" || fail "channel add"

# load: four clients reading channels from the store without pause
cat >"$T/load.py" <<'PY'
import sys, time, threading, urllib.request, urllib.error
api, secs, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
res = []
def worker():
    end = time.time() + secs
    while time.time() < end:
        try:
            with urllib.request.urlopen(api + "/api/v1/channels/pgload", timeout=10) as r:
                res.append(r.status)
        except urllib.error.HTTPError as e:
            res.append(e.code)
        except Exception:
            res.append(0)
ts = [threading.Thread(target=worker) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
open(out, "w").write(" ".join(map(str, res)))
PY
bg python3 "$T/load.py" "http://127.0.0.1:$AP" 25 "$T/load.out"
LOADPID=$!

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1"; }
[ "$(code "http://127.0.0.1:$AP/api/v1/health")" = 200 ] || fail "api health not 200 before"
[ "$(code "http://127.0.0.1:$CP/health")" = 200 ] || fail "chat health not 200 before"

# down: both report the store as degraded (polled, not timed)
pgctl -m fast stop || fail "pg_ctl stop"
for url in "http://127.0.0.1:$AP/api/v1/health" "http://127.0.0.1:$CP/health"; do
	i=0
	until [ "$(code "$url")" = 503 ]; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "$url never reported the store down"; sleep 0.1
	done
done
curl -s --max-time 5 "http://127.0.0.1:$AP/api/v1/health" | grep -q '"store_ok": *false' || fail "store_ok not false"
sleep 2 # let the backoff grow while the database is down

# back: three pollers (one per URL, every 50 ms) note when each first
# answers 200; the database's own log says when it began accepting
cat >"$T/poll.py" <<'PY'
import sys, time, threading, urllib.request
out, urls = sys.argv[1], sys.argv[2:]
first = {}
def poll(u):
    end = time.time() + 60
    while time.time() < end:
        try:
            with urllib.request.urlopen(u, timeout=5) as r:
                if r.status == 200:
                    first[u] = time.time(); return
        except Exception:
            pass
        time.sleep(0.05)
ts = [threading.Thread(target=poll, args=(u,)) for u in urls]
[t.start() for t in ts]; [t.join() for t in ts]
open(out, "w").write("\n".join("%s %.3f" % (u, first.get(u, 0)) for u in urls) + "\n")
PY
python3 "$T/poll.py" "$T/poll.out" "http://127.0.0.1:$AP/api/v1/channels/pgload" \
	"http://127.0.0.1:$AP/api/v1/health" "http://127.0.0.1:$CP/health" &
POLLPID=$!
PGPORT_=${PG_URL##*:}; PGPORT_=${PGPORT_%%/*}
pgctl -o "\"-k $_pg_dir -h 127.0.0.1 -p $PGPORT_\"" start || fail "pg_ctl start"
wait "$POLLPID" || fail "poller"
# the services' own logs say when each first served a store route again
# (asserted: <= 5 s); the pollers add the client's view on this box (<= 15 s)
python3 - "$_pg_dir/log" "$T/poll.out" "$T/api.log" <<'PY' || fail "a service took more than 5 s to come back"
import sys, json, datetime
def ts(s, fmt):
    return datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()
ready = [l for l in open(sys.argv[1]) if "ready to accept connections" in l][-1]
t = ts(ready[:23], "%Y-%m-%d %H:%M:%S.%f")
ok = 1
first = None
for l in open(sys.argv[3]):
    if not l.startswith("{"):
        sys.exit("not a JSON log line: " + l)
    e = json.loads(l)
    if e.get("event") == "request" and e.get("status") == 200 and e["path"].endswith("/pgload"):
        when = ts(e["ts"][:23], "%Y-%m-%dT%H:%M:%S.%f")
        if when >= t:
            first = when; break
d = first - t if first else 99
print("lsp-api served again %.2f s after the database was ready" % d)
ok = d <= 5
for line in open(sys.argv[2]):
    u, f = line.split(); f = float(f)
    d = f - t if f else 99
    ok = ok and d <= 15
    print("client saw 200 %.2f s after the database: %s" % (d, u))
print("load", open("/proc/loadavg").read().split()[0])
sys.exit(0 if ok else 1)
PY
wait "$LOADPID"
python3 - "$T/load.out" <<'PY' || fail "load saw no success after the restart"
import sys
r = open(sys.argv[1]).read().split()
assert r and r[-1] == "200", r[-20:]
print("load:", len(r), "requests,", r.count("200"), "ok,", len(r) - r.count("200"), "refused while down")
PY
# a restart while idle: the first request after it is served (the statement is resent)
pgctl -m fast restart || fail "pg_ctl restart"
[ "$(code "http://127.0.0.1:$AP/api/v1/channels/pgload")" = 200 ] || fail "first request after a restart failed"
ok "postgres restart: services back within 5 s"
