#!/usr/bin/env bash
# The admission webhook for WHIP, and a channel's own webhook URL.
# lsp-rtc asks the receiver (tests/tools/hookrecv.py, every HMAC checked)
# before it answers a WHIP offer, from threads, never from its loop:
#  1. a 2xx admits: 201 with an SDP answer, the POST is lsp-ingest's
#     "publish" body with protocol "whip";
#  2. a 403 refuses: the offer is answered 403 with the receiver's reason
#     in a JSON body, "publish refused" is logged, no session is made;
#  3. a receiver that sleeps 8 s: the offer is answered 201 after about
#     the 2 s timeout (fail open, "webhook failed" logged), and meanwhile
#     the loop goes on: /stats and a WHEP offer of another channel are
#     answered at once and a wire-level WHEP viewer (bench/whep-load) of
#     that channel keeps receiving, nothing lost; past
#     LSP_WEBHOOK_MAX_PENDING held offers, one more is 503 + Retry-After;
#  4. fail closed: a 500 or no answer refuses with 503;
#  5. with --workers 2, offers routed to a worker are asked the same way.
# A channel's own URL (lsp-ctl channel set NAME webhook_url=…): a second
# receiver gets that channel's admissions (WHIP and RTMP) and its
# live/health/ended from lsp-hook; the global one gets no event of it and
# all of the others'; webhook_url= gives the channel back to the global
# receiver; LSP_WEBHOOK_PER_CHANNEL=0 ignores the channel's own URL; and
# with no LSP_WEBHOOK_URL at all, a channel's own URL is still asked.
# lsp-api's PATCH webhook_url: validated (400), owner only (403), shown to
# the owner alone, never logged.  The secret and signatures appear in no log.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ingest/common.sh"
. "$(dirname "$0")/webhook/common.sh"
need ffmpeg; need curl; need python3
start_nats
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"

RECV=$ROOT/tests/tools/hookrecv.py
SECRET=whsec-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_recv g     # the platform's receiver
start_recv own   # a channel's own
GURL=http://127.0.0.1:$(cat "$T/g.port")/hook
OURL=http://127.0.0.1:$(cat "$T/own.port")/own
export LSP_WEBHOOK_SECRET=$SECRET
events() { # receiver channel → its events in arrival order, one line (protocol after publish)
	python3 - "$T/$1.jsonl" "$2" <<'PY'
import json, sys
out = []
for l in open(sys.argv[1]):
    b = json.loads(json.loads(l)["body"])
    if b["channel"] == sys.argv[2]:
        out.append(b["event"] + (":" + b["protocol"] if b["event"] == "publish" else ""))
print(" ".join(out))
PY
}
wait_event() { # receiver channel event [seconds]
	local i n=$(( ${4:-20} * 10 ))
	for ((i = 0; i < n; i++)); do [[ " $(events "$1" "$2") " == *" $3 "* ]] && return 0; sleep 0.1; done
	return 1
}

san=(); [ "${SANITIZE:-}" = 1 ] && san=(-fsanitize=address,undefined)
cc -std=c17 -D_GNU_SOURCE -O2 "${san[@]}" -I"$ROOT/lib" -o "$T/whep-load" "$ROOT/bench/whep-load.c" \
	"$ROOT/${BUILD:-build/rel}/liblsp.a" $(pkg-config --libs openssl) 2>"$T/cc.log" ||
	{ cat "$T/cc.log"; fail "cannot build bench/whep-load.c"; }

# a WHIP offer (H.264 + Opus, send only) and a WHEP one
printf '%s\r\n' 'v=0' 'o=- 1 2 IN IP4 127.0.0.1' 's=-' 't=0 0' 'a=group:BUNDLE 0 1' \
	'm=video 9 UDP/TLS/RTP/SAVPF 102' 'c=IN IP4 0.0.0.0' 'a=ice-ufrag:abcd' 'a=ice-pwd:0123456789012345678901' \
	'a=fingerprint:sha-256 aa:bb:cc' 'a=setup:actpass' 'a=mid:0' 'a=sendonly' 'a=rtcp-mux' 'a=rtpmap:102 H264/90000' \
	'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' \
	'm=audio 9 UDP/TLS/RTP/SAVPF 111' 'c=IN IP4 0.0.0.0' 'a=mid:1' 'a=sendonly' 'a=rtcp-mux' \
	'a=rtpmap:111 opus/48000/2' >"$T/whip.sdp"
