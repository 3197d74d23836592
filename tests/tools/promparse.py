#!/usr/bin/env python3
"""promparse.py — a strict checker of the Prometheus text exposition format
(version 0.0.4), used by tests/integ/metrics.sh in place of promtool.

Usage: tests/tools/promparse.py FILE [REQUIRED_FAMILY ...]
Fails (exit 1, reason on stderr) on: a malformed line, a bad metric or label
name, a bad label escape, a duplicate label, a sample whose family has no
TYPE line or whose TYPE comes after its samples, a repeated HELP/TYPE, a
family split across the file, a duplicate series, a non-float value, a
negative counter, a counter not named *_total (lsp convention), a missing
final newline, or a required family absent.  Prints "families N series M".
"""
import math
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*$')
LNAME = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*$')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


def die(n, msg, line=''):
    sys.stderr.write('promparse: line %d: %s: %r\n' % (n, msg, line[:200]))
    sys.exit(1)


def parse_value(s):
    if s in ('NaN', '+Inf', '-Inf', 'Inf'):
        return float(s.replace('Inf', 'inf'))
    if not re.fullmatch(r'[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?', s):
        raise ValueError(s)
    return float(s)


def parse_labels(s, n, line):
    """s starts after '{'; returns (labels, rest after '}')"""
    labels, i = {}, 0
    while True:
        if i < len(s) and s[i] == '}':
            return labels, s[i + 1:]
        m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="', s[i:])
        if not m:
            die(n, 'bad label', line)
        key = m.group(1)
        if key.startswith('__'):
            die(n, 'reserved label name', line)
        i += m.end()
        val = []
        while True:
            if i >= len(s):
                die(n, 'unterminated label value', line)
            c = s[i]
            if c == '\\':
                if i + 1 >= len(s) or s[i + 1] not in '\\"n':
                    die(n, 'bad escape in label value', line)
                val.append({'\\': '\\', '"': '"', 'n': '\n'}[s[i + 1]])
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                val.append(c)
                i += 1
        if key in labels:
            die(n, 'duplicate label ' + key, line)
        labels[key] = ''.join(val)
        if i < len(s) and s[i] == ',':
            i += 1
        elif i < len(s) and s[i] == '}':
            continue
        else:
            die(n, 'expected , or }', line)


def main():
    text = open(sys.argv[1], encoding='utf-8').read()
    required = sys.argv[2:]
    if not text.endswith('\n'):
        die(0, 'no final newline')
    types, helps, sampled, done, series = {}, set(), set(), set(), set()
    current = None
    for n, line in enumerate(text[:-1].split('\n'), 1):
        if line == '':
            continue
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                name = parts[2]
                if not NAME.match(name):
                    die(n, 'bad metric name', line)
                if name in done or (current and current != name and name in sampled):
                    die(n, 'family split', line)
                if current and current != name:
                    done.add(current)
                current = name
                if parts[1] == 'TYPE':
                    if name in types:
                        die(n, 'repeated TYPE', line)
                    if name in sampled:
                        die(n, 'TYPE after samples', line)
                    if len(parts) != 4 or parts[3] not in TYPES:
                        die(n, 'bad TYPE', line)
                    types[name] = parts[3]
                else:
                    if name in helps:
                        die(n, 'repeated HELP', line)
                    helps.add(name)
                    h = parts[3] if len(parts) == 4 else ''
                    if re.search(r'\\[^\\n]|\\$', h):
                        die(n, 'bad escape in HELP', line)
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$', line)
        if not m:
            die(n, 'bad sample line', line)
        name, rest = m.group(1), m.group(2)
        labels = {}
        if rest.startswith('{'):
            labels, rest = parse_labels(rest[1:], n, line)
        if not rest.startswith(' '):
            die(n, 'expected space before value', line)
        fields = rest[1:].split(' ')
        if len(fields) not in (1, 2):
            die(n, 'bad value/timestamp', line)
        try:
            v = parse_value(fields[0])
        except ValueError:
            die(n, 'bad value', line)
        if len(fields) == 2 and not re.fullmatch(r'-?\d+', fields[1]):
            die(n, 'bad timestamp', line)
        fam = name
        if fam not in types:
            die(n, 'sample without TYPE', line)
        if fam != current:
            die(n, 'sample outside its family block', line)
        sampled.add(fam)
        if types[fam] == 'counter':
            if not fam.endswith('_total'):
                die(n, 'counter not named *_total', line)
            if v < 0 or math.isnan(v):
                die(n, 'negative counter', line)
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            die(n, 'duplicate series', line)
        series.add(key)
    for r in required:
        if r not in types:
            sys.stderr.write('promparse: required family %s missing\n' % r)
            sys.exit(1)
    print('families %d series %d' % (len(types), len(series)))


main()
