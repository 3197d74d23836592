#!/usr/bin/env python3
"""openapi-check.py SPEC.json — a strict OpenAPI 3.0 document check (standard
library only; Debian ships no OpenAPI validator for Python).

What it holds the document to, beyond "it is JSON":
  - the 3.0 object shapes: only the fields the specification defines (or
    x- extensions) in the document, info, paths, operations, parameters,
    request bodies, responses, media types, headers, components, security
    schemes and schemas; the fields the specification requires;
  - schemas as OpenAPI 3.0 has them: `type` one of the six names (no type
    lists), `nullable` rather than a "null" type, `items` with arrays,
    `required` a non-empty list of unique names that the properties define
    (an empty list is invalid in 3.0), `enum` non-empty, patterns that
    compile, bounds in order, no fields beside a $ref, and every $ref
    resolving inside the document;
  - operations: an operationId on each, unique across the document; at
    least one response; codes 100..599, nXX or "default"; a description on
    every response;
  - paths: each {template} declared once as a required path parameter and
    every path parameter used in the template;
  - security requirements that name a declared scheme, and no component
    schema left unused.
Prints one line per problem and exits 1 when there is any, else prints a
summary and exits 0."""
import json
import re
import sys

EXT = re.compile(r"^x-")
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
TOP = {"openapi", "info", "servers", "paths", "components", "security", "tags", "externalDocs"}
INFO = {"title", "description", "termsOfService", "contact", "license", "version"}
PATH_ITEM = METHODS | {"$ref", "summary", "description", "servers", "parameters"}
OPERATION = {"tags", "summary", "description", "externalDocs", "operationId", "parameters", "requestBody",
             "responses", "callbacks", "deprecated", "security", "servers"}
PARAM = {"name", "in", "description", "required", "deprecated", "allowEmptyValue", "style", "explode",
         "allowReserved", "schema", "example", "examples", "content"}
HEADER = PARAM - {"name", "in"}
REQBODY = {"description", "content", "required"}
RESPONSE = {"description", "headers", "content", "links"}
MEDIA = {"schema", "example", "examples", "encoding"}
COMPONENTS = {"schemas", "responses", "parameters", "examples", "requestBodies", "headers", "securitySchemes",
              "links", "callbacks"}
SCHEMA = {"title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
          "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties",
          "required", "enum", "type", "allOf", "oneOf", "anyOf", "not", "items", "properties",
          "additionalProperties", "description", "format", "default", "nullable", "discriminator", "readOnly",
          "writeOnly", "xml", "externalDocs", "example", "deprecated"}
TYPES = {"string", "number", "integer", "boolean", "array", "object"}
SECSCHEME = {"type", "description", "name", "in", "scheme", "bearerFormat", "flows", "openIdConnectUrl"}

problems = []
refs_used = set()


def bad(where, msg):
    problems.append(f"{where}: {msg}")


def fields(where, obj, allowed, required=()):
    if not isinstance(obj, dict):
        bad(where, "must be an object")
        return False
    for k in obj:
        if k not in allowed and not EXT.match(k):
            bad(where, f"unknown field {k!r}")
    for k in required:
        if k not in obj:
            bad(where, f"missing required field {k!r}")
    return True


def resolve(where, ref):
    if not isinstance(ref, str) or not ref.startswith("#/"):
        bad(where, f"$ref {ref!r} is not a local reference")
        return None
    node = SPEC
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            bad(where, f"$ref {ref} does not resolve")
            return None
        node = node[part]
    refs_used.add(ref)
    return node