sed 's/a=sendonly/a=recvonly/' "$T/whip.sdp" >"$T/whep.sdp"
whip() { # port channel key [name] → "status seconds" (head in $T/<name>.head, body in $T/<name>.body)
	local n=${4:-whip}
	curl -s -m 30 -o "$T/$n.body" -D "$T/$n.head" -w '%{http_code} %{time_total}' -X POST \
		-H 'Content-Type: application/sdp' -H "Authorization: Bearer $3" --data-binary @"$T/whip.sdp" \
		"http://127.0.0.1:$1/whip/$2"
}

# a channel with a ring for WHEP viewers (not a WHIP one)
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=30 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 300 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | exec '$BIN/lsp-ring' --channel demo >/dev/null" 2>"$T/ring.log"
wait_file "$LSP_RING_DIR/lsp-ring-demo" 15 || { cat "$T/ring.log"; fail "no ring"; }

KA=$(new_channel wa); KB=$(new_channel wb); KC=$(new_channel wc); KD=$(new_channel wd); KE=$(new_channel we)
KO=$(new_channel own); KR=$(new_channel rest)
H=$(free_port); U=$(free_port); M=$(free_port)
LSP_WEBHOOK_URL=$GURL LSP_WEBHOOK_MAX_PENDING=1 bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$H" \
	--udp "127.0.0.1:$U" --candidate 127.0.0.1 --metrics "127.0.0.1:$M" 2>"$T/rtc.log"
wait_port "$H" 10 || { cat "$T/rtc.log"; fail "lsp-rtc did not listen"; }
grep -q '"admission webhook on".*"global":true.*"per_channel":true.*"timeout_ms":2000.*"fail":"open"' "$T/rtc.log" ||
	fail "no 'admission webhook on': $(head -n 5 "$T/rtc.log")"

# 1. admitted
r=$(whip "$H" wa "$KA" a); set -- $r
[ "$1" = 201 ] && grep -q '^v=0' "$T/a.body" || fail "wa: $r $(cat "$T/a.body")"
[ "$(events g wa)" = "publish:whip" ] || fail "wa's events: $(events g wa)"
python3 - "$T/g.jsonl" <<'PY' || fail "the publish body"
import json, sys
b = json.loads(json.loads(open(sys.argv[1]).readline())["body"])
assert set(b) == {"event", "channel", "protocol", "remote_addr", "time"}, b
assert b["protocol"] == "whip" and b["remote_addr"].startswith("127.0.0.1:"), b
PY
ok "2xx admitted a WHIP offer (201, answer in $2 s)"

# 2. refused with the receiver's reason
echo "publish 403" >"$T/g.mode"
r=$(whip "$H" wb "$KB" b); set -- $r
[ "$1" = 403 ] || fail "wb: $r $(cat "$T/b.body")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["reason"]=="403 mode 403" and d["error"], d' "$T/b.body" ||
	fail "403 body: $(cat "$T/b.body")"
wait_grep '"publish refused","channel":"wb","reason":"webhook refused: 403 403 mode 403"' "$T/rtc.log" 5 ||
	{ grep wb "$T/rtc.log"; fail "no refusal logged"; }
st=$(curl -s -m 5 "http://127.0.0.1:$H/stats")
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert not [s for s in d["sessions"] if s["channel"]=="wb"], d' "$st" ||
	fail "a session for the refused offer: $st"
[ -e "$LSP_RING_DIR/lsp-ring-wb" ] && fail "a refused WHIP offer opened its ring"
ok "403 refused a WHIP offer: $(cat "$T/b.body")"

# 3. a receiver slower than the timeout; the loop goes on meanwhile
"$T/whep-load" "http://127.0.0.1:$H/whep/demo" 1 9 --each >"$T/v.out" 2>"$T/v.err" &
vl=$!
for _ in $(seq 150); do grep -q '^media' "$T/v.err" && break; sleep 0.1; done
grep -q '^media' "$T/v.err" || { cat "$T/v.err"; fail "the WHEP viewer did not connect"; }
echo "publish sleep8" >"$T/g.mode"
(whip "$H" wc "$KC" c >"$T/c.res") & pc=$!
wait_event g wc publish:whip 10 || fail "wc's admission request never came"
r=$(whip "$H" wd "$KD" d); set -- $r
[ "$1" = 503 ] && grep -qi '^Retry-After: 1' "$T/d.head" || fail "second offer held past the bound: $r $(cat "$T/d.head")"
wait_grep '"webhook busy","channel":"wd"' "$T/rtc.log" 5 || fail "no 'webhook busy'"
ts=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$H/stats")
tp=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' -X POST -H 'Content-Type: application/sdp' \
	--data-binary @"$T/whep.sdp" "http://127.0.0.1:$H/whep/demo")
