#!/usr/bin/env bash
# lsp-rtc --max-pending-per-addr: WHEP offers answered but never followed
# by ICE hold a session each until they are reaped; one address may hold
# at most N of them, the next offer is 429 with a JSON body, refusals are
# logged once a second at most (with the count held back) and counted in
# /stats and the metrics.  Other addresses and loopback 127.0.0.1 (never
# capped) are still answered; the address is answered again once its
# sessions are DELETEd or reaped.  One process, and 2 workers (where the
# supervisor counts the pending sessions of every worker).  Offers come
# from 127.0.0.2 and 127.0.0.3 (curl --interface).
. "$(dirname "$0")/../lib.sh"
need ffmpeg; need curl; need python3
export LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR"
python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.3", 0))' 2>/dev/null ||
	skip "127.0.0.2-3 are not local addresses here"
printf '%s\r\n' 'v=0' 'o=- 1 2 IN IP4 127.0.0.1' 's=-' 't=0 0' 'a=group:BUNDLE 0' \
	'm=video 9 UDP/TLS/RTP/SAVPF 127' 'c=IN IP4 0.0.0.0' 'a=ice-ufrag:abcd' 'a=ice-pwd:0123456789012345678901' \
	'a=fingerprint:sha-256 aa:bb:cc' 'a=setup:actpass' 'a=mid:0' 'a=recvonly' 'a=rtcp-mux' 'a=rtpmap:127 H264/90000' \
	'a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' >"$T/offer.sdp"
bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=30 -t 120 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 30 -pix_fmt yuv420p \
	-f mpegts - | exec '$BIN/lsp-ring' --channel demo >/dev/null" 2>"$T/ring.log"
wait_file "$LSP_RING_DIR/lsp-ring-demo" 10 || { cat "$T/ring.log"; fail "no ring"; }

# offer FROM → "status location" (body in $T/body)
offer() {
	curl -s -m 10 --interface "$1" -o "$T/body" -D "$T/head" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/sdp' --data-binary @"$T/offer.sdp" "http://127.0.0.1:$H/whep/demo"
	printf ' %s\n' "$(sed -n 's/^Location: *\([^[:space:]]*\).*/\1/Ip' "$T/head")"
}

for w in 1 2; do
	H=$(free_port) U=$(free_port) M=$(free_port)
	bg "$BIN/lsp-rtc" --workers "$w" --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 \
		--max-pending-per-addr 3 --consent 30 --metrics "127.0.0.1:$M" 2>"$T/rtc$w.log"
	wait_port "$H" 10 || { cat "$T/rtc$w.log"; fail "lsp-rtc --workers $w did not listen"; }
	wait_grep '"event":"listening"' "$T/rtc$w.log" 5 || fail "no listening event"
	locs=()
	for i in 1 2 3; do
		read -r code loc < <(offer 127.0.0.2)
		[ "$code" = 201 ] || fail "workers $w: offer $i from 127.0.0.2 answered $code: $(cat "$T/body")"
		locs+=("$loc")
	done
	read -r code _ < <(offer 127.0.0.2)
	[ "$code" = 429 ] || fail "workers $w: 4th pending offer from 127.0.0.2 answered $code"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["error"] and d["pending"] == 3 and d["limit"] == 3, d' "$T/body" || fail "429 body: $(cat "$T/body")"
	read -r code _ < <(offer 127.0.0.3)
	[ "$code" = 201 ] || fail "workers $w: another address answered $code"
	for i in 1 2 3 4; do
		read -r code _ < <(offer 127.0.0.1)
		[ "$code" = 201 ] || fail "workers $w: loopback offer $i answered $code (loopback is never capped)"
	done
	ok "workers $w: 3 pending offers from 127.0.0.2, the 4th 429 $(cat "$T/body" | tr -d '\n'); 127.0.0.3 and 127.0.0.1 answered"

	# a burst of refusals: counted, logged once a second at most
	t0=$SECONDS
	for i in $(seq 30); do offer 127.0.0.2 >/dev/null; done
	dt=$((SECONDS - t0))
	lines=$(grep -c '"event":"offer refused"' "$T/rtc$w.log")
	st=$(curl -s "http://127.0.0.1:$H/stats")
	n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["dropped"]["offers_refused"])' "$st")
	[ "$n" = 31 ] || fail "workers $w: /stats offers_refused=$n, want 31"
	[ "$lines" -ge 1 ] && [ "$lines" -le $((dt + 2)) ] && [ "$lines" -lt 31 ] ||
		fail "workers $w: $lines refusal lines for 31 refusals in ${dt}s"
	grep '"event":"offer refused"' "$T/rtc$w.log" | head -n1 | grep -q '"peer":"127.0.0.2"' ||
		fail "refusal log: $(grep '"offer refused"' "$T/rtc$w.log" | head -n1)"
	ok "workers $w: 31 refusals counted in /stats, $lines log lines"

	# a session DELETEd frees its place; so does one reaped (consent)
	code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$H${locs[0]}")
	[ "$code" = 200 ] || fail "DELETE ${locs[0]}: $code"
	read -r code _ < <(offer 127.0.0.2)
	[ "$code" = 201 ] || fail "workers $w: after a DELETE 127.0.0.2 answered $code"
	read -r code _ < <(offer 127.0.0.2)
	[ "$code" = 429 ] || fail "workers $w: over the cap again answered $code"
	ok "workers $w: a DELETEd pending session frees its place"
	[ "$w" = 2 ] && m=$w
done

# the reaper frees places too (half-open sessions end after --consent)
H=$(free_port) U=$(free_port)
bg "$BIN/lsp-rtc" --workers 2 --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 \
	--max-pending-per-addr 2 --consent 2 2>"$T/rtc3.log"
wait_port "$H" 10 || fail "lsp-rtc did not listen"
for i in 1 2; do read -r code _ < <(offer 127.0.0.2); [ "$code" = 201 ] || fail "offer $i: $code"; done
read -r code _ < <(offer 127.0.0.2)
[ "$code" = 429 ] || fail "over the cap: $code"
wait_grep '"event":"viewer gone".*"consent timeout"' "$T/rtc3.log" 15 || fail "pending sessions never reaped"
for _ in $(seq 50); do [ "$(grep -c '"reason":"consent timeout"' "$T/rtc3.log")" -ge 2 ] && break; sleep 0.2; done
read -r code _ < <(offer 127.0.0.2)
[ "$code" = 201 ] || fail "after the reaper 127.0.0.2 answered $code"
ok "reaped half-open sessions free their places"
curl -s "http://127.0.0.1:$M/metrics" | grep -q '^lsp_rtc_offers_refused_total{reason="pending"} 32' ||
	fail "metric: $(curl -s "http://127.0.0.1:$M/metrics" | grep refused)"
for p in "${_pids[@]:1}"; do kill -0 "$p" 2>/dev/null || fail "an lsp-rtc died"; done
for f in "$T"/rtc*.log; do grep -q '"level":"fatal"\|Sanitizer' "$f" && fail "fatal or sanitizer report in $f"; done
exit 0
