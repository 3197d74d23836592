#!/usr/bin/env bash
# Five tools opening one empty store at the same moment: the schema is
# migrated exactly once and every tool starts (no "duplicate column name",
# no "database is locked").  20 rounds on SQLite, 5 on a fresh Postgres
# database each; 0 failures allowed.
. "$(dirname "$0")/../lib.sh"
need psql
export LSP_SECRET=migrate-$$
ROUNDS=${ROUNDS:-20}
PGROUNDS=${PGROUNDS:-5}

# one round: five tools started together on the current (empty) store
round() { # label
	local i pids=() rc bad=0
	: >"$T/go"
	for i in 1 2 3 4 5; do
		case $i in
		1|2) ( while [ -e "$T/go" ]; do :; done; exec "$BIN/lsp-ctl" channel add "m$i" ) ;;
		3)   ( while [ -e "$T/go" ]; do :; done; exec "$BIN/lsp-ctl" channel list ) ;;
		4)   ( while [ -e "$T/go" ]; do :; done; exec "$BIN/lsp-ctl" user add "u$i" ) ;;
		5)   ( while [ -e "$T/go" ]; do :; done; exec "$BIN/lsp-api" --set-role nobody=viewer ) ;;
		esac >"$T/out.$i" 2>"$T/err.$i" &
		pids+=($!)
	done
	rm -f "$T/go" # release all five at once
	for i in 1 2 3 4 5; do
		wait "${pids[$((i - 1))]}"; rc=$?
		# lsp-api --set-role exits 1 for an unknown user: the store opened
		if [ $rc -ne 0 ] && ! { [ $i = 5 ] && [ $rc = 1 ]; }; then
			echo "$1 tool $i exit $rc: $(tail -c 300 "$T/err.$i")" >&2; bad=1
		fi
	done
	return $bad
}

fails=0
for r in $(seq "$ROUNDS"); do
	export LSP_DATA_DIR=$T/sq$r
	round "sqlite round $r" || fails=$((fails + 1))
	v=$(sqlite3 "$LSP_DATA_DIR/lsp.db" "SELECT count(*) || '/' || count(DISTINCT version) FROM schema_version" 2>/dev/null)
	[ "${v%/*}" = "${v#*/}" ] || { echo "sqlite round $r: versions applied twice ($v)" >&2; fails=$((fails + 1)); }
done
echo "sqlite: $ROUNDS rounds of 5 tools, $fails failures (load $(cut -d' ' -f1 /proc/loadavg))"
[ $fails -eq 0 ] || fail "sqlite migration race"

start_pg
base=${PG_URL%/*}
mig=$(basename "$T" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z') # unique on a shared server
for r in $(seq "$PGROUNDS"); do
	psql -q "$PG_URL" -c "CREATE DATABASE m_${mig}_$r" >/dev/null || fail "create database"
	export LSP_DB_URL=$base/m_${mig}_$r
	round "postgres round $r" || fails=$((fails + 1))
	v=$(psql -qtA "$LSP_DB_URL" -c "SELECT count(*) || '/' || count(DISTINCT version) FROM schema_version")
	[ "${v%/*}" = "${v#*/}" ] || { echo "postgres round $r: versions applied twice ($v)" >&2; fails=$((fails + 1)); }
done
unset LSP_DB_URL
echo "postgres: $PGROUNDS rounds of 5 tools, $fails failures"
[ $fails -eq 0 ] || fail "postgres migration race"
ok "five tools on an empty store: migrated once, all started"
