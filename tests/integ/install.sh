#!/usr/bin/env bash
# install — `make install` into a DESTDIR puts every tool, script, man page
# (sections 1, 5, 7), unit and web file where the Makefile says, with the
# prefix written into the units; the units, sysusers and tmpfiles files
# land where systemd looks (/etc/... for PREFIX=/opt/lsp, PREFIX/lib/...
# for PREFIX=/usr/local), and systemd-sysusers / systemd-tmpfiles accept
# them (run against a scratch root); each man page renders without warnings;
# `systemd-analyze verify` passes on every unit of a PREFIX install (and
# fails on a broken one); `systemd-analyze security` rates each long-running
# unit at most 3.0; lsp-chat, lsp-api and lsp-rtc report READY=1 to
# $NOTIFY_SOCKET once listening (Type=notify).
. "$(dirname "$0")/../lib.sh"
need make
need python3
command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (make deps installs systemd)"
command -v man >/dev/null || fail "man not installed (make deps installs man-db)"
cd "$ROOT"

# 1. DESTDIR staging install with the default prefix
D=$T/dest P=/opt/lsp
make --no-print-directory -s install DESTDIR="$D" SANITIZE="${SANITIZE:-}" >"$T/make.log" 2>&1 || { cat "$T/make.log" >&2; fail "make install"; }
for b in bin/lsp-*.c; do
	t=$(basename "$b" .c)
	[ -x "$D$P/bin/$t" ] || fail "$t not installed"
	"$D$P/bin/$t" --version | grep -qx "$t [0-9.]*" || fail "$t --version from the install tree"
	[ -f "$D$P/share/man/man1/$t.1" ] || fail "man page $t.1 not installed"
done
for s in lsp-channel lsp-channel-run lsp-up lsp-demo; do
	[ -x "$D$P/bin/$s" ] || fail "$s not installed"
	[ -f "$D$P/share/man/man1/$s.1" ] || fail "$s.1 not installed"
done
for m in man5/lsp.5 man7/lsp.7; do [ -f "$D$P/share/man/$m" ] || fail "$m not installed"; done
for w in index.html watch.html watch.js chat.js; do [ -f "$D$P/share/lsp/web/$w" ] || fail "web/$w not installed"; done
[ -e "$D$P/share/lsp/web/node_modules" ] && fail "node_modules installed"
units_at() { # root unitdir sysusersdir tmpfilesdir prefix: every unit, the sysusers and tmpfiles files
	local n=0 u
	for u in systemd/*.service systemd/*.target systemd/*.timer; do
		[ -f "$1$2/$(basename "$u")" ] || fail "unit $u not in $2"
		n=$((n + 1))
	done
	[ -f "$1$3/lsp.conf" ] || fail "sysusers file not in $3"
	[ -f "$1$4/lsp.conf" ] || fail "tmpfiles file not in $4"
	grep -q "^ExecStart=$5/bin/lsp-edge .*--web-root $5/share/lsp/web" "$1$2/lsp-edge.service" ||
		fail "edge unit paths not rewritten to $5"
	grep -rhv "^#" "$1$2" | grep -q /opt/lsp && [ "$5" != /opt/lsp ] && fail "a unit still names /opt/lsp"
	echo "$n"
}
n=$(units_at "$D" /etc/systemd/system /etc/sysusers.d /etc/tmpfiles.d "$P") || exit 1
[ -e "$D$P/lib/systemd" ] && fail "units under $P/lib, where systemd does not look"
ok "DESTDIR install: $(find "$D" -type f | wc -l) files, $n units in /etc/systemd/system"

# 1b. PREFIX=/usr/local: systemd searches /usr/local/lib/{systemd/system,sysusers.d,tmpfiles.d}
L=$T/root
make --no-print-directory -s install DESTDIR="$L" PREFIX=/usr/local SANITIZE="${SANITIZE:-}" >"$T/make3.log" 2>&1 ||
	{ cat "$T/make3.log" >&2; fail "make install PREFIX=/usr/local"; }
n=$(units_at "$L" /usr/local/lib/systemd/system /usr/local/lib/sysusers.d /usr/local/lib/tmpfiles.d /usr/local) ||
	exit 1
[ -e "$L/etc" ] && fail "PREFIX=/usr/local wrote under /etc"
[ -x "$L/usr/local/bin/lsp-edge" ] && [ -f "$L/usr/local/share/man/man1/lsp-up.1" ] || fail "/usr/local tree"
# the unit directories are the ones this systemd searches
paths=$(systemd-analyze unit-paths 2>/dev/null) || paths=/usr/local/lib/systemd/system
printf '%s\n' "$paths" | grep -qx /usr/local/lib/systemd/system || fail "systemd does not search /usr/local/lib/systemd/system"
# sysusers makes the lsp user, tmpfiles its directories, in a scratch root
S=$T/scratch
mkdir -p "$S/etc"
systemd-sysusers --root="$S" "$L/usr/local/lib/sysusers.d/lsp.conf" >"$T/sysusers.log" 2>&1 ||
	{ cat "$T/sysusers.log" >&2; fail "systemd-sysusers"; }
grep -q '^lsp:' "$S/etc/passwd" || fail "sysusers made no lsp user"
systemd-tmpfiles --root="$S" --create "$L/usr/local/lib/tmpfiles.d/lsp.conf" >"$T/tmpfiles.log" 2>&1 ||
	{ cat "$T/tmpfiles.log" >&2; fail "systemd-tmpfiles"; }
uid=$(awk -F: '$1 == "lsp" { print $3 }' "$S/etc/passwd")
[ "$(stat -c '%u %a' "$S/var/lib/lsp")" = "$uid 750" ] || fail "/var/lib/lsp: $(stat -c '%u %a' "$S/var/lib/lsp")"
[ -d "$S/etc/lsp" ] || fail "tmpfiles made no /etc/lsp"
ok "PREFIX=/usr/local: $n units in /usr/local/lib/systemd/system; sysusers and tmpfiles apply"

# 2. every page renders (man -l) without a groff warning
for m in "$D$P"/share/man/man*/*; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >"$T/page.txt")
	[ -z "$out" ] || fail "$(basename "$m"): $out"
	grep -q . "$T/page.txt" || fail "$(basename "$m") renders empty"
