#!/usr/bin/env bash
# man — the manual: every tool (bin/lsp-*) and every script (scripts/lsp-*)
# has a page in man/; `mandoc -Tlint` finds nothing at all (errors,
# warnings or style) in any page; every long option a program's --help
# lists is in its page; every program rejects an unknown option with exit
# 100 and a usage line on stderr; lsp-ingest's page and the README give
# OBS the same keyframe interval.  mandoc is a Debian package (make deps).
. "$(dirname "$0")/../lib.sh"
if ! command -v mandoc >/dev/null; then
	[ -n "${CI:-}" ] && fail "mandoc not installed (make deps installs it)"
	skip "mandoc not installed (make deps installs it)"
fi
cd "$ROOT"
progs=()
for b in bin/lsp-*.c; do progs+=("bin/$(basename "$b" .c)"); done
for s in scripts/lsp-*; do progs+=("$s"); done
for p in "${progs[@]}"; do [ -f "man/$(basename "$p").1" ] || fail "no man page for $p"; done
ok "${#progs[@]} programs, a page each"

mandoc -Tlint man/*.[0-9] >"$T/lint" 2>&1
[ ! -s "$T/lint" ] || { cat "$T/lint" >&2; fail "mandoc -Tlint: $(wc -l <"$T/lint") findings"; }
ok "mandoc -Tlint: $(ls man/*.[0-9] | wc -l) pages clean"

for p in "${progs[@]}"; do
	n=$(basename "$p")
	sed 's/\\-/-/g' "man/$n.1" >"$T/page"
	for o in $("$p" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qF -- "$o" "$T/page" || fail "$n --help lists $o; man/$n.1 does not"
	done
	"$p" --no-such-flag </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 100 ] || fail "$n --no-such-flag: exit $rc, want 100"
	grep -qi usage "$T/err" || fail "$n --no-such-flag: no usage line on stderr: $(head -c 200 "$T/err")"
	[ -s "$T/out" ] && fail "$n --no-such-flag wrote to stdout"
	"$p" -Z </dev/null >/dev/null 2>&1
	rc=$?
	[ $rc -eq 100 ] || fail "$n -Z: exit $rc, want 100"
done
ok "every --help option is in its page; unknown options exit 100 with a usage line"

# lsp-ctl: an option-looking channel name is refused, no channel "-x" made
"$BIN/lsp-ctl" channel add -x >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 100 ] || fail "lsp-ctl channel add -x: exit $rc, want 100"
"$BIN/lsp-ctl" channel list 2>/dev/null | grep -q -- '^-x' && fail "lsp-ctl made a channel named -x"
ok "lsp-ctl channel add -x refused (100), no such channel made"

# the keyframe interval OBS is told
r=$(grep -o 'Keyframe interval [0-9]* s' README.md | head -n1)
m=$(grep -io 'keyframe interval [0-9]* s' man/lsp-ingest.1 | head -n1)
[ -n "$r" ] && [ -n "$m" ] || fail "keyframe interval not found (README: '$r', man: '$m')"
[ "${r##* interval }" = "${m##* interval }" ] || fail "README says '$r', lsp-ingest.1 says '$m'"
ok "keyframe interval: ${r##* interval } in both"
