#!/usr/bin/env bash
# metrics — every long-running tool's --metrics /metrics endpoint (and
# lsp-edge's /metrics on its main port) answers strict Prometheus text
# exposition (tests/tools/promparse.py and `promtool check metrics`), with
# the families the dashboard
# docs/grafana/lsp.json uses, and values that move with real traffic:
# a chat message and a tip, a package run writing parts, a transcode run.
. "$(dirname "$0")/../lib.sh"
need python3
need ffmpeg
need curl
export PYTHONPATH=$ROOT/tests/tools
PARSE=$ROOT/tests/tools/promparse.py
# promtool (Debian's prometheus) lints each scrape as well; under CI it must be there.
fetch() { # name url
	curl -sf --max-time 5 "$2" >"$T/$1.prom" || fail "$1: no /metrics at $2"
}
scrape() { # name url required-families...
	fetch "$1" "$2"
	check "$@"
}
check() { # name url required-families...: the fetched scrape parses, strictly
	local name=$1; shift 2
	python3 "$PARSE" "$T/$name.prom" "$@" >"$T/$name.parse" 2>&1 || { cat "$T/$name.parse" >&2; fail "$name: bad exposition"; }
	if command -v promtool >/dev/null; then
		promtool check metrics <"$T/$name.prom" >"$T/$name.promtool" 2>&1 || { cat "$T/$name.promtool" >&2; fail "$name: promtool check metrics"; }
	elif [ -n "${CI:-}" ]; then
		fail "promtool not installed (make deps installs prometheus)"
	fi
	ok "$name: $(cat "$T/$name.parse")"
}
val() { # file series-prefix: first matching sample's value, else empty
	awk -v p="$2" 'index($0, p) == 1 { print $NF; exit }' "$1"
}

"$BIN/lsp-ctl" user add alice >/dev/null 2>&1 || fail "user add"
"$BIN/lsp-ctl" user credit alice 100 >/dev/null 2>&1 || fail "credit"
"$BIN/lsp-ctl" channel add room >/dev/null 2>&1 || fail "channel add room" # tips go only to a registered channel
A=$("$BIN/lsp-ctl" token alice 2>/dev/null) || fail "token"

# the parser itself must refuse what is wrong
printf '# TYPE x_total counter\nx_total{a="b} 1\n' >"$T/bad1"
printf 'y 1\n' >"$T/bad2"
printf '# TYPE z_total counter\nz_total -1\n' >"$T/bad3"
printf '# TYPE w gauge\nw{a="1"} 1\nw{a="1"} 2\n' >"$T/bad4"
for f in bad1 bad2 bad3 bad4; do
	python3 "$PARSE" "$T/$f" 2>/dev/null && fail "promparse accepted $f"
done
ok "promparse refuses malformed input"

# chat: a message and a tip must show up in the counters
CP=$(free_port) CM=$(free_port)
bg "$BIN/lsp-chat" -l 127.0.0.1:$CP --metrics 127.0.0.1:$CM 2>"$T/chat.log"
wait_port "$CP" 5 && wait_port "$CM" 5 || fail "lsp-chat did not start"
python3 - "$CP" "$A" <<'PY' || fail "chat scenario"
import sys
from wsc import WS
port, tok = sys.argv[1:]
a = WS(f"ws://127.0.0.1:{port}/ws/room")
a.send({"type": "auth", "token": tok}); a.until(lambda m: m["type"] == "auth_ok")
a.send({"type": "say", "text": "hello metrics"}); a.until(lambda m: m["type"] == "say")
a.send({"type": "tip", "amount": 7, "key": "k-metrics-1", "text": "t"}); a.until(lambda m: m["type"] == "tip_ok")
PY
scrape chat "http://127.0.0.1:$CM/metrics" lsp_chat_connections lsp_chat_messages_total lsp_chat_tips_total \
	lsp_chat_bytes_in_total lsp_chat_bytes_out_total lsp_chat_errors_total lsp_build_info
[ "$(val "$T/chat.prom" 'lsp_chat_messages_total{channel="room"}')" = 1 ] || fail "chat message not counted"
[ "$(val "$T/chat.prom" 'lsp_chat_tip_amount_total{channel="room"}')" = 7 ] || fail "tip amount not counted"
[ "$(val "$T/chat.prom" 'lsp_chat_connections ')" = 0 ] || fail "closed connection still counted"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CM/other")
[ "$code" = 404 ] || fail "metrics responder answered $code for /other"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$CM/metrics")
[ "$code" = 405 ] || fail "metrics responder answered $code for POST"
ok "chat counters follow traffic"

