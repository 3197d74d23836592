#!/usr/bin/env python3
"""event-names.py [ROOT] — every log event in lib/ and bin/ has a fixed name.

Scans each call of lsp_log(lg, level, NAME, ...), lsp_event_emit(fn, ctx,
level, NAME, ...) and api_event(c, level, NAME, ...) and requires NAME to be
a string literal, or a choice between literals (a ? "x" : "y"); data
belongs in the fields (man lsp.7, LOGS).  The few functions that pass a
name through (a wrapper whose own callers use literals) are listed below.
A literal must look like a name: words, no format directives or quotes.  Prints each offence; exit 1 if any."""
import glob
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CALLS = {"lsp_log": 2, "lsp_event_emit": 3, "api_event": 2}
# wrappers: (file, the parameter they pass on)
PASS_ON = {("lib/core/log.c", "msg"), ("lib/core/event.c", "name"), ("lib/ctl/ctl.c", "(name)"),
           ("lib/ingest/ingestsrv.c", "what"), ("lib/ingest/ingest.c", "name"), ("lib/ingest/srtin.c", "name"),
           ("lib/push/pushdir.c", "name"), ("lib/push/restream.c", "name"), ("bin/lsp-transcode.c", "msg")}
LIT = re.compile(r'^"([^"\\]*)"$')
CHOICE = re.compile(r'^[^?]+\?\s*"[^"\\]*"\s*:\s*"[^"\\]*"$')
NAME = re.compile(r"^[A-Za-z-][A-Za-z0-9 _./:();,'-]*$")


def args_of(s, i):
    depth, args = 1, [""]
    while depth and i < len(s):
        ch = s[i]
        if ch == '"':
            j = i + 1
            while s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            args[-1] += s[i:j + 1]
            i = j + 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if depth == 0:
            break
        if ch == "," and depth == 1:
            args.append("")
        else:
            args[-1] += ch
        i += 1
    return [a.strip() for a in args]


bad, n = [], 0
for f in sorted(glob.glob(os.path.join(ROOT, "lib/*/*.c")) + glob.glob(os.path.join(ROOT, "bin/*.c"))):
    rel = os.path.relpath(f, ROOT)
    s = open(f).read()
    for fn, ix in CALLS.items():
        for m in re.finditer(r"\b" + fn + r"\(", s):
            a = args_of(s, m.end())
            if len(a) <= ix or s[:m.start()].rstrip().endswith(("void", "int", "define")):
                continue
            name = a[ix]
            line = s.count("\n", 0, m.start()) + 1
            n += 1
            if (rel, name) in PASS_ON or CHOICE.match(name):
                continue
            lit = LIT.match(name)
            if not lit:
                bad.append(f"{rel}:{line}: {fn}: event name is not a literal: {name}")
            elif not NAME.match(lit.group(1)) or "%" in lit.group(1):
                bad.append(f"{rel}:{line}: {fn}: event name looks like data or a message: {name}")
for b in bad:
    print(b)
print(f"event-names: {n} calls, {len(bad)} offences")
sys.exit(1 if bad else 0)
