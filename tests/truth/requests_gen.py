"""Requests for an app, generated from its routes (``app.openapi()``) and WebSocket routes.

Per operation: a valid-looking request (every parameter and body field, with
values that satisfy the declared constraints where that is simple), one with a
required parameter or the required body missing, one with a wrong type. Per
app: a path no route has and a method the first route does not accept.
Deterministic: the same app gives the same requests.
"""

from __future__ import annotations

import re
from typing import Any

from .oracle import HttpReq, WsReq

MAX_OPERATIONS = 8
MISSING_PATH = "/__truth_no_such_route__"
_METHOD_ORDER = ("get", "post", "put", "patch", "delete")


def _resolve(schema: Any, comps: dict[str, Any]) -> Any:
    for _ in range(10):
        if isinstance(schema, dict) and "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = comps.get(name, {})
        else:
            break
    return schema if isinstance(schema, dict) else {}


def _string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    fixed = {
        "date-time": "2024-01-02T03:04:05",
        "date": "2024-01-02",
        "time": "03:04:05",
        "uuid": "12345678-1234-5678-1234-567812345678",
        "email": "ada@example.com",
        "duration": "P3D",
        "uri": "https://example.com/",
        "binary": "file-content",
        "password": "secret-value",
    }
    if fmt in fixed:
        return fixed[fmt]
    value = "abc"
    pattern = schema.get("pattern")
    if pattern:
        literal = pattern.strip("^$")
        for cand in (literal, "fixedquery", "abc", "abcdef"):
            try:
                if re.fullmatch(pattern.strip("^$"), cand) or re.search(pattern, cand):
                    value = cand
                    break
            except re.error:
                break
    lo = schema.get("minLength")
    hi = schema.get("maxLength")
    if lo and len(value) < lo:
        value = value + "x" * (lo - len(value))
    if hi is not None and len(value) > hi:
        value = value[:hi]
    return value


def _number(schema: dict[str, Any], integer: bool) -> Any:
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = 3 if integer else 3.5
    if lo is not None and value <= lo:
        value = lo + 1 if integer else lo + 0.5
    if hi is not None and value >= hi:
        value = hi - 1 if integer else hi - 0.5
        if lo is not None and value <= lo:
            value = (lo + hi) / 2
    return int(value) if integer else float(value)


def example(schema: Any, comps: dict[str, Any], depth: int = 0) -> Any:
    schema = _resolve(schema, comps)
    if depth > 6:
        return None
    for key in ("examples", "example"):
        if key in schema:
            ex = schema[key]
            if key == "examples" and isinstance(ex, list) and ex:
                return ex[0]
            if key == "example":
                return ex
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [_resolve(o, comps) for o in schema[key]]
            options = [o for o in options if o.get("type") != "null"] or options
            return example(options[0], comps, depth + 1) if options else None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, comps))
        return example(merged, comps, depth + 1)
    typ = schema.get("type")
    if typ == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        out = {name: example(sub, comps, depth + 1) for name, sub in props.items()}
        if not props and isinstance(schema.get("additionalProperties"), dict):
            out = {"key": example(schema["additionalProperties"], comps, depth + 1)}
        return out
    if typ == "array":
        item = example(schema.get("items") or {}, comps, depth + 1)
        n = max(int(schema.get("minItems", 1) or 1), 1)
        if schema.get("maxItems") is not None:
            n = min(n, int(schema["maxItems"]))
        if schema.get("uniqueItems") and n > 1:
            n = 1
        return [item] * n
    if typ == "integer":
        return _number(schema, True)
    if typ == "number":
        return _number(schema, False)
    if typ == "boolean":
        return True
    if typ == "null":
        return None
    if typ == "string":
        return _string(schema)
    return "abc"


