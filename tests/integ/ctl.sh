#!/usr/bin/env bash
# lsp-ctl against SQLite and a real Postgres: add/list/rotate/revoke/rm,
# name validation, exit codes, keys never stored in clear; channel owners
# (channel add --owner, channel set owner=) with an unknown user refused.
. "$(dirname "$0")/../lib.sh"

owner_of() { # channel: its owner column, from whichever store is in use
	if [ -n "${LSP_DB_URL:-}" ]; then
		psql -qtA "$LSP_DB_URL" -c "SELECT coalesce(owner, '') FROM channels WHERE name = '$1'"
	else
		sqlite3 "$LSP_DATA_DIR/lsp.db" "SELECT coalesce(owner, '') FROM channels WHERE name = '$1'"
	fi
}

owners() { # label
	local rc out
	"$BIN/lsp-ctl" user add olga >/dev/null 2>&1 || fail "user add olga"
	"$BIN/lsp-ctl" user add pete >/dev/null 2>&1 || fail "user add pete"
	out=$("$BIN/lsp-ctl" channel add gamma --owner olga) || fail "add --owner"
	[[ $(echo "$out" | tail -n1 | awk '{print $NF}') =~ ^gamma_[0-9a-f]{48}$ ]] || fail "add --owner key: $out"
	[ "$(owner_of gamma)" = olga ] || fail "owner after add: $(owner_of gamma)"
	"$BIN/lsp-ctl" channel add delta --owner nobody 2>"$T/err"; rc=$?
	[ $rc -eq 1 ] || fail "add --owner unknown user rc=$rc"
	grep -q 'no user nobody' "$T/err" || fail "unknown owner not named: $(cat "$T/err")"
	"$BIN/lsp-ctl" channel list | grep -q '^delta	' && fail "a channel was made for an unknown owner"
	"$BIN/lsp-ctl" channel add delta --owner 'Bad!' 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "bad owner name rc=$rc"
	"$BIN/lsp-ctl" channel add delta --owner 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "--owner without USER rc=$rc"
	"$BIN/lsp-ctl" channel set gamma owner=pete || fail "set owner"
	[ "$(owner_of gamma)" = pete ] || fail "owner after set: $(owner_of gamma)"
	"$BIN/lsp-ctl" channel set gamma owner=nobody record=on 2>"$T/err"; rc=$?
	[ $rc -eq 1 ] || fail "set owner unknown user rc=$rc"
	grep -q 'no user nobody' "$T/err" || fail "unknown owner not named: $(cat "$T/err")"
	[ "$(owner_of gamma)" = pete ] || fail "owner changed by a refused set"
	"$BIN/lsp-ctl" channel set nochan owner=pete 2>/dev/null; rc=$?; [ $rc -eq 1 ] || fail "set owner on missing channel rc=$rc"
	"$BIN/lsp-ctl" channel set gamma owner=Bad! 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "set bad owner name rc=$rc"
	ok "$1 owners"
}

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
owners sqlite
[ -f "$LSP_DATA_DIR/lsp.db" ] || fail "no sqlite file"
sqlite3 "$LSP_DATA_DIR/lsp.db" .dump | grep -q "alpha_" && fail "a clear key is stored in sqlite"
"$BIN/lsp-ctl" --help | grep -q "channel add" || fail "--help"
"$BIN/lsp-ctl" --version | grep -q "^lsp-ctl " || fail "--version"

start_pg
export LSP_DB_URL=$PG_URL
exercise postgres
owners postgres
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
