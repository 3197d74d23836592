#!/usr/bin/env bash
# valgrind — every tool's --help, and canned-input jobs
# (lsp-package and lsp-transcode on a short TS, lsp-package with --metrics
# scraped once), run clean under valgrind memcheck: no invalid access, no
# use of uninitialised memory, no definite leak.  Skipped under SANITIZE=1
# (ASan binaries cannot run under valgrind).
# Valgrind cannot run Debian's libav on every CPU: on one with AVX-512 the
# libjxl/libhwy that libavcodec loads dies of SIGILL in its start-up code
# before main (valgrind 3.19 has no AVX-512).  So the test first asks
# whether valgrind runs ffprobe here; where it cannot, the tools that link
# libav are left out (and said so) and the rest — lsp-edge, lsp-api,
# lsp-ctl, lsp-chat — are still checked, so the result never depends on
# the CPU model in a way that hides a finding.
. "$(dirname "$0")/../lib.sh"
[ "${SANITIZE:-}" = 1 ] && skip "ASan build"
need valgrind; need ffmpeg; need curl
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --track-origins=no)
av=1
if ! valgrind -q ffprobe -version >/dev/null 2>"$T/probe.vg"; then
	grep -q 'Illegal opcode\|SIGILL' "$T/probe.vg" || { cat "$T/probe.vg" >&2; fail "valgrind cannot run ffprobe"; }
	av=0
	echo "note: valgrind cannot run libav on this CPU ($(grep -m1 -o 'Illegal opcode.*' "$T/probe.vg")); libav tools left out"
fi
links_av() { readelf -d "$1" 2>/dev/null | grep -qE 'NEEDED.*\[lib(av|sw)'; }
n=0 left=""
for b in "$BIN"/lsp-*; do
	[ -x "$b" ] && [ -f "$b.c" ] || continue
	t=$(basename "$b")
	if [ $av = 0 ] && links_av "$b"; then left+=" $t"; continue; fi
	"${VG[@]}" "$b" --help >/dev/null 2>"$T/$t.vg" || { cat "$T/$t.vg" >&2; fail "$t --help under valgrind"; }
	n=$((n + 1))
done
[ $n -ge 4 ] || fail "only $n tools checked"
ok "$n tools: --help clean${left:+ (not run here:$left)}"
[ $av = 1 ] || { ok "libav jobs not run: valgrind cannot run libav on this CPU"; exit 0; }

ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=160x120:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 1.2 -c:v libx264 -preset ultrafast -g 25 \
	-pix_fmt yuv420p -c:a aac -f mpegts "$T/in.ts" || fail "ffmpeg"
"${VG[@]}" "$BIN/lsp-package" --out "$T/hls/a" -i "$T/in.ts" --part 0.2 --segment 0.5 2>"$T/pkg.vg" ||
	{ tail -n 30 "$T/pkg.vg" >&2; fail "lsp-package under valgrind"; }
grep -q '#EXT-X-ENDLIST' "$T/hls/a/src/index.m3u8" || fail "package job produced no complete playlist"
ok "lsp-package canned job clean"

"${VG[@]}" "$BIN/lsp-transcode" -l 96p -p ultrafast -i "$T/in.ts" -o "$T/ladder.ts" 2>"$T/tc.vg" ||
	{ grep -v '^{' "$T/tc.vg" | tail -n 30 >&2; fail "lsp-transcode under valgrind"; }
[ -s "$T/ladder.ts" ] || fail "transcode job wrote nothing"
ok "lsp-transcode canned job clean"

# the metrics responder thread under valgrind: serve, scrape, stop cleanly
P=$(free_port)
mkfifo "$T/fifo"
"${VG[@]}" "$BIN/lsp-package" --out "$T/hls/b" --metrics 127.0.0.1:$P <"$T/fifo" 2>"$T/pm.vg" &
pid=$!; _pids+=("$pid")
exec 3>"$T/fifo"
wait_port "$P" 20 || fail "metrics under valgrind did not listen"
curl -sf --max-time 10 "http://127.0.0.1:$P/metrics" | grep -q '^lsp_build_info{tool="lsp-package"' || fail "scrape"
cat "$T/in.ts" >&3; exec 3>&-
wait "$pid"; rc=$?
[ $rc -eq 0 ] || { grep -v '^{' "$T/pm.vg" | tail -n 30 >&2; fail "lsp-package --metrics under valgrind: rc $rc"; }
ok "metrics responder clean"
