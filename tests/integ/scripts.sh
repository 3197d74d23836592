#!/usr/bin/env bash
# The composing scripts behave like the tools: --help (exit 0), --version,
# a man page each, and an unknown flag, a flag-looking channel name or a
# stray argument is refused with a usage line and exit 100 — never taken for
# a channel (scripts/lsp-channel --bogus-flag used to start a transcode).
# lsp-ctl refuses a channel name that reads as an option.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
for s in lsp-channel lsp-channel-run lsp-up lsp-demo; do
	scripts/$s --help >"$T/help" 2>&1 </dev/null || fail "$s --help exited $?"
	grep -q . "$T/help" || fail "$s --help printed nothing"
	scripts/$s --version </dev/null | grep -qx "$s [0-9.]*" || fail "$s --version"
	[ -f "man/$s.1" ] || fail "no man page man/$s.1"
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "man/$s.1" 2>"$T/warn" >/dev/null
	[ -s "$T/warn" ] && fail "man/$s.1: $(cat "$T/warn")"
	for bad in --bogus-flag -x "a b" "ok extra"; do
		# shellcheck disable=SC2086
		timeout 10 scripts/$s $bad </dev/null >"$T/out" 2>"$T/err"
		rc=$?
		[ $rc = 100 ] || fail "$s $bad: exit $rc, want 100 ($(head -c 300 "$T/err"))"
		grep -qi usage "$T/err" || fail "$s $bad: no usage line on stderr"
		[ -s "$T/out" ] && fail "$s $bad: wrote to stdout"
	done
done
[ -d "$LSP_DATA_DIR/hls/--bogus-flag" ] && fail "a flag became a channel directory"
ok "scripts: --help, --version, man pages; unknown flags and stray arguments exit 100"

"$BIN/lsp-ctl" channel add -x >"$T/out" 2>"$T/err" && fail "lsp-ctl channel add -x succeeded"
"$BIN/lsp-ctl" channel list | cut -f1 | grep -qx -- -x && fail "channel -x exists"
"$BIN/lsp-ctl" channel add ok-name >/dev/null 2>&1 || fail "lsp-ctl channel add ok-name: $(cat "$T/err")"
ok "lsp-ctl refuses a channel named like an option: $(head -c 200 "$T/err")"
