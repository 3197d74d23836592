#!/usr/bin/env bash
# lsp-api on a real Postgres: the same flow as api.sh (routes x roles,
# accounts, kid mode, DSAR with lsp-chat) with LSP_DB_URL set.
. "$(dirname "$0")/../lib.sh"
need psql
start_pg
export LSP_DB_URL=$PG_URL
sql() { psql -qtA "$PG_URL" -c "$1"; }
. "$ROOT/tests/tools/api-flow.sh"
[ "$(sql "SELECT count(*) FROM users")" -gt 0 ] || fail "nothing in postgres"
ok "all of it on postgres"
