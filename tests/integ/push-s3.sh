#!/usr/bin/env bash
# lsp-push → S3: a live ffmpeg → lsp-package directory is mirrored to a real
# HTTP server that verifies every AWS SigV4 signature (tests/tools/s3srv.py,
# an independent Python implementation, itself checked against published
# vectors).  Checks: every playlist stored names only objects stored before
# it, final playlists equal the local ones, expired segments deleted, 500s
# retried and recovered, keep-alive reuse, a slow server (timeouts) retried,
# a wrong secret refused fast (exit 1) without the secret in the logs, the
# queue bound dropping the oldest with a logged gap, usage exit codes.
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need python3; need curl
P=$BIN/lsp-push
SRV=$ROOT/tests/tools/s3srv.py
[ -x "$P" ] || fail "lsp-push not built"

# ---- usage
"$P" --help | grep -q -- "--delete-expired" || fail "--help"
"$P" --version | grep -q "^lsp-push " || fail "--version"
"$P" s3://b/p 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "no --dir rc=$rc"
"$P" ftp://x --dir . 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "bad target rc=$rc"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$P" s3://b --dir . 2>/dev/null; rc=$?
[ $rc -eq 100 ] || fail "no credentials rc=$rc"
"$P" s3://b --dir . --queue 0 2>/dev/null; rc=$?; [ $rc -eq 100 ] || fail "--queue 0 rc=$rc"
ok "usage and exit codes"

python3 "$SRV" --selftest >/dev/null || fail "s3srv.py SigV4 self-test"
port=$(free_port)
export AWS_ACCESS_KEY_ID=AKIDLSPTEST AWS_SECRET_ACCESS_KEY=lsp-test-secret-$$
bg python3 "$SRV" --port "$port" --root "$T/store" --log "$T/srv.log" --access $AWS_ACCESS_KEY_ID \
	--secret "$AWS_SECRET_ACCESS_KEY" >/dev/null 2>"$T/srv.err"
wait_port "$port" 5 || fail "s3srv did not start"
EP=http://127.0.0.1:$port
ctl() { curl -sf "$EP/_ctl?$1" >/dev/null || fail "ctl $1"; }

# ---- live: ffmpeg -> lsp-package -> dir -> lsp-push -> server
mkdir -p "$T/hls/ch"
LSP_LOG_LEVEL=info bg "$P" s3://media/live/ch --dir "$T/hls/ch" --endpoint "$EP" --path-style \
	--delete-expired --retry-max 0.5 2>"$T/push.log"
pushpid=$!
t0=$(date +%s.%N)
( ffmpeg -v error -re -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
	-t 7 -c:v libx264 -preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p -c:a aac \
	-f mpegts - | "$BIN/lsp-package" --out "$T/hls/ch" --first-seq 0 --window 3 ) 2>"$T/pack.log" &
packpid=$!
sleep 2.5
ctl "fail=6&code=500"
wait $packpid || { cat "$T/pack.log" >&2; fail "ffmpeg | lsp-package"; }
grep -q ENDLIST "$T/hls/ch/src/index.m3u8" || fail "package did not end the playlist"
# the last playlist (with ENDLIST) reaches the bucket, rewritten for a
# static origin: its segments, none of the LL-HLS tags a bucket cannot honour
segs() { grep -e '^#EXTINF' -e '^seg' -e '^#EXT-X-MEDIA-SEQUENCE' -e '^#EXT-X-ENDLIST' -e '^#EXT-X-TARGETDURATION' "$1"; }
same_pl() { [ -f "$2" ] && [ "$(segs "$1")" = "$(segs "$2")" ]; }
for _ in $(seq 50); do
	same_pl "$T/hls/ch/src/index.m3u8" "$T/store/media/live/ch/src/index.m3u8" && break; sleep 0.1
done
lag=$(python3 -c "import os,sys;print('%.2f'%(os.path.getmtime(sys.argv[1])-os.path.getmtime(sys.argv[2])))" \
	"$T/store/media/live/ch/src/index.m3u8" "$T/hls/ch/src/index.m3u8")
