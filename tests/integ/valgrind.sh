#!/usr/bin/env bash
# valgrind — every tool's --help, and canned-input jobs
# (lsp-package and lsp-transcode on a short TS, lsp-package with --metrics
# scraped once), run clean under valgrind memcheck: no invalid access, no
# use of uninitialised memory, no definite leak.  Skipped under SANITIZE=1
# (ASan binaries cannot run under valgrind).
. "$(dirname "$0")/../lib.sh"
[ "${SANITIZE:-}" = 1 ] && skip "ASan build"
need valgrind; need ffmpeg; need curl
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --track-origins=no)
n=0
for b in "$BIN"/lsp-*; do
	[ -x "$b" ] && [ -f "$b.c" ] || continue
	t=$(basename "$b")
	"${VG[@]}" "$b" --help >/dev/null 2>"$T/$t.vg" || { cat "$T/$t.vg" >&2; fail "$t --help under valgrind"; }
	n=$((n + 1))
done
ok "$n tools: --help clean"

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
