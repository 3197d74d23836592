#!/usr/bin/env bash
# test: alone
# lsp-ingest on a real nats-server: .live, once-a-second .health and .ended
# when the publisher is killed (SIGKILL) or stalls (SIGSTOP → media
# timeout); the server keeps serving the next publisher; and without a
# reachable NATS it still ingests.  The subscriber speaks the NATS text
# protocol over a raw socket (python3), so no client CLI is needed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
need ffmpeg
need python3
start_nats

start_natsub "$NATS_URL"
sleep 0.3

publish() { # url seconds
	exec ffmpeg -hide_banner -nostdin -loglevel error -re \
		-f lavfi -i "testsrc2=size=320x240:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
		-t "$2" -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -c:a aac -b:a 64k \
		-f flv "$1"
}
KA=$(new_channel alpha); KB=$(new_channel beta)
PORT=$(free_port)
LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-ingest" -l "127.0.0.1:$PORT" -t 2 -o "$T/{channel}.ts" 2>"$T/ingest.log"
IPID=$!
wait_port "$PORT" 10 || fail "ingest did not listen"

# 1. Killed publisher → .ended (disconnect) well within the media timeout.
(publish "rtmp://127.0.0.1:$PORT/live/$KA" 30) 2>"$T/ff-a.err" & pa=$!
wait_grep '^lsp.stream.alpha.health ' "$T/bus.txt" 10 || { cat "$T/ingest.log"; fail "no .health for alpha"; }
sleep 1.2
kill -KILL $pa; wait $pa 2>/dev/null
t0=$(date +%s%N)
wait_grep '^lsp.stream.alpha.ended ' "$T/bus.txt" 5 || fail "no .ended after SIGKILL"
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ $ms -le 2500 ] || fail ".ended took $ms ms"
grep -q '^lsp.stream.alpha.live {"channel":"alpha".*"video_codec":"h264","audio_codec":"aac","width":320,"height":240' "$T/bus.txt" ||
	fail "bad .live: $(grep alpha.live "$T/bus.txt")"
n=$(grep -c '^lsp.stream.alpha.health ' "$T/bus.txt")
[ "$n" -ge 2 ] || fail "only $n health messages"
h=$(grep '^lsp.stream.alpha.health ' "$T/bus.txt" | tail -n1)
python3 - "$h" <<'PY' || fail "bad health: $h"
import json, sys
h = json.loads(sys.argv[1].split(" ", 1)[1])
assert 50 < h["bitrate_kbps"] < 20000, h
assert 15 <= h["fps"] <= 35, h
assert 0.8 <= h["keyframe_interval_s"] <= 1.2, h
assert h["video_ts_ms"] > 1000 and h["audio_ts_ms"] > 1000, h
assert abs(h["av_drift_ms"]) < 500, h
PY
grep '^lsp.stream.alpha.ended ' "$T/bus.txt" | grep -q '"reason":"disconnect"' || fail "ended reason: $(grep alpha.ended "$T/bus.txt")"
ok ".live, .health (n=$n) and .ended ${ms} ms after SIGKILL"

# 2. Stalled publisher (SIGSTOP) → .ended with reason timeout after -t 2.
(publish "rtmp://127.0.0.1:$PORT/live/$KB" 30) 2>"$T/ff-b.err" & pb=$!
wait_grep '^lsp.stream.beta.live ' "$T/bus.txt" 10 || fail "no .live for beta"
kill -STOP $pb
wait_grep '^lsp.stream.beta.ended .*"reason":"timeout"' "$T/bus.txt" 6 || fail "no timeout .ended for a stalled publisher"
kill -KILL $pb; kill -CONT $pb 2>/dev/null; wait $pb 2>/dev/null
ok "stalled publisher ended by the media timeout"

# 3. The server still serves, and the file it wrote plays.
(publish "rtmp://127.0.0.1:$PORT/live/$KA" 2) 2>"$T/ff-a2.err" || { cat "$T/ff-a2.err"; fail "publish after kill failed"; }
wait_grep '"publish stopped","channel":"alpha".*"reason":"unpublished"' "$T/ingest.log" 5 || fail "second alpha publish did not end cleanly"
[ "$(grep -c '^lsp.stream.alpha.live ' "$T/bus.txt")" -eq 2 ] || fail "second .live missing"
c=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/alpha.ts")
grep -qx h264 <<<"$c" && grep -qx aac <<<"$c" || fail "alpha.ts after republish: $c"
kill -0 $IPID || fail "ingest died"
ok "ingest kept serving after a killed publisher"

# 4. NATS unreachable: a warning, and ingest goes on.
P2=$(free_port); DEAD=$(free_port)
LSP_NATS_URL=nats://127.0.0.1:$DEAD bg "$BIN/lsp-ingest" -l "127.0.0.1:$P2" -o "$T/nonats.ts" 2>"$T/ingest2.log"
wait_port "$P2" 10 || fail "ingest 2 did not listen"
(publish "rtmp://127.0.0.1:$P2/live/$KB" 1) 2>"$T/ff-c.err" || { cat "$T/ff-c.err"; fail "publish without NATS failed"; }
grep -q '"nats unavailable' "$T/ingest2.log" || fail "no warning about NATS"
[ -s "$T/nonats.ts" ] || fail "nothing ingested without NATS"
ok "without NATS it warns and ingests"