same_pl "$T/hls/ch/src/index.m3u8" "$T/store/media/live/ch/src/index.m3u8" || fail "final playlist not in the bucket"
grep -q -e 'CAN-BLOCK-RELOAD' -e 'CAN-SKIP' -e 'PART-HOLD-BACK' -e '^#EXT-X-PART' -e 'PRELOAD-HINT' -e 'RENDITION-REPORT' \
	"$T/store/media/live/ch/src/index.m3u8" && fail "the bucket's playlist keeps LL-HLS tags"
grep -q '^#EXT-X-SERVER-CONTROL:HOLD-BACK=3\.000$' "$T/store/media/live/ch/src/index.m3u8" || fail "HOLD-BACK lost"
hls_check "$T/store/media/live/ch"
kill -TERM $pushpid; wait $pushpid; rc=$?
[ $rc -eq 0 ] || { tail -5 "$T/push.log" >&2; fail "lsp-push after SIGTERM rc=$rc"; }
ok "live mirror; final playlist in the bucket ${lag}s after it was written"

out=$(python3 "$ROOT/tests/tools/s3order.py" "$T/srv.log" live/ch) || { echo "$out" >&2; fail "order"; }
echo "order: $out"
checked=$(echo "$out" | python3 -c 'import json,sys;d=json.load(sys.stdin);print(d["playlists_checked"])')
[ "$checked" -ge 8 ] || fail "only $checked playlist uploads checked"
ok "every stored playlist named only objects stored before it"

# the bucket holds exactly the local files (expired ones deleted), byte for byte
(cd "$T/hls/ch" && find . -type f ! -name '.*' | sort) >"$T/local.lst"
(cd "$T/store/media/live/ch" && find . -type f ! -name '*.meta' | sort) >"$T/remote.lst"
diff "$T/local.lst" "$T/remote.lst" >"$T/diff" || { head "$T/diff" >&2; fail "bucket differs from the directory"; }
while read -r f; do
	case $f in *.m3u8) same_pl "$T/hls/ch/$f" "$T/store/media/live/ch/$f" || fail "$f differs" ;;
	*) cmp -s "$T/hls/ch/$f" "$T/store/media/live/ch/$f" || fail "$f differs" ;; esac
done <"$T/local.lst"
grep -q '"method": "DELETE", "key": "live/ch/src/seg0.m4s", "status": 204' "$T/srv.log" || fail "seg0 not deleted"
grep -q '"method": "DELETE", "key": "live/ch/src/seg0.0.m4s", "status": 204' "$T/srv.log" || fail "part 0.0 not deleted"
ndel=$(grep -c '"method": "DELETE"' "$T/srv.log")
grep -q '"content-type": "application/vnd.apple.mpegurl", "cache-control": "max-age=1"' \
	"$T/store/media/live/ch/src/index.m3u8.meta" || fail "playlist headers"
