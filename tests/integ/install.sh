#!/usr/bin/env bash
# install — `make install` into a DESTDIR puts every tool, script, man page
# (sections 1, 5, 7), unit and web file where the Makefile says, with the
# prefix written into the units; each man page renders without warnings;
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
n=0
for u in systemd/*.service systemd/*.target systemd/*.timer; do
	f=$D$P/lib/systemd/system/$(basename "$u")
	[ -f "$f" ] || fail "unit $u not installed"
	n=$((n + 1))
done
[ -f "$D$P/lib/sysusers.d/lsp.conf" ] || fail "sysusers file not installed"
grep -q "^ExecStart=$P/bin/lsp-edge .*--web-root $P/share/lsp/web" "$D$P/lib/systemd/system/lsp-edge.service" ||
	fail "edge unit paths not rewritten"
ok "DESTDIR install: $(find "$D" -type f | wc -l) files, $n units"

# 2. every page renders (man -l) without a groff warning
for m in "$D$P"/share/man/man*/*; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >"$T/page.txt")
	[ -z "$out" ] || fail "$(basename "$m"): $out"
	grep -q . "$T/page.txt" || fail "$(basename "$m") renders empty"
done
ok "man pages render"

# 3. systemd-analyze verify on a live-path install (binaries where units point)
R=$T/root
make --no-print-directory -s install PREFIX="$R" SANITIZE="${SANITIZE:-}" >"$T/make2.log" 2>&1 || fail "make install PREFIX"
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