kill -0 $pc 2>/dev/null || fail "the WHIP offer was answered before the webhook's timeout: $(cat "$T/c.res")"
wait $pc
read -r code secs <"$T/c.res"
[ "$code" = 201 ] || fail "wc (fail open): $(cat "$T/c.res") $(cat "$T/c.body")"
awk -v s="$secs" 'BEGIN { exit !(s >= 1.8 && s < 5) }' || fail "wc answered after $secs s, want about 2"
awk -v a="${ts#* }" -v b="${tp#* }" 'BEGIN { exit !(a < 1.0 && b < 1.0) }' && [ "${ts% *}" = 200 ] && [ "${tp% *}" = 201 ] ||
	fail "the loop waited: /stats $ts, WHEP offer $tp"
grep -q '"webhook failed","channel":"wc".*admitted (fail open)' "$T/rtc.log" || fail "no fail-open warning"
wait $vl
python3 -c '
import json, sys
v = json.loads(open(sys.argv[1]).read().splitlines()[1])
assert v["packets"] > 150 and v["lost"] == 0 and 0 <= v["idle_ms"] < 1500, v
print(v["packets"])' "$T/v.out" >"$T/v.ok" || fail "the WHEP viewer during the wait: $(cat "$T/v.out")"
: >"$T/g.mode"
ok "sleeping receiver: WHIP answered 201 after $secs s (fail open); meanwhile /stats in ${ts#* } s, a WHEP offer in ${tp#* } s, a viewer got $(cat "$T/v.ok") packets, none lost; one offer past the bound: 503 + Retry-After (load $(cut -d' ' -f1 /proc/loadavg))"
m=$(curl -fsS "http://127.0.0.1:$M/metrics") || fail "no metrics"
grep -q '^lsp_rtc_publish_refused_total{reason="webhook"} 1$' <<<"$m" &&
	grep -q '^lsp_rtc_publish_refused_total{reason="webhook_busy"} 1$' <<<"$m" ||
	fail "metrics: $(grep refused <<<"$m")"

# 4. fail closed: a 500, then nobody listening
H2=$(free_port); U2=$(free_port)
echo "publish 500" >"$T/g.mode"
LSP_WEBHOOK_URL=$GURL LSP_WEBHOOK_FAIL=closed LSP_WEBHOOK_TIMEOUT=1 bg "$BIN/lsp-rtc" --workers 1 \
	--http "127.0.0.1:$H2" --udp "127.0.0.1:$U2" --candidate 127.0.0.1 2>"$T/rtc-closed.log"
wait_port "$H2" 10 || fail "fail-closed lsp-rtc did not listen"
r=$(whip "$H2" we "$KE" e); set -- $r
[ "$1" = 503 ] || fail "fail closed, 500: $r $(cat "$T/e.body")"
grep -q '"webhook failed","channel":"we".*HTTP 500; refused (fail closed)' "$T/rtc-closed.log" &&
	grep -q '"publish refused","channel":"we","reason":"webhook unavailable (fail closed)"' "$T/rtc-closed.log" ||
	fail "fail closed: $(grep we "$T/rtc-closed.log")"
: >"$T/g.mode"
ok "fail closed: a 500 refused the offer (503)"

# 5. two workers: the worker the offer lands on asks
H3=$(free_port); U3=$(free_port)
echo "publish 403" >"$T/g.mode"
LSP_WEBHOOK_URL=$GURL bg "$BIN/lsp-rtc" --workers 2 --http "127.0.0.1:$H3" --udp "127.0.0.1:$U3" \
	--candidate 127.0.0.1 2>"$T/rtc-w2.log"
wait_port "$H3" 10 || fail "lsp-rtc --workers 2 did not listen"
r=$(whip "$H3" we "$KE" w2); set -- $r
[ "$1" = 403 ] || fail "--workers 2, 403: $r"
: >"$T/g.mode"
r=$(whip "$H3" we "$KE" w2); set -- $r
[ "$1" = 201 ] || fail "--workers 2, 200: $r"
ok "--workers 2: refused (403) and admitted (201) through a worker"

# A channel's own URL: lsp-ingest, lsp-hook and lsp-rtc (LSP_WEBHOOK_URL global)
"$BIN/lsp-ctl" channel set own webhook_url=ftp://x 2>"$T/ctl-bad.err" && fail "lsp-ctl took an ftp URL"
"$BIN/lsp-ctl" channel set own "webhook_url=$OURL" || fail "lsp-ctl channel set webhook_url"
"$BIN/lsp-ctl" channel get own | grep -qx "webhook_url=$OURL" || fail "channel get: $("$BIN/lsp-ctl" channel get own)"
P=$(free_port)
LSP_WEBHOOK_URL=$GURL LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-ingest" -l "127.0.0.1:$P" -t 3 -o "$T/{channel}.ts" \
	2>"$T/ingest.log"
