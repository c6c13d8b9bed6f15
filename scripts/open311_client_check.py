"""Drives gridkeeper's Open311 server with the independent `georeport` client, in JSON and XML.

Usage: open311_client_check.py BASE_URL API_KEY SERVICE_CODE

The key must answer POST requests with a token (gridkeeper open311 key add --respond token), and
SERVICE_CODE must have a required `depth` number attribute and at least one closed request.
Exits non-zero at the first check that fails.
"""

import datetime
import sys

import requests
import xmltodict
from georeport import GeoReport

base, key, code = sys.argv[1:4]
root = base.rstrip("/") + "/open311/v2"
checks = 0


def check(ok, what):
    global checks
    if not ok:
        raise SystemExit(f"open311 client check failed: {what}")
    checks += 1


def as_list(x):
    """xmltodict gives a dict for one child element and a list for several."""
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def w3c(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


for fmt in ("json", "xml"):
    client = GeoReport(root, output_format=fmt)

    services = as_list(client.get_service_list())
    codes = [s["service_code"] for s in services]
    check(code in codes, f"{fmt}: services list {code}: {codes}")
    service = next(s for s in services if s["service_code"] == code)
    check(str(service["metadata"]).lower() == "true", f"{fmt}: {code} has metadata")

    definition = client.get_service_definition(code)
    check(definition["service_code"] == code, f"{fmt}: definition of {code}")
    attributes = definition["attributes"]
    attributes = as_list(attributes["attribute"]) if fmt == "xml" else attributes
    depth = next(a for a in attributes if a["code"] == "depth")
    check(str(depth["required"]).lower() == "true" and depth["datatype"] == "number", f"{fmt}: depth attribute {depth}")

    # georeport cannot post: a plain form post, as the spec describes it.
    form = {
        "api_key": key,
        "service_code": code,
        "lat": "30.005",
        "long": "120.005",
        "description": f"open311 client check ({fmt})",
        "attribute[depth]": "2.5",
    }
    r = requests.post(f"{root}/requests.{fmt}", data=form, timeout=10)
    check(r.status_code == 200, f"{fmt}: post answered {r.status_code}: {r.text}")
    posted = r.json()[0] if fmt == "json" else xmltodict.parse(r.content)["service_requests"]["request"]
    token = posted.get("token")
    check(token and not posted.get("service_request_id"), f"{fmt}: post answers a token only: {posted}")

    # Nor can it resolve a token: plain GET tokens/{token}.
    r = requests.get(f"{root}/tokens/{token}.{fmt}", timeout=10)
    check(r.status_code == 200, f"{fmt}: token lookup answered {r.status_code}")
    found = r.json()[0] if fmt == "json" else xmltodict.parse(r.content)["service_requests"]["request"]
    request_id = found["service_request_id"]
    check(found["token"] == token and request_id, f"{fmt}: token resolves to an id: {found}")

    one = client.get_service_request(request_id)
    check(one["service_request_id"] == request_id, f"{fmt}: request by id")
    check(one["status"] == "open" and one["service_code"] == code, f"{fmt}: new request is open, of {code}: {one}")

    now = datetime.datetime.now(datetime.timezone.utc)
    window = {"start_date": w3c(now - datetime.timedelta(days=1)), "end_date": w3c(now + datetime.timedelta(minutes=5))}
    open_ones = as_list(client.get_service_requests(service_code=code, status="open", **window))
    check(request_id in [x["service_request_id"] for x in open_ones], f"{fmt}: query by code, date and status=open")
    check(all(x["status"] == "open" and x["service_code"] == code for x in open_ones), f"{fmt}: only open {code}")
    closed = as_list(client.get_service_requests(service_code=code, status="closed", **window))
    check(closed and request_id not in [x["service_request_id"] for x in closed], f"{fmt}: status=closed excludes it")
    check(all(x["status"] == "closed" for x in closed), f"{fmt}: only closed ones")
    before = {"start_date": w3c(now - datetime.timedelta(days=60)), "end_date": w3c(now - datetime.timedelta(days=30))}
    r = requests.get(f"{root}/requests.{fmt}", params=dict(service_code=code, **before), timeout=10)
    check(r.status_code == 200 and request_id not in r.text, f"{fmt}: a window before the request excludes it")

print(f"{checks} passed, 0 failed")
