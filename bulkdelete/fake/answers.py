"""The fake server's answer bodies, encoded once, and the check of a delete request's body."""

from __future__ import annotations

import json
from typing import Any

from bulkdelete.fake.config import MAX_IDS_PER_REQUEST


def _fail(error: str, code: int) -> bytes:
    return json.dumps({"status": "fail", "error": error, "code": code}).encode()


SUCCESS = b'{"status": "success"}'
UNAUTHORIZED = _fail("Invalid Credentials", 401)
NOT_FOUND = _fail("Not Found", 404)
METHOD_NOT_ALLOWED = _fail("Method Not Allowed", 405)
TOO_MANY = _fail("Too many concurrent requests", 429)
INTERNAL = _fail("Internal Server Error (injected fault)", 500)
FAIL_BODY = _fail("Internal error (injected fault)", 500)
POISON = _fail("Invalid identity in request (poison ID)", 400)
BAD_CONTENT_TYPE = _fail("Content-Type must be application/json", 400)
_BAD_JSON = _fail("Request body is not valid JSON", 400)
_NOT_OBJECT = _fail("Request body must be a JSON object", 400)
_BOTH_KEYS = _fail("Specify either guid or identity, not both", 400)
_NO_KEY = _fail("Missing guid or identity", 400)
_TOO_MANY_IDS = _fail(f"At most {MAX_IDS_PER_REQUEST} identities per request", 400)
_BAD_IDS = _fail("Identities must be non-empty strings without line breaks", 400)
PROFILE_NOT_FOUND = _fail("Profile not found", 404)
LOOKUP_ONE_KEY = _fail("Specify exactly one of identity or objectId", 400)
LOOKUPS_OFF = _fail("Profile lookups are off on this server (--forget-deletes)", 503)
HTML_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
    b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
HUGE_HEAD = b'{"status": "success", "padding": "'
HUGE_CHUNK = b"x" * 65536

# A 200 that promises the whole success body and delivers only its first half.
TRUNCATED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: " + str(len(SUCCESS)).encode() + b"\r\n\r\n" + SUCCESS[:10]
)


def echo_passcode(passcode: str) -> bytes:
    """A poison 400 whose error text quotes the passcode across its 200th character."""
    lead = "Invalid identity in request (poison ID); the request was ".ljust(186, ".")
    headers = json.dumps({"X-CleverTap-Passcode": passcode})
    return _fail(f"{lead}passcode={passcode} headers={headers}", 400)


def parse_ids(raw: bytes) -> list[str] | bytes:
    """The IDs of a delete body, or the 400 body that explains why there are none."""
    try:
        payload: Any = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both
        return _BAD_JSON
    if not isinstance(payload, dict):
        return _NOT_OBJECT
    keys = [key for key in ("guid", "identity") if key in payload]
    if len(keys) != 1:
        return _BOTH_KEYS if keys else _NO_KEY
    value = payload[keys[0]]
    ids: list[Any] = [value] if isinstance(value, str) else value
    if not isinstance(ids, list) or not ids:
        return _BAD_IDS
    if len(ids) > MAX_IDS_PER_REQUEST:
        return _TOO_MANY_IDS
    # join() refuses non-strings; a line break inside an ID (which would corrupt the
    # one-ID-per-line record) shows up as an extra "\n".
    try:
        joined = "\n".join(ids)
    except TypeError:
        return _BAD_IDS
    if "" in ids or "\r" in joined or joined.count("\n") != len(ids) - 1:
        return _BAD_IDS
    return ids
