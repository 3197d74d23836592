#!/usr/bin/env bash
# openapi — docs/openapi.json passes the strict OpenAPI 3.0 check
# (tests/tools/openapi-check.py, also a gate of make check), and the check
# refuses each kind of mistake it is there for: an empty required list, a
# missing or repeated operationId, a path template without its parameter,
# a type list, a dangling $ref, fields beside a $ref, a response without a
# description, an unknown field.  Every route's live answers are checked
# against the spec by tests/tools/apitest.py (integ/api, integ/api-pg).
. "$(dirname "$0")/../lib.sh"
need python3
CHK=$ROOT/tests/tools/openapi-check.py
S=$ROOT/docs/openapi.json
python3 "$CHK" "$S" || fail "docs/openapi.json is not clean"
mutate() { # name python-statement-on-d [finding it must print]
	python3 - "$S" "$T/$1.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
PY
	python3 "$CHK" "$T/$1.json" >"$T/$1.out" 2>&1 && fail "the check passed a document with $1"
	grep -q "openapi-check: .*${3:-}" "$T/$1.out" || fail "$1: no finding '${3:-}': $(cat "$T/$1.out")"
	echo "  $1: $(grep -m1 "openapi-check: .*${3:-}" "$T/$1.out")"
}
P="d['paths']['/api/v1/channels/{name}']"
mutate empty-required "d['components']['schemas']['ChannelPatch']['required'] = []"
mutate no-operationId "del $P['get']['operationId']"
mutate same-operationId "$P['get']['operationId'] = $P['patch']['operationId']" "also names"
mutate template-without-parameter "d['paths']['/api/v1/x/{id}'] = {'get': {'operationId': 'getX', 'responses': {'200': {'description': 'x'}}}}" "has no path parameter"
mutate type-list "d['components']['schemas']['Error']['properties']['error']['type'] = ['string', 'null']"
mutate dangling-ref "$P['get']['responses']['200']['content']['application/json']['schema']['\$ref'] = '#/components/schemas/Nope'"
mutate ref-with-siblings "$P['get']['responses']['200']['content']['application/json']['schema']['description'] = 'x'"
mutate no-description "del $P['get']['responses']['200']['description']"
mutate unknown-field "$P['get']['respones'] = {}"
mutate bad-status "$P['get']['responses']['600'] = $P['get']['responses']['200']"
ok "openapi-check: docs/openapi.json clean; ten broken variants refused"
