# tests/integ/ingest/common.sh — helpers the lsp-ingest tests share
# (tests/integ/ingest*.sh source it after ../lib.sh).

# publish URL SECONDS: ffmpeg sends test video (H.264) and a tone (AAC)
# over RTMP(S) in real time. (ingest-srt.sh has its own, for MPEG-TS.)
publish() { # url seconds
	timeout -k 2 $(($2 + 15)) ffmpeg -hide_banner -nostdin -loglevel error -re \
		-f lavfi -i "testsrc2=size=320x240:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
		-t "$2" -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -c:a aac -b:a 64k \
		-f flv "$1"
}

# check_ts FILE SECONDS [TOLERANCE]: FILE is MPEG-TS with H.264 and AAC,
# lasts SECONDS ± TOLERANCE (a fraction, default 0.1) and decodes.
check_ts() {
	local info dur tol=${3:-0.1}
	[ -s "$1" ] || fail "no TS in $1"
	info=$(ffprobe -v error -show_entries stream=codec_name:format=duration -of default=nw=1 "$1") ||
		fail "ffprobe cannot read $1"
	grep -q '^codec_name=h264$' <<<"$info" || fail "$1: no h264 stream: $info"
	grep -q '^codec_name=aac$' <<<"$info" || fail "$1: no aac stream: $info"
	dur=$(sed -n 's/^duration=//p' <<<"$info")
	awk -v d="$dur" -v s="$2" -v t="$tol" 'BEGIN { exit !(d >= s * (1 - t) && d <= s * (1 + t)) }' ||
		fail "$1: duration $dur, want $2 s ±$tol"
	# decodable end to end, not just parsable headers
	ffmpeg -v error -nostdin -i "$1" -f null - 2>"$T/decode.err" || fail "$1 does not decode"
	ok "$(basename "$1"): h264+aac, ${dur}s"
}

# start_natsub NATS_URL: every lsp.stream.> message as "subject body" lines
# in $T/bus.txt (the NATS text protocol, no client library).
start_natsub() {
	cat >"$T/natsub.py" <<'PY'
import socket, sys
host, port = sys.argv[1].replace("nats://", "").rsplit(":", 1)
s = socket.create_connection((host, int(port)))
f = s.makefile("rb")
f.readline()  # INFO
s.sendall(b'CONNECT {"verbose":false}\r\nSUB lsp.stream.> 1\r\nPING\r\n')
while True:
    line = f.readline()
    if not line:
        break
    if line.startswith(b"PING"):
        s.sendall(b"PONG\r\n")
    elif line.startswith(b"MSG"):
        parts = line.split()
        body = f.read(int(parts[-1]) + 2)[:-2]
        sys.stdout.write(parts[1].decode() + " " + body.decode() + "\n")
        sys.stdout.flush()
PY
	bg python3 "$T/natsub.py" "$1" >"$T/bus.txt" 2>"$T/natsub.err"
}
