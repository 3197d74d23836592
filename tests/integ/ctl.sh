#!/usr/bin/env bash
# lsp-ctl against SQLite and a real Postgres: add/list/rotate/revoke/rm,
# name validation, exit codes, keys never stored in clear.
. "$(dirname "$0")/../lib.sh"

exercise() { # backend label
	local k1 k2 out rc
	k1=$(new_channel alpha) || fail "add"
	[[ $k1 =~ ^alpha_[0-9a-f]{48}$ ]] || fail "key shape: $k1"
	"$BIN/lsp-ctl" channel add alpha 2>/dev/null; rc=$?; [ $rc -eq 1 ] || fail "dup add rc=$rc"
	"$BIN/lsp-ctl" channel add 'Bad!' 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "bad name rc=$rc"
	"$BIN/lsp-ctl" channel add "$(printf 'a%.0s' {1..65})" 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "65-char name rc=$rc"
	"$BIN/lsp-ctl" channel bogus 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "unknown cmd rc=$rc"
	new_channel beta >/dev/null
	out=$("$BIN/lsp-ctl" channel list) || fail "list"
	[ "$(echo "$out" | cut -f1 | tr '\n' ' ')" = "alpha beta " ] || fail "list: $out"
	k2=$("$BIN/lsp-ctl" key rotate alpha | tail -n1 | awk '{print $NF}')
	[[ $k2 =~ ^alpha_[0-9a-f]{48}$ && $k2 != "$k1" ]] || fail "rotate gave $k2"
	"$BIN/lsp-ctl" key revoke alpha || fail "revoke"
	"$BIN/lsp-ctl" channel list | grep -q "^alpha	revoked" || fail "revoked not shown"
	"$BIN/lsp-ctl" key revoke nosuch 2>/dev/null; rc=$?; [ $rc -eq 1 ] || fail "revoke missing rc=$rc"
	"$BIN/lsp-ctl" channel rm beta || fail "rm"
	"$BIN/lsp-ctl" channel rm beta 2>/dev/null; rc=$?; [ $rc -eq 1 ] || fail "rm twice rc=$rc"
	ok "$1"
}

exercise sqlite
[ -f "$LSP_DATA_DIR/lsp.db" ] || fail "no sqlite file"
sqlite3 "$LSP_DATA_DIR/lsp.db" .dump | grep -q "alpha_" && fail "a clear key is stored in sqlite"
"$BIN/lsp-ctl" --help | grep -q "channel add" || fail "--help"
"$BIN/lsp-ctl" --version | grep -q "^lsp-ctl " || fail "--version"

start_pg
export LSP_DB_URL=$PG_URL
exercise postgres
unset LSP_DB_URL
LSP_DB_URL=mysql://x "$BIN/lsp-ctl" channel list 2>/dev/null; rc=$?; [ $rc -eq 111 ] || fail "bad db url rc=$rc"
LSP_DB_URL=postgres://lsp@127.0.0.1:1/none "$BIN/lsp-ctl" channel list 2>"$T/err"; rc=$?
[ $rc -eq 111 ] || fail "unreachable pg rc=$rc"
grep -q '"level":"fatal"' "$T/err" || fail "no fatal log line"

# a deleted channel's recordings go with it; the name registered again has none
"$BIN/lsp-ctl" channel add rec1 >/dev/null 2>&1 || fail "add rec1"
mkdir -p "$LSP_DATA_DIR/vod/rec1/20261126T083000Z"
printf 'channel rec1\nid 20261126T083000Z\nstarted 1\nupdated 2\nended 2\n' >"$LSP_DATA_DIR/vod/rec1/20261126T083000Z/rec.state"
[ "$("$BIN/lsp-ctl" vod list rec1 2>/dev/null | wc -l)" = 1 ] || fail "fake recording not listed"
"$BIN/lsp-ctl" channel rm rec1 >/dev/null 2>&1 || fail "rm rec1"
"$BIN/lsp-ctl" channel add rec1 >/dev/null 2>&1 || fail "re-add rec1"
[ "$("$BIN/lsp-ctl" vod list rec1 2>/dev/null | wc -l)" = 0 ] || fail "a re-registered name inherited recordings"
[ -e "$LSP_DATA_DIR/vod/rec1/20261126T083000Z" ] && fail "recording still on the public path"
ok "channel rm purges recordings"
