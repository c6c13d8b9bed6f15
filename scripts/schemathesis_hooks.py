"""Schemathesis hooks of scripts/schemathesis: the few rules of the API that a JSON Schema cannot
state, each one written in the document's own descriptions too. A generated request that breaks
one is not "valid data" the server must accept, so it is left out of the positive run; everything
else the document allows, the server must take.
"""

import base64
from datetime import datetime, timedelta

import schemathesis
from hypothesis import strategies as st

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


# `POST /checklists/import` takes an XLSX workbook, a media type schemathesis has no generator for:
# it sends bytes, which are rarely a workbook (refused with the documented 422 naming `body`; see
# schemathesis.toml), and the run checks that no such upload makes a 5xx.
schemathesis.openapi.media_type(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", st.binary(max_size=4096)
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
    if (values.get("lat") is None) != (values.get("lon") is None):
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


def _calendar(body):
    # A calendar's periods run in order without overlapping; no day is both a holiday and a
    # make-up day.
    if not isinstance(body, dict) or not isinstance(body.get("periods"), list):
        return True
    last = 0
    for i, p in enumerate(body["periods"]):
        if not isinstance(p, dict) or not all(isinstance(p.get(k), (int, float)) for k in ("start", "end")):
            return True
        if p["start"] >= p["end"] or (i > 0 and p["start"] < last):
            return False
        last = p["end"]
    holidays, makeup = body.get("holidays"), body.get("makeup_days")
    if isinstance(holidays, list) and isinstance(makeup, list):
        return not {str(d) for d in holidays} & {str(d) for d in makeup}
    return True


def _attributes(body):
    # A subclass's questions: codes and orders unique; a list has values (with unique keys), any
    # other kind has none; a required question takes input (`variable`).
    attrs = body.get("attributes") if isinstance(body, dict) else None
    if not isinstance(attrs, list):
        return True
    codes, orders = set(), set()
    for a in attrs:
        if not isinstance(a, dict):
            return True
        code, order = a.get("code"), a.get("order")
        if code in codes or order in orders:
            return False
        codes.add(code)
        orders.add(order)
        if a.get("required") and a.get("variable", True) is False:
            return False
        values = a.get("values") or []
        if a.get("datatype") in ("singlevaluelist", "multivaluelist"):
            keys = [v.get("key") for v in values if isinstance(v, dict)]
            if not values or len(set(keys)) != len(keys):
                return False
        elif values:
            return False
    return True


def _assignment_period(body):
    # An assignment ends after it starts (now, when `starts_at` is absent).
    if not isinstance(body, dict) or body.get("ends_at") is None:
        return True
    end = _time(body["ends_at"])
    start = _time(body["starts_at"]) if body.get("starts_at") is not None else datetime.now().astimezone()
    try:
        return end is None or start is None or end > start
    except TypeError:  # one without an offset: the server reads it as invalid anyway
        return False


def _follow(body):
    # Exactly one thing followed: a case, a region, or a point (`lat` and `lon`) with `radius_m`.
    if not isinstance(body, dict):
        return True
    point = body.get("lat") is not None or body.get("lon") is not None
    given = [body.get("case") is not None, body.get("region") is not None, point]
    if sum(given) != 1:
        return False
    if not point:
        return body.get("radius_m") is None  # a radius belongs to a point
    return body.get("radius_m") is not None or body.get("lat") is None or body.get("lon") is None


def _notice_settings(body):
    # Quiet hours have both ends or neither; each channel is chosen once per kind; choosing
    # e-mail needs an address. (A channel the platform does not send is a 409, not a refusal.)
    if not isinstance(body, dict) or not isinstance(body.get("settings"), dict):
        return True
    s = body["settings"]
    if (s.get("quiet_from") is None) != (s.get("quiet_to") is None):
        return False
    channels = s.get("channels")
    if isinstance(channels, dict):
        for chosen in channels.values():
            if isinstance(chosen, list) and len(chosen) != len(set(map(str, chosen))):
                return False
        wants_email = any(isinstance(c, list) and "email" in c for c in channels.values())
        if wants_email and not str(body.get("email") or "").strip():
            return False
    return True


def _participation(case):
    # An article leaves the feed after it appears (`expires_at` after `publish_at`, or now); a
    # consultation closes after it opens (or now), within 180 days; a body of HTML holds some
    # text once sanitised (left to the browser tests: positive cases send plain text); only an
    # accepted proposal names a case; a native is invited to a consultation or a proposal.
    body = case.body if isinstance(case.body, dict) else {}
    path, method = case.operation.path, case.operation.method.lower()
    now = datetime.now().astimezone()

    def later(end_key, start_key, days=None):
        if body.get(end_key) is None:
            return True
        end = _time(body[end_key])
        start = _time(body[start_key]) if body.get(start_key) is not None else now
        try:
            if end is None or start is None:
                return True
            return end > start and (days is None or (end - start).total_seconds() <= days * 86400)
        except TypeError:
            return False

    if path in ("/articles", "/articles/{id}") and method in ("post", "put"):
        return "<" not in str(body.get("body", "")) and later("expires_at", "publish_at")
    if path == "/consultations" and method == "post":
        return "<" not in str(body.get("body", "")) and later("closes_at", "opens_at", 180)
    if path == "/natives/{id}/invitations":
        return (body.get("consultation") is None) != (body.get("proposal") is None)
    if path == "/proposals/{id}/answer":
        return body.get("decision") != "decline" or not str(body.get("case") or "").strip()
    return True


def _point_rules(body):
    """Each rule names a category or an urgency, and no two the same pair (points/rules)."""
    if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
        return True
    seen = set()
    for r in body["rules"]:
        if not isinstance(r, dict):
            return True
        key = (r.get("category"), r.get("urgency"))
        if key == (None, None) or key in seen:
            return False
        seen.add(key)
    return True


def _award_fields(body):
    """An award names only the fields of its kind (utoipa cannot say so of a tagged enum's variants)."""
    award = body.get("award") if isinstance(body, dict) else None
    if not isinstance(award, dict):
        return True
    allowed = {"volunteer_hours": {"kind", "hours", "note"}, "consultation": {"kind", "note"}, "adjustment": {"kind", "points", "note"}}
    return set(award) <= allowed.get(award.get("kind"), set(award))


def _award(body):
    """A correction is never 0 points, and its note says something (people/{id}/points)."""
    award = body.get("award") if isinstance(body, dict) else None
    if not isinstance(award, dict):
        return True
    note = award.get("note")
    if award.get("kind") == "adjustment" and (award.get("points") == 0 or not str(note or "").strip()):
        return False
    return note is None or bool(str(note).strip())


def _teams(case):
    # A member is named by a phone or a login, one of them.
    body = case.body if isinstance(case.body, dict) else {}
    path, method = case.operation.path, case.operation.method.lower()
    if path == "/teams/{id}/members" and method == "post":
        joined = body.get("joined")
        if joined is not None and _time(f"{joined}T12:00:00+08:00") is None:
            return False
        return (body.get("phone") is None) != (body.get("login") is None)
    return True


def _campaign(case):
    # A campaign ends on or after its first day, within 366 days, not in the past; its tasks fall
    # due within its period; it selects kinds of place or rental houses (POST /campaigns). Random
    # dates almost never make such a period, so a generated body gets one here (from today for
    # 30 days, due on the last), and rental houses when it names no kind.
    if case.operation.path != "/campaigns" or case.operation.method.lower() != "post":
        return
    if not isinstance(case.body, dict):
        return
    today = datetime.now().astimezone().date()
    case.body["starts_at"] = today.isoformat()
    case.body["ends_at"] = (today + timedelta(days=30)).isoformat()
    if "due_at" in case.body:
        case.body["due_at"] = None
    if not case.body.get("kinds"):
        case.body["houses"] = True


def _months(case):
    # The teams' measures run from a month to a later one, at most 36 (GET /teams/measures):
    # random `YYYY-MM` strings rarely make such a span, so a generated query gets this year's.
    if case.operation.path == "/teams/measures" and isinstance(case.query, dict):
        year = datetime.now().year
        if "from" in case.query:
            case.query["from"] = f"{year}-01"
        if "to" in case.query:
            case.query["to"] = f"{year}-12"


def _service_day(case):
    # Service is logged for a day of the last 90, not ahead (POST /me/service): random dates
    # almost never fall there, so a generated body that names a day gets yesterday.
    if case.operation.path == "/me/service" and isinstance(case.body, dict) and "date" in case.body:
        case.body["date"] = (datetime.now().astimezone().date() - timedelta(days=1)).isoformat()


def _field_work(case):
    # The measures of field work: a period of at most 400 days.
    if case.operation.path != "/field-work/measures" or not isinstance(case.query, dict):
        return True
    start, end = _time(case.query.get("from")), _time(case.query.get("to"))
    if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
        return True
    return (end - start).total_seconds() <= 400 * 86400


# `filter_case` runs in every phase (coverage, fuzzing, stateful), unlike `filter_query`.
@schemathesis.hook
def filter_case(context, case):
    return (
        _period_in_order(case.query)
        and _deadlines_in_order(case.body)
        and _place(case.query)
        and _place(case.body)
        and _place_required(case)
        and (case.operation.path != "/assignments" or (_assignment(case.body) and _assignment_period(case.body)))
        and (not case.operation.path.startswith("/calendars/") or _calendar(case.body))
        and (not case.operation.path.endswith("/attributes") or _attributes(case.body))
        and _grants(case)
        and (not case.operation.path.startswith("/departments") or _community_team(case.body))
        and (case.operation.path != "/follows" or _follow(case.body))
        and (case.operation.path != "/me/notices" or _notice_settings(case.body))
        and _participation(case)
        and (case.operation.path != "/points/rules" or _point_rules(case.body))
        and (not case.operation.path.endswith("/points") or (_award(case.body) and _award_fields(case.body)))
        and _teams(case)
        and _field_work(case)
    )


@schemathesis.hook
def map_case(context, case):
    _campaign(case)
    _service_day(case)
    _months(case)
    # Photos as images (see PNG above).
    if case.media_type == "multipart/form-data" and isinstance(case.body, dict):
        for name in ("file", "photo", "photos"):
            if name in case.body:
                value = case.body[name]
                case.body[name] = [PNG for _ in value] if isinstance(value, list) else PNG
    return case


# In the stateful phase a step's body may take values from an earlier answer (a link) after the
# filters above ran: a community team may arrive without its region. Such a body is made valid
# here, just before it is sent, rather than sent as "valid data" it is not.
@schemathesis.hook
def before_call(context, case, **kwargs):
    if case.operation.path.startswith("/departments") and not _community_team(case.body):
        case.body["kind"] = "government"
    _campaign(case)
    _service_day(case)
    _months(case)
