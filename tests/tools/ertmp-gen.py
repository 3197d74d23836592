#!/usr/bin/env python3
"""ertmp-gen.py — an Enhanced RTMP (E-RTMP) publisher for the tests.

usage: ertmp-gen.py URL (--media FILE | --fourcc CCCC) [--no-meta] [--fast]

ffmpeg 5.1 cannot send E-RTMP, so this plays OBS 30: it connects to URL
(rtmp://HOST:PORT/APP/KEY) with a minimal handshake, connect, createStream
and publish, then sends onMetaData (videocodecid/audiocodecid as FourCC
numbers, as OBS does) and the media as E-RTMP tags:

  --media FILE   an MP4 (or MKV) made by ffmpeg with HEVC video (libx265)
                 and Opus or AAC audio.  HEVC goes as FourCC hvc1:
                 SequenceStart with the hvcC, CodedFrames (with a
                 composition time) or CodedFramesX (when it is 0); Opus as
                 FourCC Opus (SequenceStart with the ID header, then
                 CodedFrames); AAC as legacy sound format 10.  The packets
                 come from ffprobe -show_packets -show_data, in real time
                 unless --fast.
  --fourcc CCCC  a canned stream of another codec (av01, vp09, ...): a
                 SequenceStart and a few CodedFrames of filler bytes.
  --no-meta      send no onMetaData (the codec is then seen in the tags).

Everything the server says is scanned for onStatus: "publishing" on stdout
once NetStream.Publish.Start arrives; an error status is printed to stderr
as "rejected: CODE: DESCRIPTION" and the exit status is 1.  Exit 0 when
all media was sent, 2 on a connection or input failure.
"""
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

CHUNK = 4096


def amf_str(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b


def amf_num(n):
    return b"\x00" + struct.pack(">d", float(n))


def amf_obj(d, ecma=False):
    out = (b"\x08" + struct.pack(">I", len(d))) if ecma else b"\x03"
    for k, v in d.items():
        kb = k.encode()
        out += struct.pack(">H", len(kb)) + kb
        out += amf_str(v) if isinstance(v, str) else amf_num(v)
    return out + b"\x00\x00\x09"


def fourcc(s):
    return struct.unpack(">I", s.encode())[0]


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=10)
        self.inbuf = b""
        self.status = None  # (level, code, description)

    def send_msg(self, csid, mtype, msid, ts, payload):
        ts &= 0xFFFFFFFF
        ext = ts >= 0xFFFFFF
        hdr = bytes([csid]) + struct.pack(">I", 0xFFFFFF if ext else ts)[1:]
        hdr += struct.pack(">I", len(payload))[1:] + bytes([mtype]) + struct.pack("<I", msid)
        if ext:
            hdr += struct.pack(">I", ts)
        out = bytearray(hdr)
        for off in range(0, len(payload), CHUNK):
            if off:
                out += bytes([0xC0 | csid]) + (struct.pack(">I", ts) if ext else b"")
            out += payload[off:off + CHUNK]
        self.s.sendall(bytes(out))

    def poll(self, timeout=0.0):
        while True:
            r, _, _ = select.select([self.s], [], [], timeout)
            if not r:
                return True
            try:
                b = self.s.recv(65536)
            except OSError:
                return False
            if not b:
                return False
            self.inbuf += b
            self.scan()
            timeout = 0.0

    def scan(self):
        # the status objects are AMF0: level, code, description strings
        for m in re.finditer(rb"\x00\x05level\x02(..)", self.inbuf):
            o = m.end()
            (n,) = struct.unpack(">H", m.group(1))
            level = self.inbuf[o:o + n].decode(errors="replace")
            rest = self.inbuf[o + n:]
            c = re.match(rb"\x00\x04code\x02(..)", rest)
            if not c:
                continue
            (cn,) = struct.unpack(">H", c.group(1))
            code = rest[c.end():c.end() + cn].decode(errors="replace")
            rest = rest[c.end() + cn:]
            d = re.match(rb"\x00\x0bdescription\x02(..)", rest)
            desc = ""
            if d:
                (dn,) = struct.unpack(">H", d.group(1))
                desc = rest[d.end():d.end() + dn].decode(errors="replace")
            if code.startswith("NetStream.Publish") or level == "error":
                self.status = (level, code, desc)


def handshake(c):
    c1 = struct.pack(">II", 0, 0) + os.urandom(1528)
    c.s.sendall(b"\x03" + c1)
    need = 1 + 1536 * 2
    got = b""
    while len(got) < need:
        b = c.s.recv(need - len(got))
        if not b:
            raise OSError("closed during handshake")
        got += b
    c.s.sendall(got[1:1537])  # C2 = S1


def media_from(path):
    """(streams, packets) from ffprobe: packets sorted by dts, times in ms."""
    st = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_data", "-of", "json", path],
                                   check=True, capture_output=True).stdout)["streams"]
    pk = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_packets", "-show_data", "-of", "json", path],
                                   check=True, capture_output=True).stdout)["packets"]

    def unhex(dump):
        return bytes.fromhex("".join(line[10:50].replace(" ", "") for line in dump.strip("\n").split("\n")))

    streams = {s["index"]: (s["codec_type"], s["codec_name"], unhex(s.get("extradata", "")), s) for s in st}
    out = []
    for p in pk:
        dts = p.get("dts_time", p.get("pts_time"))
        pts = p.get("pts_time", dts)
        if dts in (None, "N/A"):
            continue
        out.append((round(float(dts) * 1000), round(float(pts) * 1000), p["stream_index"], "K" in p["flags"],
                    unhex(p["data"])))
    base = min(o[0] for o in out)
    out = [(d - base, q - base, i, k, b) for d, q, i, k, b in out]
    out.sort(key=lambda o: o[0])
    return streams, out


