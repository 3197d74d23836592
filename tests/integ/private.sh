#!/usr/bin/env bash
# Private channels end to end: real lsp-api, lsp-edge (front door) and
# lsp-rtc, ffmpeg publishing through lsp-ring → lsp-package.  A public
# channel plays over LL-HLS and WHEP and is listed; made unlisted it still
# plays by URL but leaves every directory (lsp-edge's, lsp-api's); made
# private, the playlists, parts, segments, init sections and WHEP offers are
# refused 403 with a JSON body without a token, and with a token lsp-api gave
# the owner they play (ffprobe through the edge's /hls/<ch>/~<token>/ path,
# hlscheck on the playlists, WHEP offers with a Bearer token and ?token=);
# an expired, a tampered and another channel's token are refused; a viewer
# who is not staff gets no token.  An age-gated channel gives tokens to
# signed-in adults only (a 15-year-old is refused, anonymous is 401).  The
# watch page in Chromium plays the private channel for its owner (LL-HLS and
# WebRTC) and tells a viewer and a visitor why it does not.
# lsp-ctl channel set writes the same settings and markers.  No log line
# holds a token.
. "$(dirname "$0")/../lib.sh"
need curl; need python3; need ffmpeg; need ffprobe; need node
need_browser
export LSP_SECRET=private-$$ LSP_RING_DIR=$T/shm
mkdir -p "$LSP_RING_DIR" "$LSP_DATA_DIR/hls"
PS=$T/play.secret
(umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PS")
chmod 644 "$PS"
"$BIN/lsp-edge" -l 127.0.0.1:0 --playback-secret-file "$PS" 2>"$T/bad.log"; rc=$?
[ $rc -eq 100 ] || fail "a world-readable playback secret was accepted (rc=$rc)"
grep -q "chmod 600" "$T/bad.log" || fail "no reason given for the refused secret file"
chmod 600 "$PS"

AP=$(free_port); H=$(free_port); U=$(free_port); E=$(free_port)
bg "$BIN/lsp-api" -l "127.0.0.1:$AP" --scrypt-log2n 10 --playback-secret-file "$PS" 2>"$T/api.log"
bg "$BIN/lsp-rtc" --http "127.0.0.1:$H" --udp "127.0.0.1:$U" --candidate 127.0.0.1 --workers 1 \
	--playback-secret-file "$PS" 2>"$T/rtc.log"
bg "$BIN/lsp-edge" -l "127.0.0.1:$E" --hls-root "$LSP_DATA_DIR/hls" --web-root "$ROOT/web" \
	--upstream-api "http://127.0.0.1:$AP" --upstream-rtc "http://127.0.0.1:$H" --upstream-chat off \
	--playback-secret-file "$PS" 2>"$T/edge.log"
for p in $AP $H $E; do wait_port "$p" 10 || { cat "$T"/*.log; fail "port $p did not listen"; }; done
X=http://127.0.0.1:$E

# accounts: carol creates, dave is an adult viewer, kim declared 15
api() { # method path token [json] → body on stdout, status in $T/code
	curl -s -m 10 -o "$T/body" -w '%{http_code}' -X "$1" "$X/api/v1$2" ${3:+-H "Authorization: Bearer $3"} \
		${4:+-H 'Content-Type: application/json' -d "$4"} >"$T/code"
	cat "$T/body"
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]])' "$1"; }
code() { cat "$T/code"; }
signup() { api POST /signup "" "{\"name\":\"$1\",\"password\":\"private-pw-1\",\"age\":$2$3}" | jget token; }
CAROL=$(signup carol 30 ',"creator":true') && DAVE=$(signup dave 30 "") && KIM=$(signup kim 15 "") ||
	fail "sign-ups"
api POST /channels "$CAROL" '{"name":"demo","title":"t"}' >/dev/null
[ "$(code)" = 201 ] || fail "create demo: $(code) $(cat "$T/body")"
api GET /channels/demo "" | grep -q '"visibility": *"public"' || fail "a new channel is not public: $(cat "$T/body")"

bg bash -c "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x180:rate=25 \
	-f lavfi -i sine=frequency=440:sample_rate=48000 -t 120 \
	-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k \
	-f mpegts - | '$BIN/lsp-ring' --channel demo | exec '$BIN/lsp-package' --out '$LSP_DATA_DIR/hls/demo' \
	--part 0.2 --segment 1" 2>"$T/pipe.log"
wait_file "$LSP_RING_DIR/lsp-ring-demo" 20 || { cat "$T/pipe.log"; fail "no ring"; }
wait_file "$LSP_DATA_DIR/hls/demo/master.m3u8" 30 || { cat "$T/pipe.log"; fail "no master playlist"; }
RUNG=$(grep -v '^#' "$LSP_DATA_DIR/hls/demo/master.m3u8" | head -n1 | cut -d/ -f1)
[ -n "$RUNG" ] || fail "no rung in the master playlist"
wait_grep 'EXT-X-PART:' "$LSP_DATA_DIR/hls/demo/$RUNG/index.m3u8" 30 || fail "no parts"
for _ in $(seq 100); do ls "$LSP_DATA_DIR/hls/demo/$RUNG"/*.m4s >/dev/null 2>&1 && grep -q '^#EXTINF' \
	"$LSP_DATA_DIR/hls/demo/$RUNG/index.m3u8" && break; sleep 0.2; done
pl=$LSP_DATA_DIR/hls/demo/$RUNG/index.m3u8
PART=$(sed -n 's/.*EXT-X-PART:.*URI="\([^"]*\)".*/\1/p' "$pl" | tail -n1)
SEG=$(grep -v '^#' "$pl" | grep . | tail -n1)
INIT=$(sed -n 's/.*EXT-X-MAP:URI="\([^"]*\)".*/\1/p' "$pl" | head -n1)
[ -n "$PART" ] && [ -n "$SEG" ] && [ -n "$INIT" ] || fail "playlist lacks a part, segment or init: $(cat "$pl")"
OFFER=$ROOT/tests/fuzz/corpus/sdp/chromium-whep.sdp
st() { curl -s -m 10 -o "$T/got" -w '%{http_code}' "$@"; }
whep() { # url [curl args] → status
	curl -s -m 15 -o "$T/whep.out" -D "$T/whep.h" -w '%{http_code}' -X POST -H 'Content-Type: application/sdp' \
		--data-binary "@$OFFER" "$@"
}
listed() { # in the edge's directory and lsp-api's anonymous list?
	curl -s -m 5 "$X/api/channels" | grep -q '"name":"demo"' && curl -s -m 5 "$X/api/v1/channels" | grep -q '"demo"'
}
probe() { # url → the first stream's codec
	timeout 60 ffprobe -v error -rw_timeout 10000000 -select_streams v:0 -show_entries stream=codec_name \
		-of csv=p=0 "$1" 2>>"$T/ffprobe.log" | head -n1
}

# ---- public: plays and is listed ------------------------------------------------
[ "$(st "$X/hls/demo/master.m3u8")" = 200 ] || fail "public master playlist: $(cat "$T/got")"
[ "$(probe "$X/hls/demo/master.m3u8")" = h264 ] || { tail "$T/ffprobe.log"; fail "ffprobe: public channel"; }
[ "$(whep "http://127.0.0.1:$H/whep/demo")" = 201 ] || fail "public WHEP offer: $(cat "$T/whep.out")"
listed || fail "a public channel is not in the directories"
ok "public: LL-HLS (ffprobe) and WHEP play; listed by lsp-edge and lsp-api"

# ---- unlisted: plays by URL, in no directory -------------------------------------
api PATCH /channels/demo "$CAROL" '{"visibility":"unlisted"}' | grep -q '"visibility": *"unlisted"' ||
	fail "PATCH visibility=unlisted: $(code) $(cat "$T/body")"
[ -e "$LSP_DATA_DIR/hls/demo/.unlisted" ] && ! [ -e "$LSP_DATA_DIR/hls/demo/.signed" ] || fail "unlisted markers"
listed && fail "an unlisted channel is still in a directory"
[ "$(st "$X/api/channels/demo")" = 200 ] || fail "unlisted: lookup by name refused"
api GET /channels "$CAROL" | grep -q '"demo"' || fail "unlisted: missing from its owner's list"
[ "$(st "$X/hls/demo/master.m3u8")" = 200 ] || fail "unlisted master playlist refused"
[ "$(st "$X/hls/demo/$RUNG/$PART")" = 200 ] || fail "unlisted part refused"
[ "$(whep "http://127.0.0.1:$H/whep/demo")" = 201 ] || fail "unlisted WHEP offer refused"
api PATCH /channels/demo "$CAROL" '{"visibility":"secret"}' >/dev/null
[ "$(code)" = 400 ] || fail "visibility=secret answered $(code)"
api PATCH /channels/demo "$DAVE" '{"visibility":"public"}' >/dev/null
[ "$(code)" = 403 ] || fail "a stranger's PATCH answered $(code)"
ok "unlisted: plays by URL (HLS, WHEP), absent from lsp-edge's and lsp-api's directories; bad value 400, stranger 403"

# ---- private: refused without a token ---------------------------------------------
api PATCH /channels/demo "$CAROL" '{"visibility":"private"}' | grep -q '"visibility": *"private"' ||
	fail "PATCH visibility=private: $(code) $(cat "$T/body")"
[ -e "$LSP_DATA_DIR/hls/demo/.signed" ] || fail "no .signed marker"
listed && fail "a private channel is in a directory"
for u in master.m3u8 "$RUNG/index.m3u8" "$RUNG/index.m3u8?_HLS_msn=1" "$RUNG/$PART" "$RUNG/$SEG" "$RUNG/$INIT"; do
	c=$(st "$X/hls/demo/$u")
	[ "$c" = 403 ] || fail "private /hls/demo/$u without a token answered $c"
	grep -q '"reason":"no playback token"' "$T/got" || fail "403 body for $u: $(cat "$T/got")"
done
c=$(whep "http://127.0.0.1:$H/whep/demo")
[ "$c" = 403 ] && grep -q '"error":"forbidden"' "$T/whep.out" || fail "private WHEP offer answered $c $(cat "$T/whep.out")"
c=$(whep "$X/whep/demo")
[ "$c" = 403 ] || fail "private WHEP offer through the front door answered $c"
ok "private: master, media playlist (blocking too), part, segment, init and WHEP refused 403 (JSON) without a token"

# ---- tokens: who gets one -----------------------------------------------------------
api POST /channels/demo/playback-token "$DAVE" >/dev/null
[ "$(code)" = 403 ] && grep -q '"private"' "$T/body" || fail "a non-staff viewer got a token: $(code) $(cat "$T/body")"
api POST /channels/demo/playback-token "" >/dev/null
[ "$(code)" = 401 ] || fail "anonymous token request answered $(code)"
TOK=$(api POST /channels/demo/playback-token "$CAROL" | jget token) || fail "owner's token: $(cat "$T/body")"
HLSURL=$(jget hls <"$T/body")
[ "$HLSURL" = "/hls/demo/~$TOK/master.m3u8" ] || fail "token answer's hls path: $HLSURL"
case $TOK in p1.*.carol.*) ;; *) fail "token shape: $TOK" ;; esac
ok "tokens: the owner gets one (p1.<exp>.carol.<mac>); a viewer 403, anonymous 401"

# ---- private: plays with a token ------------------------------------------------------
P=$X/hls/demo/~$TOK
[ "$(st "$P/master.m3u8")" = 200 ] || fail "master with a token: $(cat "$T/got")"
[ "$(st "$P/$RUNG/index.m3u8")" = 200 ] || fail "media playlist with a token"
cp "$T/got" "$T/media.m3u8"
PART=$(sed -n 's/.*EXT-X-PART:.*URI="\([^"]*\)".*/\1/p' "$T/media.m3u8" | tail -n1)
SEG=$(grep -v '^#' "$T/media.m3u8" | grep . | tail -n1)
[ "$(st "$P/$RUNG/$PART")" = 200 ] || fail "part $PART with a token: $(head -c 200 "$T/got")"
[ "$(st "$P/$RUNG/$SEG")" = 200 ] || fail "segment $SEG with a token: $(head -c 200 "$T/got")"
[ "$(st "$X/hls/demo/$RUNG/$INIT?token=$TOK")" = 200 ] || fail "init with ?token="
"$ROOT/tests/tools/hlscheck" --as live "$T/media.m3u8" >"$T/hlscheck.out" 2>&1 ||
	{ cat "$T/hlscheck.out"; fail "hlscheck on the media playlist served with a token"; }
[ "$(probe "$P/master.m3u8")" = h264 ] || { tail "$T/ffprobe.log"; fail "ffprobe through the token path"; }
c=$(whep "http://127.0.0.1:$H/whep/demo" -H "Authorization: Bearer $TOK")
[ "$c" = 201 ] && grep -q '^a=fingerprint' "$T/whep.out" || fail "WHEP with a Bearer token answered $c"
c=$(whep "$X/whep/demo?token=$TOK")
[ "$c" = 201 ] || fail "WHEP with ?token= through the front door answered $c $(cat "$T/whep.out")"
ok "private + token: playlists, part, segment, init (path and ?token=), hlscheck, ffprobe; WHEP (Bearer, ?token=) accepted"

# ---- a private channel's recordings: the same token (lsp-edge /vod/)
mkdir -p "$LSP_DATA_DIR/vod/demo/r1"
printf '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-ENDLIST\n' \
	>"$LSP_DATA_DIR/vod/demo/r1/index.m3u8"
[ "$(st "$X/vod/demo/r1/index.m3u8")" = 403 ] && grep -q '"error":"forbidden"' "$T/got" ||
	fail "a private channel's recording without a token: $(cat "$T/got")"
[ "$(st "$X/api/channels/demo/vods")" = 403 ] || fail "a private channel's recording list without a token"
[ "$(st "$X/vod/demo/~$TOK/r1/index.m3u8")" = 200 ] && grep -q ENDLIST "$T/got" || fail "recording with a token"
[ "$(st "$X/vod/demo/r1/index.m3u8?token=$TOK")" = 200 ] || fail "recording with ?token="
[ "$(st "$X/api/channels/demo/vods?token=$TOK")" = 200 ] || fail "recording list with ?token="
ok "private recordings: /vod/ and the list refused 403 without a token, served with it"

# ---- the watch page in Chromium (web/watch.js asks lsp-api for the token) -----------
cd "$B" || fail "no tests/browser"
out=$(timeout 90 node private.mjs "$X/watch/demo?hls=1" --bearer "$CAROL" --timeout 60 2>"$T/node.err"); rc=$?
[ $rc -eq 0 ] || { cat "$T/node.err"; fail "the owner's watch page did not play the private channel (rc=$rc): $out"; }
out=$(timeout 90 node private.mjs "$X/watch/demo" --bearer "$CAROL" --timeout 60 2>"$T/node.err"); rc=$?
[ $rc -eq 0 ] || { cat "$T/node.err"; fail "the owner's watch page did not play over WebRTC (rc=$rc): $out"; }
echo "$out" | grep -q '"transport":"webrtc"' || fail "WebRTC was not the transport: $out"
out=$(timeout 60 node private.mjs "$X/watch/demo" --bearer "$DAVE" --timeout 30 2>"$T/node.err"); rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q '"denied":"private"' && echo "$out" | grep -q 'only its owner' ||
	fail "a viewer's watch page: rc=$rc $out"
out=$(timeout 60 node private.mjs "$X/watch/demo" --timeout 30 2>"$T/node.err"); rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q '"denied":"unauthenticated"' && echo "$out" | grep -q 'sign in' ||
	fail "an anonymous watch page: rc=$rc $out"
# a real recording of the private channel (6 s of fMP4 HLS, VOD) on the watch page
R2=20261205T120000Z # a recording id as lsp-record names them (the list shows only such)
mkdir -p "$LSP_DATA_DIR/vod/demo/$R2"
ffmpeg -v error -nostdin -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine -t 6 -c:v libx264 -preset ultrafast \
	-g 25 -c:a aac -f hls -hls_time 1 -hls_segment_type fmp4 -hls_playlist_type vod \
	-hls_segment_filename "$LSP_DATA_DIR/vod/demo/$R2/seg%d.m4s" "$LSP_DATA_DIR/vod/demo/$R2/index.m3u8" ||
	fail "cannot make a recording"
out=$(timeout 90 node private.mjs "$X/watch/demo?vod=$R2" --bearer "$CAROL" --timeout 60 2>"$T/node.err"); rc=$?
[ $rc -eq 0 ] || { cat "$T/node.err"; fail "the owner's watch page did not play the private recording (rc=$rc): $out"; }
echo "$out" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["vods"] < 1)' ||
	{ cat "$T/node.err"; fail "the owner's watch page does not list the private channel's recordings: $out"; }
out=$(timeout 60 node private.mjs "$X/watch/demo?vod=$R2" --timeout 30 2>"$T/node.err"); rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q '"denied":"unauthenticated"' || fail "an anonymous watch page of a private recording: rc=$rc $out"
cd "$ROOT" || exit 1
ok "watch page (Chromium): the owner plays the private channel over LL-HLS and WebRTC and its recording (listed); a viewer and a visitor are told why not"

# ---- bad tokens --------------------------------------------------------------------------
forge() { # channel exp viewer → a token signed here with the shared secret (an independent signer)
	python3 - "$PS" "$@" <<'PY'
import hashlib, hmac, sys
key = open(sys.argv[1], "rb").read().rstrip(b" \t\r\n")
ch, exp, viewer = sys.argv[2], sys.argv[3], sys.argv[4]
msg = f"lsp-play.v1|{ch}|{exp}|{viewer}".encode()
print(f"p1.{exp}.{viewer}.{hmac.new(key, msg, hashlib.sha256).hexdigest()}")
PY
}
now=$(date +%s)
GOOD=$(forge demo $((now + 600)) eve)
[ "$(st "$X/hls/demo/~$GOOD/master.m3u8")" = 200 ] || fail "a token signed by an independent HMAC is refused: $(cat "$T/got")"
OLD=$(forge demo $((now - 120)) eve)
[ "$(st "$X/hls/demo/~$OLD/master.m3u8")" = 403 ] && grep -q "token expired" "$T/got" || fail "expired token: $(cat "$T/got")"
c=$(whep "http://127.0.0.1:$H/whep/demo" -H "Authorization: Bearer $OLD")
[ "$c" = 403 ] && grep -q "token expired" "$T/whep.out" || fail "expired token on WHEP answered $c"
LONG=$(forge demo $((now + 3 * 86400)) eve)
[ "$(st "$X/hls/demo/~$LONG/master.m3u8")" = 403 ] && grep -q "lives too long" "$T/got" || fail "a 3-day token: $(cat "$T/got")"
last=${TOK: -1}; [ "$last" = 0 ] && flip=1 || flip=0
BAD=${TOK%?}$flip
[ "$(st "$X/hls/demo/~$BAD/$RUNG/$PART")" = 403 ] && grep -q "bad signature" "$T/got" || fail "tampered token: $(cat "$T/got")"
c=$(whep "http://127.0.0.1:$H/whep/demo?token=$BAD")
[ "$c" = 403 ] || fail "tampered token on WHEP answered $c"
OTHER=$(forge other $((now + 600)) eve)
[ "$(st "$X/hls/demo/~$OTHER/master.m3u8")" = 403 ] || fail "another channel's token opened demo"
[ "$(st "$X/hls/demo/~x/master.m3u8")" = 403 ] && grep -q "malformed" "$T/got" || fail "malformed token: $(cat "$T/got")"
[ "$(st "$X/hls/demo/~/master.m3u8")" = 404 ] || fail "an empty token segment is not 404"
ok "refused: expired, too long-lived, tampered, another channel's and malformed tokens (HLS and WHEP)"

# ---- the age gate ----------------------------------------------------------------------------
api POST /channels "$CAROL" '{"name":"late","age_gate":true}' | grep -q '"age_gate": *true' ||
	fail "create an age-gated channel: $(code) $(cat "$T/body")"
[ -e "$LSP_DATA_DIR/hls/late/.signed" ] && ! [ -e "$LSP_DATA_DIR/hls/late/.unlisted" ] || fail "age gate markers"
api POST /channels/late/playback-token "$KIM" >/dev/null
[ "$(code)" = 403 ] && grep -q '"age_gate"' "$T/body" || fail "a 15-year-old got an age-gated token: $(code) $(cat "$T/body")"
api POST /channels/late/playback-token "$DAVE" | grep -q '"token"' || fail "an adult got no token: $(cat "$T/body")"
api POST /channels/demo/playback-token "$DAVE" '{"ttl":5}' >/dev/null
[ "$(code)" = 400 ] || [ "$(code)" = 403 ] || fail "ttl 5 answered $(code)"
[ "$(st "$X/hls/late/master.m3u8")" = 403 ] || fail "age-gated channel open without a token"
ok "age gate: a 15-year-old is refused a token (403 age_gate), an adult gets one; the edge asks for it"

# ---- lsp-ctl writes the same settings ----------------------------------------------------------
"$BIN/lsp-ctl" channel set late visibility=private 2>>"$T/ctl.log" || fail "lsp-ctl channel set visibility=private"
[ -e "$LSP_DATA_DIR/hls/late/.unlisted" ] || fail "lsp-ctl did not write .unlisted"
api POST /channels/late/playback-token "$DAVE" >/dev/null
[ "$(code)" = 403 ] || fail "an adult non-staff got a token for a private channel: $(code)"
"$BIN/lsp-ctl" channel set late visibility=public age_gate=off 2>>"$T/ctl.log" || fail "lsp-ctl back to public"
! [ -e "$LSP_DATA_DIR/hls/late/.unlisted" ] && ! [ -e "$LSP_DATA_DIR/hls/late/.signed" ] || fail "markers left"
api GET /channels/late "" | grep -q '"visibility": *"public"' || fail "lsp-ctl's setting not seen by lsp-api"
"$BIN/lsp-ctl" channel set late visibility=hidden 2>/dev/null; rc=$?
[ $rc -eq 100 ] || fail "visibility=hidden: rc=$rc"
ok "lsp-ctl channel set visibility=/age_gate= writes the row and the markers; a bad value is a usage error"

# ---- back to public; metrics; no token in any log -------------------------------------------------
api PATCH /channels/demo "$CAROL" '{"visibility":"public"}' >/dev/null
[ "$(st "$X/hls/demo/master.m3u8")" = 200 ] || fail "public again but refused"
listed || fail "public again but not listed"
n=$(curl -s -m 5 "$X/metrics" | sed -n 's/^lsp_edge_playback_refused_total \([0-9]*\).*/\1/p')
[ "${n:-0}" -ge 8 ] || fail "lsp_edge_playback_refused_total=$n"
grep -q '"playback refused"' "$T/edge.log" && grep -q '"play refused"' "$T/rtc.log" &&
	grep -q '"playback token issued"' "$T/api.log" || fail "refusals / issues not logged"
for t in "$TOK" "${TOK##*.}" "${GOOD##*.}" "${BAD##*.}"; do
	grep -lF -- "$t" "$T"/*.log && fail "a token is in a log"
done
ok "public again; $n refusals counted in /metrics; refusals logged without the token"
