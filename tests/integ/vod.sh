#!/usr/bin/env bash
# Recordings from the control plane: lsp-ctl channel set NAME record=on
# retention=…, lsp-ctl vod list|rm, lsp-ctl gc (retention by age and size),
# and lsp-record honouring record=on.  Skipped until lsp-ctl has the vod
# commands (LSP_CTL may name another lsp-ctl binary).
. "$(dirname "$0")/../lib.sh"
need ffmpeg
C=${LSP_CTL:-$BIN/lsp-ctl}
R=$BIN/lsp-record
[ -x "$R" ] && [ -x "$C" ] || fail "lsp-record or lsp-ctl not built"
"$C" vod list >/dev/null 2>&1 || skip "lsp-ctl has no vod commands yet"

new() { "$C" channel add "$1" >/dev/null 2>>"$T/ctl.log" || fail "channel add $1"; }
new demo; new other
"$C" channel set demo record=on retention=30d || fail "channel set"
"$C" channel set demo colour=red 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "bad setting rc=$rc"
"$C" channel set nosuch record=on 2>/dev/null; rc=$?; [ $rc -eq 1 ] || fail "unknown channel rc=$rc"
ok "channel set"

ffmpeg -v error -f lavfi -i testsrc2=size=160x90:rate=30 -f lavfi -i sine=sample_rate=48000 -t 3 \
	-c:v libx264 -preset ultrafast -g 30 -c:a aac -f mpegts "$T/in.ts" || fail "ffmpeg"
"$R" --channel demo --segment 1 --grace 0 <"$T/in.ts" 2>"$T/r1.log" || fail "record demo"
sleep 1.1
"$R" --channel demo --segment 1 --grace 0 <"$T/in.ts" 2>"$T/r2.log" || fail "record demo again"
"$R" --channel other --segment 1 <"$T/in.ts" 2>"$T/r3.log" || fail "record other"
[ -e "$LSP_DATA_DIR/vod/other" ] && fail "other has record off but was recorded"
out=$("$C" vod list demo) || fail "vod list"
echo "$out"
[ "$(echo "$out" | grep -c $'\tdone$')" -eq 2 ] || fail "want two finished recordings of demo"
hls_check "$LSP_DATA_DIR/vod"
first=$(echo "$out" | head -n1 | cut -f2)
"$C" vod rm demo "$first" || fail "vod rm"
"$C" vod rm demo "$first" 2>/dev/null; rc=$?; [ $rc -eq 1 ] || fail "vod rm twice rc=$rc"
[ "$("$C" vod list | wc -l)" -eq 1 ] || fail "vod list after rm"
ok "vod list and rm"

# retention: make the remaining recording look 31 days old, and gc removes it
id=$("$C" vod list demo | cut -f2)
st=$LSP_DATA_DIR/vod/demo/$id/rec.state
old=$(( $(date +%s) - 31 * 86400 ))
sed -i "s/^ended .*/ended $old/; s/^started .*/started $old/" "$st"
"$C" channel set demo retention=60d || fail "retention=60d"
"$C" gc | grep -q removed && fail "gc removed a recording within retention"
"$C" channel set demo retention=30d || fail "retention=30d"
"$C" gc | grep -q "removed	demo	$id	age" || fail "gc did not remove the 31-day-old recording"
[ -e "$LSP_DATA_DIR/vod/demo/$id" ] && fail "directory still there"
ok "gc enforces retention"