def main():
    a = sys.argv[1:]
    if not a or a[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    url, media, cc, meta, fast = a[0], None, None, True, False
    i = 1
    while i < len(a):
        if a[i] == "--media":
            media = a[i + 1]; i += 2
        elif a[i] == "--fourcc":
            cc = a[i + 1]; i += 2
        elif a[i] == "--no-meta":
            meta = False; i += 1
        elif a[i] == "--fast":
            fast = True; i += 1
        else:
            sys.exit("ertmp-gen: unknown argument " + a[i])
    if (media is None) == (cc is None) or (cc is not None and len(cc) != 4):
        sys.exit(__doc__)
    u = urllib.parse.urlparse(url)
    app, _, key = u.path.lstrip("/").partition("/")

    tags = []  # (ts, type, body)
    md = {}
    if media:
        try:
            streams, packets = media_from(media)
        except (OSError, subprocess.CalledProcessError, ValueError, KeyError) as e:
            print("ertmp-gen: cannot read %s: %s" % (media, e), file=sys.stderr)
            return 2
        vcc = acc = None
        for idx, (kind, name, extra, s) in streams.items():
            if kind == "video" and name == "hevc":
                vcc = idx
                md.update(width=s["width"], height=s["height"], videocodecid=fourcc("hvc1"))
                tags.append((0, 9, b"\x90hvc1" + extra))
            elif kind == "audio" and name == "opus":
                acc = idx
                md.update(audiocodecid=fourcc("Opus"), audiosamplerate=48000)
                tags.append((0, 8, b"\x90Opus" + extra))
            elif kind == "audio" and name == "aac":
                acc = idx
                md.update(audiocodecid=10)
                tags.append((0, 8, b"\xaf\x00" + extra))
        for dts, pts, idx, key_, data in packets:
            if idx == vcc:
                ft = 1 if key_ else 2
                cts = pts - dts
                if cts:
                    body = bytes([0x80 | ft << 4 | 1]) + b"hvc1" + struct.pack(">i", cts)[1:] + data
                else:
                    body = bytes([0x80 | ft << 4 | 3]) + b"hvc1" + data
                tags.append((dts, 9, body))
            elif idx == acc:
                if streams[idx][1] == "opus":
                    tags.append((dts, 8, b"\x91Opus" + data))
                else:
                    tags.append((dts, 8, b"\xaf\x01" + data))
    else:
        md.update(width=320, height=240, videocodecid=fourcc(cc))
        tags.append((0, 9, b"\x90" + cc.encode() + b"\x81\x00\x0c\x00"))
        for n in range(25):
            tags.append((n * 40, 9, bytes([0x80 | (1 if n == 0 else 2) << 4 | 1]) + cc.encode() + os.urandom(200)))

    try:
        c = Conn(u.hostname, u.port or 1935)
        handshake(c)
        c.send_msg(2, 1, 0, 0, struct.pack(">I", CHUNK))  # SetChunkSize
        c.send_msg(3, 20, 0, 0, amf_str("connect") + amf_num(1) +
                   amf_obj({"app": app, "type": "nonprivate", "flashVer": "FMLE/3.0 (compatible; ertmp-gen)",
                            "tcUrl": "rtmp://%s:%d/%s" % (u.hostname, u.port or 1935, app),
                            "fourCcList": "hvc1"}))
        c.send_msg(3, 20, 0, 0, amf_str("createStream") + amf_num(2) + b"\x05")
        c.send_msg(8, 20, 1, 0, amf_str("publish") + amf_num(3) + b"\x05" + amf_str(key) + amf_str("live"))
        deadline = time.monotonic() + 10
        while c.status is None and time.monotonic() < deadline:
            if not c.poll(0.2):
                break
        if c.status is None or c.status[0] == "error":
            if c.status:
                print("rejected: %s: %s" % (c.status[1], c.status[2]), file=sys.stderr)
                return 1
            print("ertmp-gen: no answer to publish", file=sys.stderr)
            return 2
        print("publishing", flush=True)
        if meta:
            c.send_msg(4, 18, 1, 0, amf_str("@setDataFrame") + amf_str("onMetaData") + amf_obj(md, ecma=True))
        t0 = time.monotonic()
        for ts, mtype, body in tags:
            if not fast:
                wait = t0 + ts / 1000.0 - time.monotonic()
                if wait > 0:
                    c.poll(wait)
            if not c.poll(0) or (c.status and c.status[0] == "error"):
                break
            c.send_msg(4 if mtype == 8 else 6, mtype, 1, ts, body)
        else:
            c.send_msg(3, 20, 0, 0, amf_str("deleteStream") + amf_num(4) + b"\x05" + amf_num(1))
        # whatever the server still says (a refusal after the last tag)
        end = time.monotonic() + 3
        while time.monotonic() < end and not (c.status and c.status[0] == "error"):
            if not c.poll(0.2):
                break
    except OSError as e:
        c_status = locals().get("c") and c.status
        if not c_status:
            print("ertmp-gen: %s" % e, file=sys.stderr)
            return 2
    if c.status and c.status[0] == "error":
        print("rejected: %s: %s" % (c.status[1], c.status[2]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