wait_port "$P" 10 || fail "ingest did not listen"
LSP_WEBHOOK_URL=$GURL LSP_NATS_URL=$NATS_URL bg "$BIN/lsp-hook" --health-interval 0 --retry-max 2 2>"$T/hook.log"
wait_grep '"subscribed"' "$T/hook.log" 10 || { cat "$T/hook.log"; fail "lsp-hook did not subscribe"; }
publish "rtmp://127.0.0.1:$P/live/$KO" 3 2>"$T/ff-own.err" || { cat "$T/ff-own.err"; fail "publish own"; }
publish "rtmp://127.0.0.1:$P/live/$KR" 3 2>"$T/ff-rest.err" || { cat "$T/ff-rest.err"; fail "publish rest"; }
wait_event own own ended 30 || fail "own's events at its receiver: $(events own own)"
wait_event g rest ended 30 || fail "rest's events at the global receiver: $(events g rest)"
r=$(whip "$H" own "$KO" o); set -- $r
[ "$1" = 201 ] || fail "WHIP own: $r"
ev=$(events own own)
[[ "$ev" =~ ^publish:rtmp\ live\ (health\ )*ended\ publish:whip$ ]] || fail "own's receiver: $ev"
[ -z "$(events g own)" ] || fail "the global receiver got own's events: $(events g own)"
[ -z "$(events own rest)" ] || fail "own's receiver got rest's events: $(events own rest)"
[[ "$(events g rest)" =~ ^publish:rtmp\ live\ (health\ )*ended$ ]] || fail "rest: $(events g rest)"
python3 - "$T/own.jsonl" <<'PY' || fail "own's receiver's paths"
import json, sys
assert all(json.loads(l)["path"] == "/own" for l in open(sys.argv[1]))
PY
ok "a channel's own URL: own's admissions (RTMP, WHIP) and live/health/ended went to it ($ev), rest's to the global one"

# cleared: the global receiver again (lsp-hook forgets the URL within 5 s)
"$BIN/lsp-ctl" channel set own webhook_url= || fail "clearing webhook_url"
"$BIN/lsp-ctl" channel get own | grep -qx "webhook_url=" || fail "not cleared"
curl -s -o /dev/null -X DELETE "http://127.0.0.1:$H$(sed -n 's/^Location: *\([^[:space:]]*\).*/\1/Ip' "$T/o.head")"
sleep 5.5
publish "rtmp://127.0.0.1:$P/live/$KO" 3 2>"$T/ff-own2.err" || fail "publish own again"
wait_event g own ended 30 || fail "own's events after clearing: $(events g own)"
[[ "$(events g own)" =~ ^publish:rtmp\ live\ (health\ )*ended$ ]] || fail "own at the global receiver: $(events g own)"
ok "webhook_url= gave own back to the global receiver"

# LSP_WEBHOOK_PER_CHANNEL=0 ignores a channel's own; no LSP_WEBHOOK_URL: only channels' own are asked
"$BIN/lsp-ctl" channel set own "webhook_url=$OURL" || fail "set again"
H4=$(free_port); U4=$(free_port); H5=$(free_port); U5=$(free_port)
LSP_WEBHOOK_URL=$GURL LSP_WEBHOOK_PER_CHANNEL=0 bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$H4" \
	--udp "127.0.0.1:$U4" --candidate 127.0.0.1 2>"$T/rtc-off.log"
bg "$BIN/lsp-rtc" --workers 1 --http "127.0.0.1:$H5" --udp "127.0.0.1:$U5" --candidate 127.0.0.1 2>"$T/rtc-nog.log"
wait_port "$H4" 10 && wait_port "$H5" 10 || fail "lsp-rtc (per-channel off / no global) did not listen"
n_own=$(wc -l <"$T/own.jsonl"); n_g=$(wc -l <"$T/g.jsonl")
echo "publish 403" >"$T/own.mode"
r=$(whip "$H4" own "$KO" p); set -- $r
[ "$1" = 201 ] && [ "$(wc -l <"$T/own.jsonl")" = "$n_own" ] && [ "$(wc -l <"$T/g.jsonl")" = $((n_g + 1)) ] ||
	fail "LSP_WEBHOOK_PER_CHANNEL=0: $r; own got $(( $(wc -l <"$T/own.jsonl") - n_own ))"