# upload delay: local publication (mtime) -> stored (server log), for the files still there
lat=$(python3 - "$T/srv.log" "$T/hls/ch" <<'PY'
import json, os, sys
put, healed = {}, 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["err"] == "injected":
        healed = r["t"]
    if r["method"] == "PUT" and r["status"] == 200 and r["key"].startswith("live/ch/"):
        put[r["key"][8:]] = r["t"]
        if healed and healed > 0 and r["t"] > healed:
            healed = -r["t"]   # first success after the last injected 500
mt = lambda f: os.path.getmtime(os.path.join(sys.argv[2], f))
d = sorted(put[f] - mt(f) for f in put if not f.endswith(".m3u8")
           and os.path.exists(os.path.join(sys.argv[2], f)) and mt(f) > -healed)
print("%.3f %.3f %d" % (d[len(d) // 2], d[-1], len(d)))
PY
)
read -r med max nlat <<<"$lat"
python3 -c "import sys; sys.exit(not ($med < 0.5))" || fail "median upload delay ${med}s"
ok "media upload delay after recovery, over $nlat files: median ${med}s, max ${max}s"
ok "bucket == directory ($(wc -l <"$T/local.lst") files), $ndel expired objects deleted"

ninj=$(grep -c '"err": "injected"' "$T/srv.log")
[ "$ninj" -eq 6 ] || fail "$ninj injected 500s seen, want 6"
grep -q '"event":"retrying".*"status":500' "$T/push.log" || fail "no retry logged for a 500"
grep -q '"event":"recovered"' "$T/push.log" || fail "no recovery logged"
grep -q '"event":"gap' "$T/push.log" && fail "a gap during the 500s"
nreq=$(grep -c . "$T/srv.log"); nconn=$(echo "$out" | python3 -c 'import json,sys;print(json.load(sys.stdin)["connections"])')
[ "$nconn" -le 3 ] || fail "$nreq requests used $nconn connections (keep-alive?)"
ok "6 injected 500s retried and recovered; $nreq requests over $nconn connection(s)"

# ---- slow server: requests time out, are retried, and get through
mkdir -p "$T/small/r"
for i in 0 1 2; do head -c 1000 /dev/urandom >"$T/small/r/seg$i.m4s"; done
printf '#EXTM3U\n' >"$T/small/r/index.m3u8"
ctl "slow=0.8"
( sleep 1.5; curl -sf "$EP/_ctl?slow=0" >/dev/null ) &
"$P" s3://media/slow --dir "$T/small" --endpoint "$EP" --path-style --once --timeout 0.3 --retry-max 0.5 \
	2>"$T/slow.log"; rc=$?
[ $rc -eq 0 ] || { tail -5 "$T/slow.log" >&2; fail "slow server rc=$rc"; }
grep -q '"event":"retrying".*Timeout' "$T/slow.log" || fail "no timeout retry logged"
[ -f "$T/store/media/slow/r/index.m3u8" ] || fail "slow: playlist missing"
ok "slow server: timeouts retried, all uploaded"

# ---- wrong secret: refused fast, exit 1, clear log, secret never logged
AWS_SECRET_ACCESS_KEY=not-the-secret-xyz "$P" s3://media/bad --dir "$T/small" --endpoint "$EP" --path-style \
	2>"$T/403.log"; rc=$?
[ $rc -eq 1 ] || fail "wrong secret rc=$rc"
grep -q '"event":"credentials refused".*SignatureDoesNotMatch' "$T/403.log" || fail "403 not logged clearly"
grep -q 'not-the-secret-xyz' "$T/403.log" && fail "secret in the log"
[ -e "$T/store/media/bad" ] && fail "something stored with a wrong secret"
ok "wrong secret: exit 1 with SignatureDoesNotMatch"

# ---- queue bound: 20 segments, room for 8 -> the 12 oldest skipped with a gap each
mkdir -p "$T/many/r"
for i in $(seq 0 19); do echo "$i" >"$T/many/r/seg$i.m4s"; done
"$P" s3://media/many --dir "$T/many" --endpoint "$EP" --path-style --once --queue 8 2>"$T/many.log"; rc=$?
ngap=$(grep -c '"event":"gap: queue full' "$T/many.log")
[ "$ngap" -eq 12 ] || fail "$ngap gaps logged, want 12"
grep -q '"path":"r/seg0.m4s"' "$T/many.log" || fail "oldest not the one skipped"
[ -f "$T/store/media/many/r/seg19.m4s" ] && [ ! -f "$T/store/media/many/r/seg11.m4s" ] || fail "wrong ones kept"
ok "queue bound: 12 oldest skipped with a logged gap, newest 8 uploaded"

# ---- virtual-host style (bucket.localhost)
"$P" s3://vhost/x --dir "$T/small" --endpoint "http://localhost:$port" --once 2>"$T/vh.log" || fail "vhost rc=$?"
[ -f "$T/store/vhost/x/r/seg2.m4s" ] || fail "virtual-host style upload missing"
ok "virtual-host style"
grep -q '"level":"fatal"' "$T/push.log" && fail "fatal in the live log"
echo "total $(python3 -c "import time;print('%.1f'%(time.time()-$t0))")s"
exit 0
