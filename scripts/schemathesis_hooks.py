"""Schemathesis hooks of scripts/schemathesis: the few rules of the API that a JSON Schema cannot
state, each one written in the document's own descriptions too. A generated request that breaks
one is not "valid data" the server must accept, so it is left out of the positive run; everything
else the document allows, the server must take.
"""

import base64
from datetime import datetime

import schemathesis

# Imported here, in the main thread at start-up, rather than lazily by a worker thread in the
# middle of generation: Python 3.11.7 then sometimes fails with "AST constructor recursion depth
# mismatch" inside anyio's lazy importer (a CPython bug), which schemathesis reports as an error.
import anyio  # noqa: F401,E402
import schemathesis.transport.asgi  # noqa: F401,E402

# A 1×1 PNG: multipart uploads carry an image, as `POST /media` and multipart `POST /cases`
# document (`file`, `photo`, `photos`); no JSON Schema says "the bytes decode as a PNG".
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _time(value):
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _period_in_order(query):
    # `to` lies after `from` (measures, assessment, the analysis report).
    if not isinstance(query, dict) or "from" not in query or "to" not in query:
        return True
    start, end = _time(query["from"]), _time(query["to"])
    return start is None or end is None or end > start


def _deadlines_in_order(body):
    # A category's deadlines: emergency ≤ urgent ≤ routine hours.
    if not isinstance(body, dict) or not isinstance(body.get("deadlines"), dict):
        return True
    d = body["deadlines"]
    try:
        return d["emergency_hours"] <= d["urgent_hours"] <= d["routine_hours"]
    except (KeyError, TypeError):
        return True


def _place(values):
    # A place is `lat` and `lon` together (reports, the public map), or on the public map a
    # `bbox` instead: west < east and south < north, at most one degree each way.
    if not isinstance(values, dict):
        return True
    if ("lat" in values) != ("lon" in values):
        return False
    bbox = values.get("bbox")
    if bbox in (None, ""):
        return True
    if "lat" in values:
        return False
    try:
        w, s, e, n = (float(x) for x in str(bbox).split(","))
    except ValueError:
        return True
    return -180 <= w < e <= 180 and -90 <= s < n <= 90 and e - w <= 1 and n - s <= 1


def _place_required(case):
    # The public map needs a place: a bbox, or lat and lon.
    if case.operation.path != "/public/cases":
        return True
    q = case.query or {}
    return q.get("bbox") not in (None, "") or ("lat" in q and "lon" in q)


def _assignment(body):
    # A grid member is assigned to a grid (15 digits), a grid leader to a community (12).
    if not isinstance(body, dict) or "role" not in body or not isinstance(body.get("region"), str):
        return True
    code = body["region"].strip()
    while len(code) > 6 and code.endswith("000"):
        code = code[:-3]
    return len(code) == {"grid_member": 15, "grid_leader": 12}.get(body["role"], len(code))


def _grant(g):
    # A role is held in the scope of its kind: department staff and heads in a department, a
    # social unit in a place, every other role in a region (`Grant::new`).
    if not isinstance(g, dict) or not isinstance(g.get("role"), str) or not isinstance(g.get("scope"), str):
        return True
    kind = g["scope"].split(":", 1)[0]
    want = {"department_staff": "department", "department_head": "department", "social_unit": "place"}
    return kind == want.get(g["role"], "region")


def _grants(case):
    body = case.body if isinstance(case.body, dict) else {}
    grants = body.get("grants") if isinstance(body.get("grants"), list) else []
    return _grant(case.query or {}) and _grant(body) and all(_grant(g) for g in grants)


def _community_team(body):
    # A community team serves a region: it names one.
    if not isinstance(body, dict) or body.get("kind") != "community_team":
        return True
    return isinstance(body.get("region"), str) and body["region"].strip() != ""


# `filter_case` runs in every phase (coverage, fuzzing, stateful), unlike `filter_query`.
@schemathesis.hook
def filter_case(context, case):
    return (
        _period_in_order(case.query)
        and _deadlines_in_order(case.body)
        and _place(case.query)
        and _place(case.body)
        and _place_required(case)
        and (case.operation.path != "/assignments" or _assignment(case.body))
        and _grants(case)
        and (not case.operation.path.startswith("/departments") or _community_team(case.body))
    )


@schemathesis.hook
def map_case(context, case):
    # Photos as images (see PNG above).
    if case.media_type == "multipart/form-data" and isinstance(case.body, dict):
        for name in ("file", "photo", "photos"):
            if name in case.body:
                value = case.body[name]
                case.body[name] = [PNG for _ in value] if isinstance(value, list) else PNG
    return case