# rtc and api: endpoints parse, families present
RH=$(free_port) RU=$(free_port) RM=$(free_port) AP=$(free_port) AM=$(free_port) EP=$(free_port)
bg "$BIN/lsp-rtc" --http 127.0.0.1:$RH --udp 127.0.0.1:$RU --candidate 127.0.0.1 --metrics 127.0.0.1:$RM 2>"$T/rtc.log"
bg "$BIN/lsp-api" -l 127.0.0.1:$AP --scrypt-log2n 10 --metrics 127.0.0.1:$AM 2>"$T/api.log"
mkdir -p "$T/hls" "$T/web"
bg "$BIN/lsp-edge" --listen 127.0.0.1:$EP --hls-root "$T/hls" --web-root "$T/web" 2>"$T/edge.log"
wait_port "$RM" 5 && wait_port "$AM" 5 && wait_port "$EP" 5 || fail "rtc/api/edge did not start"
wait_port "$AP" 5 || fail "api did not start"
curl -s -o /dev/null "http://127.0.0.1:$AP/api/v1/nothing-here"
curl -s -o /dev/null "http://127.0.0.1:$EP/hls/none/index.m3u8"
scrape rtc "http://127.0.0.1:$RM/metrics" lsp_rtc_sessions lsp_rtc_offers_total lsp_rtc_errors_total
scrape api "http://127.0.0.1:$AM/metrics" lsp_api_requests_total lsp_api_bytes_out_total
[ "$(val "$T/api.prom" 'lsp_api_requests_total{code="4xx"}')" -ge 1 ] 2>/dev/null || fail "api 4xx not counted"
scrape edge "http://127.0.0.1:$EP/metrics" lsp_edge_connections_open lsp_edge_holds_total lsp_edge_bytes_sent_total

# package + transcode on a live-paced 4 s input: scrape while they run
PM=$(free_port) XM=$(free_port)
mkfifo "$T/in.ts"
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 4 -c:v libx264 -preset ultrafast -g 25 \
	-c:a aac -f mpegts - >'$T/in.ts'"
bg bash -c "LSP_CHANNEL=demo '$BIN/lsp-transcode' -l 240p -p ultrafast --metrics 127.0.0.1:$XM <'$T/in.ts' 2>'$T/tc.log' \
	| '$BIN/lsp-package' --out '$T/hls/demo' --metrics 127.0.0.1:$PM 2>'$T/pkg.log'"
wait_port "$XM" 10 && wait_port "$PM" 10 || fail "transcode/package metrics did not start"
wait_file "$T/hls/demo/240p/index.m3u8" 10 || fail "no playlist"
sleep 1.5
fetch transcode "http://127.0.0.1:$XM/metrics" # both while they run, then the checks
fetch package "http://127.0.0.1:$PM/metrics"
check package - lsp_package_parts_total lsp_package_segments_total lsp_package_bitrate_bps
check transcode - lsp_transcode_fps lsp_transcode_speed lsp_transcode_frames_in_total
parts=$(val "$T/package.prom" 'lsp_package_parts_total{channel="demo",rung="240p"}')
[ "${parts:-0}" -ge 3 ] || fail "package parts not counted ($parts)"
fin=$(val "$T/transcode.prom" 'lsp_transcode_frames_in_total{channel="demo"}')
[ "${fin:-0}" -ge 10 ] || fail "transcode frames not counted ($fin)"
ok "package parts=$parts, transcode frames_in=$fin"

# ingest: one short RTMP publish and one refused key are counted (the
# publishing child counts into the parent's shared registry)
IP=$(free_port) IM=$(free_port)
key=$(new_channel metr)
bg "$BIN/lsp-ingest" -l 127.0.0.1:$IP -o "$T/ingest-{channel}.ts" -t 5 --metrics 127.0.0.1:$IM 2>"$T/ingest.log"
wait_port "$IP" 5 && wait_port "$IM" 5 || fail "lsp-ingest did not start"
ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=sample_rate=48000 \
	-t 2 -c:v libx264 -preset ultrafast -c:a aac -f flv "rtmp://127.0.0.1:$IP/live/$key" || fail "publish failed"
ffmpeg -hide_banner -loglevel quiet -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libx264 -preset ultrafast \
	-f flv "rtmp://127.0.0.1:$IP/live/metr_000000000000000000000000000000000000000000000000" 2>/dev/null
sleep 0.5
scrape ingest "http://127.0.0.1:$IM/metrics" lsp_ingest_live_channels lsp_ingest_publishes_total \
	lsp_ingest_refused_total lsp_ingest_bytes_in_total
[ "$(val "$T/ingest.prom" 'lsp_ingest_publishes_total ')" -ge 1 ] 2>/dev/null || fail "ingest publish not counted"
[ "$(val "$T/ingest.prom" 'lsp_ingest_refused_total ')" -ge 1 ] 2>/dev/null || fail "ingest refusal not counted"
b=$(val "$T/ingest.prom" 'lsp_ingest_bytes_in_total{channel="metr"}')
[ "${b%.*}" -gt 10000 ] 2>/dev/null || fail "ingest bytes not counted ($b)"
ok "ingest counters follow traffic (bytes_in=$b)"

# every family the dashboard queries is served by some tool
missing=$(grep -o '\(lsp\|process\)_[a-z_]*' "$ROOT/docs/grafana/lsp.json" | sort -u | while read -r f; do
	case $f in lsp_ingest_*) "$BIN/lsp-ingest" --help | grep -q -- --metrics || continue ;; esac
	grep -q "^# TYPE $f " "$T"/*.prom || echo "$f"
done)
[ -z "$missing" ] || fail "dashboard uses families no tool serves: $missing"
ok "dashboard families all served"

# a bad --metrics address is a usage error
"$BIN/lsp-package" --out "$T/x" --metrics 'nope:port' </dev/null 2>/dev/null; rc=$?
[ $rc -eq 100 ] || fail "bad --metrics gave $rc, want 100"
ok "all /metrics endpoints parse"
