#!/usr/bin/env bash
# secrets — a full scripts/lsp-up session at debug log level: a sign-up and
# sign-in over lsp-api, a channel created there (stream key shown once),
# another with lsp-ctl, an RTMP publish with the right key and one with a
# wrong key, chat tokens from lsp-ctl and lsp-api, a chat message.  Then
# every log of the run must be JSON lines (ts, level, prog, msg) and none
# may contain a stream key, token, password or CSRF value (whole, or its
# last 16 characters).
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need python3
export PYTHONPATH=$ROOT/tests/tools
export LSP_LOG_LEVEL=debug
rtmp=$(free_port); http=$(free_port); chat=$(free_port); api=$(free_port); rtc=$(free_port); udp=$(free_port)
export LSP_RTMP_LISTEN=127.0.0.1:$rtmp LSP_HTTP_LISTEN=127.0.0.1:$http LSP_CHAT_LISTEN=127.0.0.1:$chat \
	LSP_API_LISTEN=127.0.0.1:$api LSP_RTC_HTTP=127.0.0.1:$rtc LSP_RTC_UDP=127.0.0.1:$udp LSP_RTC_CANDIDATE=127.0.0.1 LSP_SRT_LISTEN=127.0.0.1:$(free_port)
export LSP_LADDER=240p LSP_PRESET=ultrafast LSP_DVR=0
secrets=()
K2=$(new_channel ctlchan); secrets+=("$K2")
"$BIN/lsp-ctl" user add dave >/dev/null 2>>"$T/ctl.log" || fail "user add"
T2=$("$BIN/lsp-ctl" token dave 2>>"$T/ctl.log") || fail "token"; secrets+=("$T2")
bg "$ROOT/scripts/lsp-up" 2>"$T/up.log"
UP=${_pids[-1]}
for p in "$rtmp" "$http" "$chat" "$api" "$rtc"; do wait_port "$p" 10 || fail "lsp-up: :$p did not listen"; done

# control plane: sign up (creator), sign in, create a channel, a chat token
PW="Pw-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"; secrets+=("$PW")
python3 - "$api" "$PW" >"$T/api.out" <<'PY' || fail "api flow"
import json, sys, urllib.request
port, pw = sys.argv[1:]
def call(method, path, body=None, tok=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    if tok: req.add_header("Authorization", "Bearer " + tok)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")
s = call("POST", "/signup", {"name": "carol", "password": pw, "age": 30, "creator": True})
s2 = call("POST", "/signin", {"name": "carol", "password": pw})
ch = call("POST", "/channels", {"name": "apichan", "title": "t"}, s2["token"])
ct = call("POST", "/chat/token", {"channel": "apichan"}, s2["token"])
print(s["token"]); print(s["csrf"]); print(s2["token"]); print(s2["csrf"])
print(ch["key"]); print(ct["token"])
PY
mapfile -t a <"$T/api.out"
[ ${#a[@]} -eq 6 ] || fail "api flow printed ${#a[@]} values"
secrets+=("${a[@]}")
K1=${a[4]}; T3=${a[5]}
ok "api: signed up, signed in, channel created"

# publish with the API's key; a wrong key is refused
bad="badkey$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"; secrets+=("$bad")
ffmpeg -hide_banner -loglevel quiet -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libx264 \
	-preset ultrafast -f flv "rtmp://127.0.0.1:$rtmp/live/$bad" 2>/dev/null && fail "wrong key accepted"
bg ffmpeg -hide_banner -loglevel quiet -re -f lavfi -i testsrc2=size=320x240:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 5 -c:v libx264 -preset ultrafast -g 25 \
	-pix_fmt yuv420p -c:a aac -f flv "rtmp://127.0.0.1:$rtmp/live/$K1"
FF=${_pids[-1]}
wait_file "$T/var/hls/apichan/master.m3u8" 15 || { tail -n 20 "$T/up.log" >&2; fail "no HLS from the publish"; }
ok "publish live, wrong key refused"

# chat with both tokens
python3 - "$chat" "$T2" "$T3" <<'PY' || fail "chat"
import sys
from wsc import WS
port, t2, t3 = sys.argv[1:]
for ch, tok in (("ctlchan", t2), ("apichan", t3)):
    w = WS(f"ws://127.0.0.1:{port}/ws/{ch}")
    w.send({"type": "auth", "token": tok}); w.until(lambda m: m["type"] == "auth_ok")
    w.send({"type": "say", "text": "hello"}); w.until(lambda m: m["type"] == "say")
PY
ok "chat messages sent"
wait "$FF" 2>/dev/null
sleep 1
kill "$UP"; for _ in $(seq 50); do kill -0 "$UP" 2>/dev/null || break; sleep 0.1; done

# every log: JSON lines, no secret
logs=("$T"/*.log)
python3 - "${logs[@]}" <<'PY' || fail "a log line is not a JSON object with ts, level, prog, msg"
import json, sys
bad = 0
for f in sys.argv[1:]:
    for n, line in enumerate(open(f, errors="replace"), 1):
        try:
            o = json.loads(line)
            assert isinstance(o, dict) and all(k in o for k in ("ts", "level", "tool", "event"))
        except Exception:
            bad += 1
            if bad <= 5: print(f"{f}:{n}: {line.rstrip()[:200]}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
lines=$(cat "${logs[@]}" | wc -l)
[ "$lines" -ge 20 ] || fail "only $lines log lines: logging broken?"
for s in "${secrets[@]}"; do
	[ ${#s} -ge 8 ] || fail "short secret in the test itself"
	tail16=${s: -16}
	if grep -rlF -e "$s" -e "$tail16" "${logs[@]}" >"$T/hit.txt"; then
		fail "secret ${s:0:4}… found in $(cat "$T/hit.txt" | xargs -n1 basename | tr '\n' ' ')"
	fi
done
ok "${#secrets[@]} secrets absent from $lines JSON log lines in ${#logs[@]} logs"
