#!/usr/bin/env python3
"""idle.py PORT N — open N idle TCP connections to 127.0.0.1:PORT, print
"open N" once they are all connected, then hold them until stdin closes.
Exits 1 when a connection is refused or closed early."""
import socket
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    socks.append(s)
print("open %d" % len(socks), flush=True)
sys.stdin.read()
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        alive += s.recv(1) != b""   # would block: still open
    except BlockingIOError:
        alive += 1
print("alive %d" % alive, flush=True)
sys.exit(0 if alive == n else 1)
