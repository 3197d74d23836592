#!/usr/bin/env bash
# prometheus — what Prometheus gets from lsp:
#  - docs/prometheus/lsp-rules.yml passes `promtool check rules`, and its
#    alerts fire (and stay quiet) as lsp-rules.test.yml says
#    (`promtool test rules`); every lsp_ family a rule reads is one a tool
#    serves;
#  - scripts/lsp-up with LSP_METRICS_BASE serves metrics for lsp-ingest,
#    lsp-chat, lsp-api and lsp-rtc (run/metrics/lsp-up.json), and a live
#    channel's lsp-transcode and lsp-package (run/metrics/CH.json), and
#    lsp-edge on its own port: every one of those endpoints passes the
#    strict parser (tests/tools/promparse.py) and `promtool check metrics`.
# promtool comes with Debian's prometheus (make deps); CI must have it.
. "$(dirname "$0")/../lib.sh"
need python3; need curl; need ffmpeg; need nats-server
if ! command -v promtool >/dev/null; then
	[ -n "${CI:-}" ] && fail "promtool not installed (make deps installs prometheus)"
	skip "promtool not installed (make deps installs prometheus)"
fi
R=$ROOT/docs/prometheus
promtool check rules "$R/lsp-rules.yml" >"$T/rules.log" 2>&1 || { cat "$T/rules.log" >&2; fail "promtool check rules"; }
(cd "$R" && promtool test rules lsp-rules.test.yml) >"$T/rtest.log" 2>&1 || { cat "$T/rtest.log" >&2; fail "promtool test rules"; }
n=$(grep -c '^      - alert:' "$R/lsp-rules.yml")
for f in $(grep -o 'lsp_[a-z_]*' "$R/lsp-rules.yml" | sort -u); do
	grep -rqF "\"$f\"" "$ROOT/lib" "$ROOT/bin" || fail "a rule reads $f, which no tool serves"
done
ok "lsp-rules.yml: $n alerts; promtool check rules and test rules pass; every family served"

# ---- the live endpoints of a single box
base=$(python3 - <<'PY'
import socket
# a base with its four server ports below and two channel slots (4 ports each) above free
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); b = s.getsockname()[1]; s.close()
    if b < 2000 or b > 60000:
        continue
    ok = True
    for p in range(b - 4, b + 8):
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", p))
        except OSError:
            ok = False
        t.close()
    if ok:
        print(b); break
PY
)
[ -n "$base" ] || fail "no free port range"
rtmp=$(free_port); http=$(free_port); chat=$(free_port); api=$(free_port); rtc=$(free_port); udp=$(free_port)
nats=$(free_port)
export LSP_RTMP_LISTEN=127.0.0.1:$rtmp LSP_HTTP_LISTEN=127.0.0.1:$http LSP_CHAT_LISTEN=127.0.0.1:$chat \
	LSP_API_LISTEN=127.0.0.1:$api LSP_RTC_HTTP=127.0.0.1:$rtc LSP_RTC_UDP=127.0.0.1:$udp LSP_RTC_CANDIDATE=127.0.0.1 \
	LSP_SRT_LISTEN=off LSP_NATS_PORT=$nats LSP_LADDER=240p LSP_PRESET=ultrafast LSP_DVR=0 LSP_THUMB=0 \
	LSP_METRICS_BASE=$base LSP_METRICS_SLOTS=2
key=$(new_channel promch)
bg "$ROOT/scripts/lsp-up" 2>"$T/up.log"
for p in "$rtmp" "$http" "$api" "$chat" "$rtc"; do wait_port "$p" 20 || { tail -n 20 "$T/up.log" >&2; fail "lsp-up: :$p did not listen"; }; done
J=$LSP_DATA_DIR/run/metrics
wait_file "$J/lsp-up.json" 10 || fail "no run/metrics/lsp-up.json"
for p in $((base - 4)) $((base - 3)) $((base - 2)) $((base - 1)); do
	grep -q "\"127.0.0.1:$p\"" "$J/lsp-up.json" || fail "lsp-up.json lacks :$p: $(cat "$J/lsp-up.json")"
	wait_port "$p" 10 || fail "no metrics on :$p"
done
bg ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i testsrc2=size=320x180:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 120 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f flv "rtmp://127.0.0.1:$rtmp/live/$key"
wait_file "$J/promch.json" 40 || { tail -n 20 "$T/up.log" >&2; fail "no run/metrics/promch.json"; }
targets=$(python3 -c 'import json,sys
for f in sys.argv[1:]:
    for g in json.load(open(f)):
        print(" ".join(g["targets"]))' "$J/lsp-up.json" "$J/promch.json" | tr "\n" " ")
# wait until the channel's transcode and package count what they did
for _ in $(seq 150); do
	all=""
	for t in $targets; do all="$all$(curl -sf --max-time 5 "http://$t/metrics")"; done
	grep -q '^lsp_package_parts_total{channel="promch"' <<<"$all" &&
		grep -q '^lsp_transcode_frames_in_total{channel="promch"' <<<"$all" && break
	sleep 0.2
done
i=0
for t in $targets "127.0.0.1:$http"; do
	i=$((i + 1))
	curl -sf --max-time 5 "http://$t/metrics" >"$T/m$i.prom" || fail "no /metrics at $t"
	python3 "$ROOT/tests/tools/promparse.py" "$T/m$i.prom" >"$T/m$i.parse" 2>&1 || { cat "$T/m$i.parse" >&2; fail "$t: bad exposition"; }
	promtool check metrics <"$T/m$i.prom" >"$T/m$i.lint" 2>&1 || { cat "$T/m$i.lint" >&2; fail "$t: promtool check metrics"; }
done
for fam in lsp_ingest_live_channels lsp_chat_connections lsp_api_requests_total lsp_rtc_sessions \
	lsp_edge_requests_total lsp_transcode_speed lsp_package_parts_total; do
	grep -q "^# TYPE $fam " "$T"/m*.prom || fail "no endpoint serves $fam"
done
grep -q '^lsp_package_parts_total{channel="promch"' "$T"/m*.prom || fail "the channel's package parts not counted"
grep -q '^lsp_transcode_frames_in_total{channel="promch"' "$T"/m*.prom || fail "the channel's transcode frames not counted"
grep -q '^lsp_ring_bytes_in_total{channel="promch"' "$T"/m*.prom || fail "the channel's ring writer not scraped"
grep -q '^lsp_record_recording{channel="promch"' "$T"/m*.prom || fail "the channel's recorder not scraped"
ok "$i endpoints ($targets, edge :$http) pass promparse and promtool check metrics"
