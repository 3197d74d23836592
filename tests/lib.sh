# tests/lib.sh — shared helpers for integration tests (source it).
# Every test gets a private work dir $T, removed at exit with every child
# process it started.  Servers (nats, postgres, redis) are real and private
# to the test unless the environment names one (LSP_TEST_*_URL).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
T=$(mktemp -d /tmp/lsp-test.XXXXXX)
export LSP_DATA_DIR=$T/var
export LSP_LOG_LEVEL=${LSP_LOG_LEVEL:-info}
unset LSP_DB_URL LSP_NATS_URL
_pids=()
# p's descendants, one per line.  A `bg bash -c "ffmpeg | lsp-ring"` does
# not pass its TERM on: what it started is TERMed once it has gone, so no
# ffmpeg runs on after the test.
_tree() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do echo "$c"; _tree "$c"; done
}
_cleanup() {
	local p kids=()
	for p in "${_pids[@]}"; do kids+=($(_tree "$p")); done
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_pids[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$p" 2>/dev/null
	done
	for p in "${kids[@]}"; do kill "$p" 2>/dev/null; done # what the parents left behind
	[ -n "${_pg_dir:-}" ] && su postgres -c "/usr/lib/postgresql/*/bin/pg_ctl -D $_pg_dir -m immediate stop" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap _cleanup EXIT
bg() { "$@" & _pids+=($!); }                # start a child that dies with the test
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
skip() { echo "skip: $*"; exit 77; }
# A port nothing listens on.  Under tests/run, each job slot draws from its
# own range below the kernel's ephemeral ports (so tests running side by
# side never draw the same one), and a test never gets a port twice.
free_port() {
	python3 - "${LSP_TEST_SLOT:-0}" "$T/.ports" <<'PY'
import random, socket, sys
slot, seen_file = int(sys.argv[1]), sys.argv[2]
try:
    seen = set(open(seen_file).read().split())
except OSError:
    seen = set()
for _ in range(500):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(12000 + 2500 * slot, 14500 + 2500 * slot) if slot else 0))
        port = s.getsockname()[1]
    except OSError:
        continue
    finally:
        s.close()
    if str(port) not in seen:
        open(seen_file, "a").write("%d\n" % port)
        print(port)
        sys.exit(0)
sys.exit("free_port: no free port")
PY
}
wait_port() { # port [seconds]
	local i n=$(( ${2:-10} * 10 ))
	for ((i = 0; i < n; i++)); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
wait_file() { # path [seconds]
	local i n=$(( ${2:-10} * 10 ))
	for ((i = 0; i < n; i++)); do [ -s "$1" ] && return 0; sleep 0.1; done
	return 1
}
wait_grep() { # pattern file [seconds]
	local i n=$(( ${3:-10} * 10 ))
	for ((i = 0; i < n; i++)); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
need() { command -v "$1" >/dev/null || fail "$1 not installed (run make deps)"; }

# A real nats-server with JetStream on a private port → NATS_URL
# (start_nats private: always a server of its own, for tests that kill it)
start_nats() {
	if [ -n "${LSP_TEST_NATS_URL:-}" ] && [ "${1:-}" != private ]; then NATS_URL=$LSP_TEST_NATS_URL; return; fi
	need nats-server
	local p; p=$(free_port)
	bg nats-server -a 127.0.0.1 -p "$p" -js -sd "$T/nats" >"$T/nats.log" 2>&1
	wait_port "$p" 10 || fail "nats-server did not start"
	NATS_URL=nats://127.0.0.1:$p
}

# A throwaway postgres cluster on a private port → PG_URL
start_pg() {
	if [ -n "${LSP_TEST_PG_URL:-}" ]; then # a fresh database on the shared server
		local db; db=t_$(basename "$T" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')
		psql -q "$LSP_TEST_PG_URL" -c "CREATE DATABASE $db" >/dev/null || fail "cannot create database"
		PG_URL=${LSP_TEST_PG_URL%/*}/$db
		return
	fi
	local bindir; bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	[ -x "$bindir/initdb" ] || fail "postgres not installed (run make deps)"
	local p; p=$(free_port)
	_pg_dir=$T/pg
	mkdir -p "$_pg_dir" && chown postgres "$_pg_dir" "$T" 2>/dev/null; chmod 711 "$T"
	su postgres -c "$bindir/initdb -A trust -U lsp -D $_pg_dir" >"$T/pg-init.log" 2>&1 || fail "initdb failed"
	su postgres -c "$bindir/pg_ctl -D $_pg_dir -l $_pg_dir/log -w -o '-k $_pg_dir -h 127.0.0.1 -p $p' start" \
		>"$T/pg-start.log" 2>&1 || { cat "$_pg_dir/log" >&2; fail "postgres did not start"; }
	PG_URL=postgres://lsp@127.0.0.1:$p/postgres
}

# A real redis-server on a private port → REDIS_URL
start_redis() {
	if [ -n "${LSP_TEST_REDIS_URL:-}" ]; then REDIS_URL=$LSP_TEST_REDIS_URL; return; fi
	need redis-server
	local p; p=$(free_port)
	bg redis-server --bind 127.0.0.1 --port "$p" --save '' --appendonly no
	wait_port "$p" 10 || fail "redis-server did not start"
	REDIS_URL=redis://127.0.0.1:$p
}

# Create a channel; prints its stream key.
# Headless Chromium driven by playwright-core (tests/browser): fails when
# Chromium is missing, installs playwright-core once; $B is tests/browser.
need_browser() {
	[ -x /usr/bin/chromium ] || fail "chromium not installed (run make deps)"
	B=$ROOT/tests/browser
	[ -d "$B/node_modules/playwright-core" ] || (cd "$B" && npm install --no-audit --no-fund --silent) >/dev/null 2>&1 ||
		fail "npm install playwright-core"
}
new_channel() { "$BIN/lsp-ctl" channel add "$1" 2>>"$T/ctl.log" | tail -n1 | awk '{print $NF}'; }

# Validate HLS playlists (files or directories) against the spec's MUST
# rules (tests/tools/hlscheck); extra hlscheck options first, e.g.
#   hls_check --state "$T/hls.state" --as live "$dir/index.m3u8"
hls_check() {
	"$ROOT/tests/tools/hlscheck" "$@" >"$T/hlscheck.out" 2>&1 || { cat "$T/hlscheck.out" >&2; fail "hlscheck: $*"; }
}
# A live playlist changes under the test: keep a copy of each load (cheap,
# no interpreter start in a polling loop), then check them all in order as
# reloads of one playlist with hls_samples_check NAME.
hls_sample() { # name file
	local d=$T/hls-samples/$1
	mkdir -p "$d" && _hls_n=$(( ${_hls_n:-0} + 1 )) && cp "$2" "$d/$(printf '%06d' "$_hls_n").m3u8" 2>/dev/null
	return 0
}
hls_samples_check() { # name
	[ -d "$T/hls-samples/$1" ] || fail "hlscheck: no samples of $1"
	hls_check --state "$T/hls-samples/$1.state" --as "$1" "$T/hls-samples/$1"
}
