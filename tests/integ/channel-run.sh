#!/usr/bin/env bash
# channel-run — scripts/lsp-channel-run (what lsp-channel@CHANNEL.service
# runs): a channel pipeline fed from a FIFO (LSP_SOURCE=fifo:PATH) and from
# a file (LSP_SOURCE=file:PATH) writes LL-HLS that ends with ENDLIST; a bad
# source or channel name is a usage error (100).
. "$(dirname "$0")/../lib.sh"
need ffmpeg
RUN=$ROOT/scripts/lsp-channel-run
export LSP_TRANSCODE=0 LSP_DVR=0
new_channel fifoch >/dev/null
new_channel filech >/dev/null
ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=160x120:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 2 -c:v libx264 -preset ultrafast -g 25 \
	-pix_fmt yuv420p -c:a aac -f mpegts "$T/in.ts" || fail "ffmpeg"

LSP_SOURCE=fifo:$T/run/fifoch.ts timeout 30 "$RUN" fifoch 2>"$T/fifo.log" &
pid=$!; _pids+=("$pid")
for _ in $(seq 50); do [ -p "$T/run/fifoch.ts" ] && break; sleep 0.1; done
[ -p "$T/run/fifoch.ts" ] || fail "no FIFO created"
cat "$T/in.ts" >"$T/run/fifoch.ts"
wait "$pid"; rc=$?
[ $rc -eq 0 ] || { cat "$T/fifo.log" >&2; fail "fifo run exited $rc"; }
grep -q '#EXT-X-ENDLIST' "$LSP_DATA_DIR/hls/fifoch/src/index.m3u8" || fail "fifo: no complete playlist"
ok "FIFO source → $(ls "$LSP_DATA_DIR/hls/fifoch/src" | grep -c '\.m4s$') media files"

LSP_SOURCE=file:$T/in.ts timeout 30 "$RUN" filech 2>"$T/file.log" || { cat "$T/file.log" >&2; fail "file run"; }
grep -q '#EXT-X-ENDLIST' "$LSP_DATA_DIR/hls/filech/src/index.m3u8" || fail "file: no complete playlist"
ok "file source"

LSP_SOURCE=bogus "$RUN" fifoch 2>/dev/null; [ $? -eq 100 ] || fail "bad LSP_SOURCE not a usage error"
"$RUN" 'Bad Name' 2>/dev/null; [ $? -eq 100 ] || fail "bad channel not a usage error"
touch "$T/plain"; LSP_SOURCE=fifo:$T/plain "$RUN" fifoch 2>/dev/null; [ $? -eq 100 ] || fail "non-FIFO path accepted"
grep -h '^{' "$T/fifo.log" | grep -q '"tool":"lsp-channel-run"' || fail "no JSON log line from lsp-channel-run"
ok "usage errors"
