#!/usr/bin/env bash
# logs — event names are fixed and data goes in fields (man lsp.7, LOGS):
#  - no lsp_log / lsp_event_emit / api_event call in lib/ or bin/ passes a
#    built string as the event name (tests/tools/event-names.py);
#  - a tool that cannot start logs "unable to start" with the library's
#    message in "reason", never the message as the event;
#  - lsp-transcode's progress line is debug each second and info only each
#    10 s: a 3-second run at info has none, at debug several, and its last
#    line is "done" either way.
. "$(dirname "$0")/../lib.sh"
need python3; need ffmpeg
python3 "$ROOT/tests/tools/event-names.py" "$ROOT" || fail "event names built from data (above)"
ok "event names: all literals"

ev() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    l = l.strip()
    if l.startswith("{"):
        print(json.loads(l)["event"])' "$1"; }
"$BIN/lsp-package" --out /proc/nonexistent/x </dev/null 2>"$T/pkg.err"
[ $? -eq 111 ] || fail "lsp-package on a bad dir: want exit 111"
[ "$(ev "$T/pkg.err" | tail -n1)" = "unable to start" ] || fail "lsp-package: $(cat "$T/pkg.err")"
grep -q '"reason":"unable to create /proc/nonexistent' "$T/pkg.err" || fail "lsp-package: no reason field: $(cat "$T/pkg.err")"
ok "a failed start is the event 'unable to start' with a reason field"

ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i testsrc2=size=160x120:rate=25 -t 3 -c:v libx264 \
	-preset ultrafast -g 25 -f mpegts "$T/in.ts" || fail "ffmpeg"
run_tc() { # level
	ffmpeg -hide_banner -nostdin -loglevel error -re -i "$T/in.ts" -c copy -f mpegts - |
		LSP_LOG_LEVEL=$1 "$BIN/lsp-transcode" -l 240p -p ultrafast >/dev/null 2>"$T/tc-$1.log" ||
		fail "lsp-transcode at $1: $(tail -n3 "$T/tc-$1.log")"
	[ "$(ev "$T/tc-$1.log" | tail -n1)" = done ] || fail "last line at $1 is not done"
	ev "$T/tc-$1.log" | grep -cx progress
}
ni=$(run_tc info)
nd=$(run_tc debug)
[ "$ni" -eq 0 ] || fail "$ni progress lines at info in a 3 s run (want none: one each 10 s)"
[ "$nd" -ge 1 ] || fail "$nd progress lines at debug in a 3 s run (want one a second)"
ok "transcode progress: $ni lines at info, $nd at debug over 3 s"