def _kind(schema: Any, comps: dict[str, Any]) -> str | None:
    schema = _resolve(schema, comps)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            kinds = [_kind(o, comps) for o in schema[key]]
            kinds = [k for k in kinds if k not in (None, "null")]
            return kinds[0] if kinds else None
    return schema.get("type")


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill_path(path: str, values: dict[str, Any]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        return _as_text(values.get(name, "abc"))

    return re.sub(r"\{([^}]+)\}", sub, path)


def _body_for(op: dict[str, Any], comps: dict[str, Any]) -> tuple[str | None, Any, bool]:
    body = op.get("requestBody")
    if not body:
        return None, None, False
    content = body.get("content") or {}
    required = bool(body.get("required"))
    for ctype in ("application/json", "application/x-www-form-urlencoded", "multipart/form-data"):
        if ctype in content:
            schema = content[ctype].get("schema") or {}
            return ctype, (schema, example(schema, comps)), required
    if content:
        ctype = next(iter(content))
        return ctype, ({}, "abc"), required
    return None, None, required


def _files_and_data(schema: dict[str, Any], value: Any, comps: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    schema = _resolve(schema, comps)
    props = schema.get("properties") or {}
    files: list[Any] = []
    data: dict[str, Any] = {}
    for name, sub in props.items():
        sub = _resolve(sub, comps)
        opts = [sub, *[_resolve(o, comps) for o in sub.get("anyOf", [])]]
        binary = any(o.get("format") == "binary" or o.get("contentMediaType") == "application/octet-stream" for o in opts)
        array_binary = any(o.get("type") == "array" and (_resolve(o.get("items") or {}, comps).get("format") == "binary"
                           or _resolve(o.get("items") or {}, comps).get("contentMediaType") == "application/octet-stream")
                           for o in opts)
        if binary:
            files.append((name, (f"{name}.txt", b"hello file", "text/plain")))
        elif array_binary:
            files.append((name, (f"{name}-1.txt", b"first", "text/plain")))
            files.append((name, (f"{name}-2.txt", b"second", "text/plain")))
        else:
            v = value.get(name) if isinstance(value, dict) else None
            data[name] = [_as_text(x) for x in v] if isinstance(v, list) else _as_text(v if v is not None else "abc")
    return files, data


def _request(rid: str, method: str, path: str, query: list[tuple[str, str]], headers: list[tuple[str, str]],
             cookies: list[tuple[str, str]], body: tuple[str | None, Any], comps: dict[str, Any], root_path: str,
             note: str) -> HttpReq:
    hdrs = list(headers)
    if cookies:
        hdrs.append(("cookie", "; ".join(f"{k}={v}" for k, v in cookies)))
    ctype, payload = body
    kwargs: dict[str, Any] = {}
    if ctype == "application/json":
        kwargs["json"] = payload[1]
    elif ctype == "application/x-www-form-urlencoded":
        value = payload[1] if isinstance(payload[1], dict) else {}
        kwargs["data"] = {k: ([_as_text(x) for x in v] if isinstance(v, list) else _as_text(v)) for k, v in value.items()}
    elif ctype == "multipart/form-data":
        files, data = _files_and_data(payload[0], payload[1], comps)
        kwargs["files"] = files
        kwargs["data"] = data
    elif ctype is not None:
        kwargs["content"] = b"abc"
        hdrs.append(("content-type", ctype))
    return HttpReq(rid, method=method.upper(), path=path, params=query or None, headers=tuple(hdrs),
                   root_path=root_path, note=note, **{k: v for k, v in kwargs.items() if v is not None})


def for_operations(spec: dict[str, Any], prefix: str = "", root_path: str = "", label: str = "") -> list[HttpReq]:
    comps = (spec.get("components") or {}).get("schemas") or {}
    out: list[HttpReq] = []
    count = 0
    for path, item in (spec.get("paths") or {}).items():
        for method in _METHOD_ORDER:
            op = item.get(method)
            if op is None:
                continue
            count += 1
            if count > MAX_OPERATIONS:
                return out
            params = [*(item.get("parameters") or []), *(op.get("parameters") or [])]
            values: dict[str, Any] = {}
            query: list[tuple[str, str]] = []
            headers: list[tuple[str, str]] = []
            cookies: list[tuple[str, str]] = []
            numeric: tuple[str, str] | None = None
            required_param: tuple[str, str] | None = None
            for p in params:
                name, where = p.get("name"), p.get("in")
                schema = p.get("schema") or {}
                value = example(schema, comps)
                kind = _kind(schema, comps)
                if where == "path":
                    values[name] = value
                elif where == "query":
                    if isinstance(value, list):
                        query.extend((name, _as_text(v)) for v in value)
                    elif isinstance(value, dict):  # a query model shown as one object: send its fields
                        query.extend((k, _as_text(v)) for k, v in value.items())
                    else:
                        query.append((name, _as_text(value)))
                elif where == "header":
                    headers.append((name, _as_text(value) if not isinstance(value, list) else ",".join(map(_as_text, value))))
                elif where == "cookie":
                    cookies.append((name, _as_text(value)))
                if numeric is None and kind in ("integer", "number", "boolean") and where in ("path", "query"):
                    numeric = (where, name)
                if required_param is None and p.get("required") and where in ("query", "header", "cookie"):
                    required_param = (where, name)
            ctype, payload, body_required = _body_for(op, comps)
            full = prefix + path
            tag = f"{label}{method.upper()} {full}"
            out.append(_request(f"{tag} valid", method, _fill_path(full, values), query, headers, cookies,
                                (ctype, payload), comps, root_path, "every parameter and body field"))
            if required_param is not None:
                where, name = required_param
                q = [x for x in query if not (where == "query" and x[0] == name)]
                h = [x for x in headers if not (where == "header" and x[0] == name)]
                c = [x for x in cookies if not (where == "cookie" and x[0] == name)]
                out.append(_request(f"{tag} missing {where} {name}", method, _fill_path(full, values), q, h, c,
                                    (ctype, payload), comps, root_path, f"required {where} parameter {name} not sent"))
            elif ctype is not None and body_required:
                out.append(_request(f"{tag} missing body", method, _fill_path(full, values), query, headers, cookies,
                                    (None, None), comps, root_path, "required body not sent"))
            if numeric is not None:
                where, name = numeric
                vals = dict(values)
                q = list(query)
                if where == "path":
                    vals[name] = "not-a-number"
                else:
                    q = [(k, "not-a-number" if k == name else v) for k, v in q]
                out.append(_request(f"{tag} wrong type {where} {name}", method, _fill_path(full, vals), q, headers,
                                    cookies, (ctype, payload), comps, root_path, f"{where} parameter {name} is not a number"))
            elif ctype == "application/json" and isinstance(payload[1], dict):
                bad = dict(payload[1])
                key = next((k for k, v in bad.items() if isinstance(v, int | float) and not isinstance(v, bool)), None)
                if key is not None:
                    bad[key] = "not-a-number"
                    out.append(_request(f"{tag} wrong type body {key}", method, _fill_path(full, values), query,
                                        headers, cookies, (ctype, (payload[0], bad)), comps, root_path,
                                        f"body field {key} is not a number"))
                else:
                    out.append(_request(f"{tag} wrong type body", method, _fill_path(full, values), query, headers,
                                        cookies, (ctype, (payload[0], ["not", "an", "object"])), comps, root_path,
                                        "the body is a list, not an object"))
    return out


def for_app(app: Any, spec: dict[str, Any] | None) -> list[HttpReq | WsReq]:
    """Every request for one app (and the FastAPI apps mounted in it)."""
    out: list[HttpReq | WsReq] = []
    root_path = getattr(app, "root_path", "") or ""
    if spec:
        out.extend(for_operations(spec))
    for route in getattr(app, "routes", []):
        sub = getattr(route, "app", None)
        if type(route).__name__ == "Mount" and hasattr(sub, "openapi"):
            try:
                sub_spec = sub.openapi()
            except Exception:
                sub_spec = None
            if sub_spec:
                out.extend(for_operations(sub_spec, prefix=route.path, label="mounted "))
    out.extend(websockets_for(app))
    first = next((r for r in out if isinstance(r, HttpReq)), None)
    out.append(HttpReq(f"GET {MISSING_PATH} 404", path=MISSING_PATH, root_path=root_path, note="no route has this path"))
    if spec and spec.get("paths"):
        path, item = next(iter(spec["paths"].items()))
        declared = {m.upper() for m in item}
        method = next(m for m in ("PATCH", "DELETE", "PUT", "POST", "GET") if m not in declared)
        target = first.path if first is not None and first.id.split(" ")[1] == path else _fill_path(path, {})
        out.append(HttpReq(f"{method} {path} 405", method=method, path=target, root_path=root_path,
                           note=f"{method} is not declared for this path"))
    return out


def websockets_for(app: Any) -> list[WsReq]:
    from .registry import iter_dependants, iter_routes

    out: list[WsReq] = []
    for route in iter_routes(getattr(app, "routes", [])):
        if type(route).__name__ not in ("APIWebSocketRoute", "WebSocketRoute"):
            continue
        path_format = getattr(route, "path_format", None) or getattr(route, "path", "/")
        convertors = getattr(route, "param_convertors", {}) or {}
        values = {name: (3 if type(conv).__name__ in ("IntegerConvertor", "FloatConvertor") else "abc")
                  for name, conv in convertors.items()}
        path = _fill_path(path_format, values)
        query: list[tuple[str, str]] = []
        for dependant in iter_dependants(getattr(route, "dependant", None)):
            for fld in getattr(dependant, "query_params", []) or []:
                name = getattr(fld, "alias", None) or fld.name
                ann = getattr(getattr(fld, "field_info", None), "annotation", None)
                text = str(ann)
                query.append((name, "3" if "int" in text else "some-token"))
        script = (("text", "hello"), ("receive",), ("text", "again"), ("receive",), ("close", 1000))
        out.append(WsReq(f"WS {path_format} talk", path=path, params=query or None, script=script,
                         note="accept, two messages each way, client closes"))
        if query:
            out.append(WsReq(f"WS {path_format} no query", path=path, script=script,
                             note="the query parameters left out"))
    return out