def schema(where, s):
    if not isinstance(s, dict):
        bad(where, "schema must be an object")
        return
    if "$ref" in s:
        if len([k for k in s if not EXT.match(k)]) > 1:
            bad(where, "fields beside $ref are ignored in 3.0; remove them")
        resolve(where, s["$ref"])
        return
    fields(where, s, SCHEMA)
    t = s.get("type")
    if t is not None and (not isinstance(t, str) or t not in TYPES):
        bad(where, f"type {t!r} is not one of {sorted(TYPES)} (3.0 has no type lists or null; use nullable)")
    if "nullable" in s and not isinstance(s["nullable"], bool):
        bad(where, "nullable must be a boolean")
    if t == "array" and "items" not in s:
        bad(where, "an array schema needs items")
    if "items" in s and t != "array":
        bad(where, "items on a schema whose type is not array")
    if "required" in s:
        r = s["required"]
        if not isinstance(r, list) or not r or not all(isinstance(x, str) for x in r) or len(set(r)) != len(r):
            bad(where, "required must be a non-empty list of unique names (leave it out when nothing is required)")
        else:
            props = s.get("properties", {})
            for name in r:
                if name not in props and s.get("additionalProperties") is False:
                    bad(where, f"required {name!r} is not among the properties")
    if "enum" in s and (not isinstance(s["enum"], list) or not s["enum"]):
        bad(where, "enum must be a non-empty list")
    if "pattern" in s:
        try:
            re.compile(s["pattern"])
        except (re.error, TypeError) as e:
            bad(where, f"pattern does not compile: {e}")
    for lo, hi in (("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems"),
                   ("minProperties", "maxProperties")):
        if lo in s and hi in s and s[lo] > s[hi]:
            bad(where, f"{lo} {s[lo]} > {hi} {s[hi]}")
    for k in ("minLength", "maxLength", "minItems", "maxItems"):
        if k in s and (not isinstance(s[k], int) or isinstance(s[k], bool) or s[k] < 0):
            bad(where, f"{k} must be a non-negative integer")
    for k in ("exclusiveMinimum", "exclusiveMaximum"):
        if k in s and not isinstance(s[k], bool):
            bad(where, f"{k} is a boolean in 3.0")
    if "properties" in s:
        if not isinstance(s["properties"], dict):
            bad(where, "properties must be an object")
        else:
            for name, sub in s["properties"].items():
                schema(f"{where}.properties.{name}", sub)
    if "items" in s:
        schema(f"{where}.items", s["items"])
    ap = s.get("additionalProperties")
    if ap is not None and not isinstance(ap, bool):
        schema(f"{where}.additionalProperties", ap)
    for k in ("allOf", "oneOf", "anyOf"):
        if k in s:
            if not isinstance(s[k], list) or not s[k]:
                bad(where, f"{k} must be a non-empty list")
            else:
                for i, sub in enumerate(s[k]):
                    schema(f"{where}.{k}[{i}]", sub)
    if "not" in s:
        schema(f"{where}.not", s["not"])


def content(where, c):
    if not isinstance(c, dict) or not c:
        bad(where, "content must be a non-empty object of media types")
        return
    for mt, m in c.items():
        if not re.match(r"^[a-z]+/[a-z0-9.+*-]+$", mt):
            bad(where, f"media type {mt!r}")
        if fields(f"{where}.{mt}", m, MEDIA) and "schema" in m:
            schema(f"{where}.{mt}.schema", m["schema"])


def parameter(where, p):
    if "$ref" in p:
        p = resolve(where, p["$ref"]) or {}
    if not fields(where, p, PARAM, ("name", "in")):
        return None
    if p.get("in") not in ("query", "header", "path", "cookie"):
        bad(where, f"in {p.get('in')!r}")
    if p.get("in") == "path" and p.get("required") is not True:
        bad(where, "a path parameter must have required: true")
    if ("schema" in p) == ("content" in p):
        bad(where, "a parameter has exactly one of schema and content")
    if "schema" in p:
        schema(f"{where}.schema", p["schema"])
    if "content" in p:
        content(f"{where}.content", p["content"])
    return p