done
ok "man pages render"

# 3. systemd-analyze verify on a live-path install (binaries where units point)
R=$T/live
make --no-print-directory -s install PREFIX="$R" UNITDIR="$R/lib/systemd/system" SYSUSERSDIR="$R/lib/sysusers.d" \
	TMPFILESDIR="$R/lib/tmpfiles.d" SANITIZE="${SANITIZE:-}" >"$T/make2.log" 2>&1 || fail "make install PREFIX"
U=$R/lib/systemd/system
(cd "$U" && MANPATH=$R/share/man systemd-analyze verify ./*.service ./*.target ./*.timer) >"$T/verify.log" 2>&1 ||
	{ cat "$T/verify.log" >&2; fail "systemd-analyze verify"; }
sed -e 's/^ExecStart=.*/ExecStart=\/nonexistent\/lsp-none/' "$U/lsp-chat.service" >"$T/broken.service"
(cd "$T" && MANPATH=$R/share/man systemd-analyze verify ./broken.service) >/dev/null 2>&1 && fail "verify accepted a broken unit"
scores=""
for u in ingest edge chat api rtc gc; do
	s=$(cd "$U" && systemd-analyze security --offline=yes --no-pager "./lsp-$u.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$s" ] || fail "no security score for lsp-$u"
	awk -v s="$s" 'BEGIN { exit !(s <= 3.0) }' || fail "lsp-$u.service exposure $s > 3.0"
	scores="$scores $u=$s"
done
ok "systemd-analyze verify: all units; exposure:$scores"

# 4. sd_notify readiness
ready() { # name port cmd... : start cmd with NOTIFY_SOCKET, expect READY=1 once port listens
	local name=$1 port=$2; shift 2
	rm -f "$T/notify.sock" "$T/notify.out"
	python3 - "$T/notify.sock" "$T/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(10)
try:
    while True:
        m = s.recv(4096).decode()
        open(sys.argv[2], "a").write(m + "\n")
        if m.startswith("READY=1"): break
except socket.timeout:
    pass
PY
	local py=$!
	_pids+=("$py")
	for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
	NOTIFY_SOCKET=$T/notify.sock "$@" 2>"$T/$name.log" &
	local pid=$!
	_pids+=("$pid")
	wait "$py" 2>/dev/null
	grep -q '^READY=1' "$T/notify.out" 2>/dev/null || { kill "$pid"; fail "$name sent no READY=1"; }
	wait_port "$port" 2 || { kill "$pid"; fail "$name READY before listening"; }
	kill "$pid"; wait "$pid" 2>/dev/null
	grep -q '^STOPPING=1' "$T/notify.out" 2>/dev/null || true
}
CP=$(free_port) AP=$(free_port) RH=$(free_port) RU=$(free_port)
ready chat "$CP" "$BIN/lsp-chat" -l "127.0.0.1:$CP"
ready api "$AP" "$BIN/lsp-api" -l "127.0.0.1:$AP" --scrypt-log2n 10
ready rtc "$RH" "$BIN/lsp-rtc" --http "127.0.0.1:$RH" --udp "127.0.0.1:$RU" --candidate 127.0.0.1
ok "READY=1 from lsp-chat, lsp-api, lsp-rtc"
