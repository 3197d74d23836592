#!/usr/bin/env bash
# test: alone
# lsp-push restream: TS on stdin → two RTMP destinations, each a real
# lsp-ingest (own LSP_DATA_DIR, own channel and key, -o to a file).  Both
# must receive H.264 + AAC.  Then one destination is frozen (SIGSTOP): the
# other keeps receiving, lsp-push keeps reading stdin at the source's pace
# (the -re source is never held back), the frozen one is dropped and
# reconnected once it thaws.  Stream keys never appear in lsp-push's log.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need ffprobe
P=$BIN/lsp-push
[ -x "$P" ] || fail "lsp-push not built"
"$P" rtmp://a/b/c s3://x 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "mixed targets rc=$rc"
"$P" rtmp://a/b/c --stall 0 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "--stall 0 rc=$rc"
"$P" rtmp://127.0.0.1:1/live/k </dev/null 2>"$T/empty.log"; rc=$?
[ $rc -eq 111 ] || fail "empty input rc=$rc"
ok "usage and exit codes"

# lsp-ingest forks a child per connection: signal the whole tree
tree() { local c; echo "$1"; for c in $(ps -o pid= --ppid "$1"); do tree "$c"; done; }
declare -a port key pid
for i in 1 2; do
	port[$i]=$(free_port)
	key[$i]=$(LSP_DATA_DIR=$T/var$i "$BIN/lsp-ctl" channel add dst$i 2>/dev/null | tail -n1 | awk '{print $NF}')
	[ -n "${key[$i]}" ] || fail "no key for dst$i"
	LSP_DATA_DIR=$T/var$i bg "$BIN/lsp-ingest" -l 127.0.0.1:${port[$i]} -o "$T/out$i.ts" -t 30 2>"$T/ingest$i.log"
	pid[$i]=$!
	wait_port "${port[$i]}" 5 || fail "ingest $i did not listen"
done

# dst3: a peer that accepts TCP and then never reads or answers (a hung
# server): lsp-push must give up on it after --stall and keep retrying.
bh=$(free_port)
bg python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$bh"
wait_port "$bh" 5 || fail "black hole did not listen"

# ~8 Mbit/s (noise does not compress), so a frozen peer fills the socket
# buffers within the freeze; encoded ahead, sent at its own pace (-re).
dur=10
ffmpeg -v error -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
	-t $dur -vf noise=alls=60:allf=t -c:v libx264 -preset ultrafast -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts "$T/src.ts" || fail "encode"
t0=$(date +%s.%N)
( ffmpeg -v error -re -i "$T/src.ts" -c copy -f mpegts - ; echo "source-done $(date +%s.%N)" >"$T/src.done" ) | \
	"$P" "rtmp://127.0.0.1:${port[1]}/live/${key[1]}" "rtmp://127.0.0.1:${port[2]}/live/${key[2]}" \
		"rtmp://127.0.0.1:$bh/live/hung" \
		--stall 1 --queue 150 2>"$T/push.log" &
runpid=$!
sleep 3
wait_grep '"publish started"' "$T/ingest1.log" 1 || fail "dst1 never saw a publish"
wait_grep '"publish started"' "$T/ingest2.log" 1 || fail "dst2 never saw a publish"
frozen=$(tree "${pid[2]}")
kill -STOP $frozen
s1=$(stat -c %s "$T/out1.ts")
sleep 3
s2=$(stat -c %s "$T/out1.ts")
# now lose dst2 altogether, and bring it back on the same port
kill -KILL $frozen
wait "${pid[2]}" 2>/dev/null
sleep 1
LSP_DATA_DIR=$T/var2 bg "$BIN/lsp-ingest" -l 127.0.0.1:${port[2]} -o "$T/out2b.ts" -t 30 2>"$T/ingest2b.log"
wait_port "${port[2]}" 5 || fail "ingest 2 did not come back"
wait $runpid; rc=$?
t1=$(date +%s.%N)
[ $rc -eq 0 ] || { tail -5 "$T/push.log" >&2; fail "lsp-push rc=$rc"; }
took=$(python3 -c "print('%.1f' % ($t1 - $t0))")
srcend=$(awk '{print $2}' "$T/src.done")
srctook=$(python3 -c "print('%.1f' % ($srcend - $t0))")
[ "$s2" -gt $((s1 + 2000000)) ] || fail "dst1 stalled while dst2 was frozen ($s1 -> $s2 bytes)"
python3 -c "import sys; sys.exit(not ($srcend - $t0 < $dur + 2.5))" || fail "source held back: ran ${srctook}s for ${dur}s"
python3 -c "import sys; sys.exit(not ($t1 - $t0 < $dur + 6))" || fail "lsp-push took ${took}s"
ok "dst1 grew $s1 -> $s2 bytes while dst2 was frozen; source ran ${srctook}s of ${dur}s; lsp-push ended at ${took}s"