def operation(where, op, path, inherited, ids):
    if not fields(where, op, OPERATION, ("responses",)):
        return
    oid = op.get("operationId")
    if not isinstance(oid, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", oid or ""):
        bad(where, "every operation needs an operationId (letters, digits, _)")
    elif oid in ids:
        bad(where, f"operationId {oid!r} also names {ids[oid]}")
    else:
        ids[oid] = where
    params = dict(inherited)
    for i, p in enumerate(op.get("parameters", [])):
        p = parameter(f"{where}.parameters[{i}]", p)
        if p:
            key = (p.get("name"), p.get("in"))
            if key in params and params[key] == "op":
                bad(where, f"parameter {key} declared twice")
            params[key] = "op"
    tmpl = set(re.findall(r"\{([^}/]+)\}", path))
    declared = {n for (n, i) in params if i == "path"}
    for n in tmpl - declared:
        bad(where, f"path template {{{n}}} has no path parameter")
    for n in declared - tmpl:
        bad(where, f"path parameter {n!r} is not in the path")
    if "requestBody" in op:
        rb = op["requestBody"]
        if "$ref" in rb:
            rb = resolve(f"{where}.requestBody", rb["$ref"]) or {}
        if fields(f"{where}.requestBody", rb, REQBODY, ("content",)):
            content(f"{where}.requestBody.content", rb.get("content"))
    rs = op.get("responses")
    if not isinstance(rs, dict) or not rs:
        bad(where, "responses must name at least one response")
        return
    for code, r in rs.items():
        w = f"{where}.responses.{code}"
        if not (code == "default" or re.match(r"^[1-5](\d\d|XX)$", code)):
            bad(w, "status must be 100..599, 1XX..5XX or default")
        if "$ref" in r:
            r = resolve(w, r["$ref"]) or {}
        if not fields(w, r, RESPONSE, ("description",)):
            continue
        if not isinstance(r.get("description"), str) or not r["description"].strip():
            bad(w, "description must be a non-empty string")
        for hn, h in r.get("headers", {}).items():
            if fields(f"{w}.headers.{hn}", h, HEADER) and "schema" in h:
                schema(f"{w}.headers.{hn}.schema", h["schema"])
        if "content" in r:
            content(f"{w}.content", r["content"])
    for i, req in enumerate(op.get("security", [])):
        security(f"{where}.security[{i}]", req)


def security(where, req):
    schemes = SPEC.get("components", {}).get("securitySchemes", {})
    if not isinstance(req, dict):
        bad(where, "a security requirement is an object")
        return
    for name, scopes in req.items():
        if name not in schemes:
            bad(where, f"security scheme {name!r} is not declared")
        if not isinstance(scopes, list):
            bad(where, "scopes must be a list")


def main():
    global SPEC
    try:
        SPEC = json.load(open(sys.argv[1]))
    except (OSError, ValueError, IndexError) as e:
        print(f"openapi-check: {e}", file=sys.stderr)
        return 1
    fields("document", SPEC, TOP, ("openapi", "info", "paths"))
    if not re.match(r"^3\.0\.\d+$", str(SPEC.get("openapi", ""))):
        bad("openapi", "want 3.0.x")
    if fields("info", SPEC.get("info", {}), INFO, ("title", "version")):
        for k in ("title", "version"):
            if not isinstance(SPEC["info"].get(k), str) or not SPEC["info"].get(k):
                bad("info", f"{k} must be a non-empty string")
    comps = SPEC.get("components", {})
    fields("components", comps, COMPONENTS)
    for name, s in comps.get("schemas", {}).items():
        if not re.match(r"^[A-Za-z0-9._-]+$", name):
            bad(f"components.schemas.{name}", "name")
        schema(f"components.schemas.{name}", s)
    for name, sc in comps.get("securitySchemes", {}).items():
        w = f"components.securitySchemes.{name}"
        if fields(w, sc, SECSCHEME, ("type",)):
            t = sc.get("type")
            if t not in ("apiKey", "http", "oauth2", "openIdConnect"):
                bad(w, f"type {t!r}")
            if t == "apiKey" and (not sc.get("name") or sc.get("in") not in ("query", "header", "cookie")):
                bad(w, "apiKey needs name and in (query, header or cookie)")
            if t == "http" and not sc.get("scheme"):
                bad(w, "http needs scheme")
    for i, req in enumerate(SPEC.get("security", [])):
        security(f"security[{i}]", req)
    ids, nops = {}, 0
    paths = SPEC.get("paths", {})
    if not isinstance(paths, dict):
        bad("paths", "must be an object")
        paths = {}
    for path, item in paths.items():
        if not path.startswith("/"):
            bad(f"paths.{path}", "must start with /")
        if not fields(f"paths.{path}", item, PATH_ITEM):
            continue
        inherited = {}
        for i, p in enumerate(item.get("parameters", [])):
            p = parameter(f"paths.{path}.parameters[{i}]", p)
            if p:
                inherited[(p.get("name"), p.get("in"))] = "path"
        for m, op in item.items():
            if m in METHODS:
                nops += 1
                operation(f"{m.upper()} {path}", op, path, inherited, ids)
    for name in comps.get("schemas", {}):
        if f"#/components/schemas/{name}" not in refs_used:
            bad(f"components.schemas.{name}", "never referenced")
    for p in problems:
        print(f"openapi-check: {p}")
    if problems:
        return 1
    print(f"openapi-check: {sys.argv[1]}: OpenAPI {SPEC['openapi']}, {len(paths)} paths, {nops} operations, "
          f"{len(comps.get('schemas', {}))} schemas: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