r=$(whip "$H5" own "$KO" q); set -- $r
[ "$1" = 403 ] && [ "$(wc -l <"$T/own.jsonl")" = $((n_own + 1)) ] || fail "no global URL, own's URL: $r"
r=$(whip "$H5" rest "$KR" s); set -- $r
[ "$1" = 201 ] && [ "$(wc -l <"$T/g.jsonl")" = $((n_g + 1)) ] || fail "no global URL, rest asked somebody: $r"
: >"$T/own.mode"
ok "LSP_WEBHOOK_PER_CHANNEL=0 asked the global URL only; with no global URL a channel's own was still asked"

# lsp-api: PATCH webhook_url (owner or admin; validated), shown to the owner only, never logged
AP=$(free_port)
LSP_SECRET=whip-api-$$ bg "$BIN/lsp-api" -l "127.0.0.1:$AP" --scrypt-log2n 10 2>"$T/api.log"
wait_port "$AP" 10 || { cat "$T/api.log"; fail "lsp-api did not listen"; }
api() { # method path token [json] → body on stdout, status in $T/code
	curl -s -m 10 -o "$T/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$AP/api/v1$2" ${3:+-H "Authorization: Bearer $3"} \
		${4:+-H 'Content-Type: application/json' -d "$4"} >"$T/code"
	cat "$T/body"
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get(sys.argv[1], "(absent)"))' "$1"; }
signup() { api POST /signup "" "{\"name\":\"$1\",\"password\":\"whip-pw-12\",\"age\":30$2}" | jget token; }
CAROL=$(signup carol ',"creator":true') && DAVE=$(signup dave "") || fail "sign-ups: $(cat "$T/body")"
api POST /channels "$CAROL" '{"name":"tenant"}' >/dev/null
[ "$(cat "$T/code")" = 201 ] || fail "create tenant: $(cat "$T/code") $(cat "$T/body")"
for bad in '"ftp://x/y"' '"http://"' '"https://a b/"' '42' "\"http://$(head -c 600 /dev/zero | tr '\0' a)/\""; do
	api PATCH /channels/tenant "$CAROL" "{\"webhook_url\":$bad}" >/dev/null
	[ "$(cat "$T/code")" = 400 ] && grep -q '"bad_webhook_url"' "$T/body" || fail "webhook_url=$bad: $(cat "$T/code") $(cat "$T/body")"
done
api PATCH /channels/tenant "$DAVE" "{\"webhook_url\":\"$OURL\"}" >/dev/null
[ "$(cat "$T/code")" = 403 ] || fail "a stranger set webhook_url: $(cat "$T/code")"
[ "$(api PATCH /channels/tenant "$CAROL" "{\"webhook_url\":\"$OURL\"}" | jget webhook_url)" = "$OURL" ] ||
	fail "PATCH webhook_url: $(cat "$T/code") $(cat "$T/body")"
[ "$(api GET /channels/tenant "$CAROL" | jget webhook_url)" = "$OURL" ] || fail "the owner's GET: $(cat "$T/body")"
[ "$(api GET /channels/tenant "$DAVE" | jget webhook_url)" = "(absent)" ] || fail "a stranger sees the URL: $(cat "$T/body")"
[ "$(api GET /channels/tenant "" | jget webhook_url)" = "(absent)" ] || fail "anonymous sees the URL: $(cat "$T/body")"
"$BIN/lsp-ctl" channel get tenant | grep -qx "webhook_url=$OURL" || fail "lsp-ctl does not see the API's URL"
[ "$(api PATCH /channels/tenant "$CAROL" '{"webhook_url":""}' | jget webhook_url)" = "" ] || fail "clearing: $(cat "$T/body")"
wait_grep '"channel webhook set","channel":"tenant","set":false' "$T/api.log" 5 || fail "no 'channel webhook set' event"
grep -q "$OURL" "$T/api.log" && fail "lsp-api logged the URL"
ok "PATCH webhook_url: 5 bad values 400, a stranger 403, the owner sets and clears it, only the owner sees it"

n=$(python3 "$RECV" --verify "$SECRET" "$T/g.jsonl") && m2=$(python3 "$RECV" --verify "$SECRET" "$T/own.jsonl") ||
	fail "a signature did not verify"
if grep -l -e "$SECRET" -e 'v1=' "$T"/*.log; then fail "secret or signature logged"; fi
ok "$n + $m2 signatures verified; no secret in the logs"