sleep 1.5 # let the ingests close their files
for f in out1 out2b; do
	ffprobe -v error -count_packets -show_entries stream=codec_name,nb_read_packets -of csv=p=0 "$T/$f.ts" \
		2>&1 | sort -u | grep . >"$T/probe.$f"
done
grep -q '^h264,' "$T/probe.out1" && grep -q '^aac,' "$T/probe.out1" || fail "dst1: $(cat "$T/probe.out1")"
nv=$(awk -F, '/^h264/{print $2; exit}' "$T/probe.out1")
[ "$nv" -ge $((dur * 30 - 45)) ] || fail "dst1 got only $nv video frames of $((dur * 30))"
nv2=$(awk -F, '/^h264/{print $2; exit}' "$T/probe.out2b")
[ "${nv2:-0}" -ge 30 ] || fail "dst2 after its return: $(cat "$T/probe.out2b")"
ok "dst1: $(tr '\n' ' ' <"$T/probe.out1"); dst2 after reconnecting: $(tr '\n' ' ' <"$T/probe.out2b")"

grep '"dest":1' "$T/push.log" | grep -q '"event":"connection lost"' || fail "loss of dst2 not logged"
grep -q '"event":"destination done","dest":1,.*"connects":[2-9]' "$T/push.log" || fail "dst2 not reconnected once"
d0=$(grep '"event":"destination done","dest":0' "$T/push.log")
echo "$d0" | grep -q '"connects":1,"failures":0' || fail "dst1 was disturbed: $d0"
for i in 1 2; do grep -q "${key[$i]}" "$T/push.log" && fail "stream key $i in the log"; done
grep '"dest":2' "$T/push.log" | grep -q '"event":"connect failed".*no answer within 1000 ms' || fail "hung destination: no failed connect logged"
grep '"dest":2' "$T/push.log" | grep -q '"event":"destination too slow' || fail "hung destination: no drop logged"
grep '"event":"destination done"' "$T/push.log" | sed 's/^.*"dest"/  "dest"/'
ok "lost destination reconnected, hung one dropped and retried; dst1 untouched; keys not logged"

# RTMPS: the destination's certificate is verified.  A self-signed one is
# refused; trusted through --ca-file it is accepted; --insecure-tls skips
# the check and says so in the log.
need openssl
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tkey.pem" -out "$T/tcert.pem" -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>"$T/openssl.err" || fail "openssl: $(cat "$T/openssl.err")"
tp=$(free_port); rp=$(free_port)
tkey=$(LSP_DATA_DIR=$T/vart "$BIN/lsp-ctl" channel add tls 2>/dev/null | tail -n1 | awk '{print $NF}')
LSP_DATA_DIR=$T/vart bg "$BIN/lsp-ingest" -l "127.0.0.1:$rp" --tls-listen "127.0.0.1:$tp" --cert "$T/tcert.pem" \
	--key "$T/tkey.pem" -o "$T/tls-{channel}.ts" -t 30 2>"$T/ingest-tls.log"
wait_port "$tp" 5 || fail "RTMPS ingest did not listen"
head -c 3000000 "$T/src.ts" >"$T/short.ts"
tls_push() { timeout 60 "$P" "rtmps://127.0.0.1:$tp/live/$tkey" -i "$T/short.ts" "$@"; }
rm -f "$T/tls-tls.ts"
tls_push 2>"$T/tls-default.log"
grep -q '"event":"destination done".*"sent":0' "$T/tls-default.log" || fail "self-signed RTMPS accepted without trust: $(grep 'destination done' "$T/tls-default.log")"
grep -q '"event":"connect failed"' "$T/tls-default.log" || fail "no failed connect for an untrusted certificate"
grep -q "$tkey" "$T/tls-default.log" && fail "stream key logged"
ok "an untrusted RTMPS certificate is refused"
tls_push --ca-file "$T/tcert.pem" 2>"$T/tls-ca.log" || fail "push with --ca-file: $(tail -n 3 "$T/tls-ca.log")"
grep -q '"event":"destination done".*"sent":[1-9]' "$T/tls-ca.log" || fail "nothing sent with --ca-file: $(grep 'destination done' "$T/tls-ca.log")"
ok "trusted through --ca-file: $(grep -o '"sent":[0-9]*' "$T/tls-ca.log" | head -n1)"
tls_push --insecure-tls 2>"$T/tls-insecure.log" || fail "push with --insecure-tls"
grep -q '"level":"warn".*"event":"RTMPS certificates not verified"' "$T/tls-insecure.log" || fail "--insecure-tls not logged"
grep -q '"event":"destination done".*"sent":[1-9]' "$T/tls-insecure.log" || fail "nothing sent with --insecure-tls"
ok "--insecure-tls sends and is logged"
exit 0
