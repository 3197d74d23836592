#!/usr/bin/env python3
"""idlesock.py — open many idle TCP connections to a server and hold them.

usage: idlesock.py PORT COUNT [--from FIRST_ADDR] [--per-addr N] [--hold S] [--head | --send HEX]

Connections come from 127.0.0.x source addresses starting at FIRST_ADDR
(default 127.0.0.2), N per address (default COUNT: all from one), so a test
can play many clients on loopback.  --head sends half an HTTP request head
and then nothing (a slow-loris); --send sends the given bytes (e.g. 03: an
RTMP C0 without C1) and then nothing.  Prints "opened N refused M" once all were
tried, then holds them for S seconds (default 60) or until killed.  A
connection the server accepts and closes later still counts as opened.
"""
import ipaddress
import resource
import socket
import sys
import time


def main():
    a = sys.argv[1:]
    if len(a) < 2:
        sys.exit(__doc__)
    port, count = int(a[0]), int(a[1])
    first, per, hold, send = "127.0.0.2", count, 60.0, b""
    i = 2
    while i < len(a):
        if a[i] == "--from":
            first = a[i + 1]; i += 2
        elif a[i] == "--per-addr":
            per = int(a[i + 1]); i += 2
        elif a[i] == "--hold":
            hold = float(a[i + 1]); i += 2
        elif a[i] == "--head":
            send = b"GET / HTTP/1.1\r\nHost: x\r\n"; i += 1
        elif a[i] == "--send":
            send = bytes.fromhex(a[i + 1]); i += 2
        else:
            sys.exit("idlesock.py: unknown argument " + a[i])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, count + 64) if hard != resource.RLIM_INFINITY else count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    base = ipaddress.IPv4Address(first)
    socks, refused = [], 0
    for n in range(count):
        src = str(base + n // per)
        s = socket.socket()
        try:
            s.bind((src, 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            if send:
                s.send(send)
            socks.append(s)
        except OSError:
            refused += 1
            s.close()
    print("opened %d refused %d" % (len(socks), refused), flush=True)
    end = time.time() + hold
    while time.time() < end:
        time.sleep(0.5)


main()
