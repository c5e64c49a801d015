"""The fake server's answers: the bodies, the check of a delete's body, Get User Profile's
answers, and the faults that are no clean answer. A reset or cut-off answer records nothing."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import time
from typing import Any

from aiohttp import web

from bulkdelete.fake.config import (
    MAX_IDS_PER_REQUEST,
    FakeServerConfig,
    FakeServerStats,
    names_a_profile,
)

SUCCESS = b'{"status": "success"}'
# A 200 that promises the whole success body and delivers only its first half.
TRUNCATED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: " + str(len(SUCCESS)).encode() + b"\r\n\r\n" + SUCCESS[:10]
)
HTML_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
    b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
HUGE_CHUNK = b"x" * 65536
UNCLEAR = "Internal error (injected fault)"


def fail(error: str, code: int, status: int | None = None) -> web.Response:
    """A fail body, sent with HTTP status ``code`` unless ``status`` says otherwise."""
    body = json.dumps({"status": "fail", "error": error, "code": code}).encode()
    return web.Response(body=body, status=status or code, content_type="application/json")


# A delete's body key names the lookup key whose profiles it marks: namespaces apart.
LOOKUP_KEY = {"guid": "objectId", "identity": "identity"}


def parse_ids(raw: bytes) -> tuple[str, list[str]] | str:
    """A delete body's lookup key (:data:`LOOKUP_KEY`) and IDs, or the error text of the 400
    that explains why there are none."""
    try:
        payload: Any = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both
        return "Request body is not valid JSON"
    if not isinstance(payload, dict):
        return "Request body must be a JSON object"
    keys = [key for key in ("guid", "identity") if key in payload]
    if len(keys) != 1:
        return "Specify either guid or identity, not both" if keys else "Missing guid or identity"
    value = payload[keys[0]]
    ids: list[Any] = [value] if isinstance(value, str) else value
    bad = "Identities must be non-empty strings without line breaks"
    if not isinstance(ids, list) or not ids:
        return bad
    if len(ids) > MAX_IDS_PER_REQUEST:
        return f"At most {MAX_IDS_PER_REQUEST} identities per request"
    # join() refuses non-strings; a line break inside an ID (which would corrupt the
    # one-ID-per-line record) shows up as an extra "\n".
    try:
        joined = "\n".join(ids)
    except TypeError:
        return bad
    if "" in ids or "\r" in joined or joined.count("\n") != len(ids) - 1:
        return bad
    return LOOKUP_KEY[keys[0]], ids


class ProfileBook:
    """Get User Profile: every ID names a profile (:func:`names_a_profile`) until its delete
    under that key is acknowledged, and is gone ``purge_delay`` later; re-created IDs stay
    present, unclear ones get a fail body. Never existed and gone answer alike, as at the
    API: one not-found answer."""

    def __init__(self, stats: FakeServerStats) -> None:
        self._stats = stats
        self._deleted_at: dict[tuple[str, str], float] = {}  # (lookup key, ID) -> when

    def deleted(self, key: str, ids: list[str]) -> None:
        now = time.monotonic()
        for ident in ids:
            self._deleted_at.setdefault((key, ident), now)

    def answer(self, request: web.BaseRequest, config: FakeServerConfig) -> web.Response:
        """The answer to an admitted lookup, or a 400 for a malformed one."""
        query = request.query
        keys = [key for key in ("identity", "objectId") if key in query]
        if len(keys) != 1 or len(query) != 1 or not (ident := query[keys[0]]):
            return fail("Specify exactly one of identity or objectId", 400)
        if config.keep_ids:
            self._stats.looked_up[ident] += 1
        if not config.remember_deletes:
            return fail("Profile lookups are off on this server (--forget-deletes)", 503)
        if ident in config.unclear_ids:
            return fail(UNCLEAR, 500, 200)
        deleted_at = self._deleted_at.get((keys[0], ident))
        if ident in config.recreated_ids or (
                names_a_profile(config, keys[0], ident) and (
                    deleted_at is None or time.monotonic() - deleted_at < config.purge_delay)):
            record = {keys[0]: ident, "profileData": {}}
            body = json.dumps({"status": "success", "record": record}).encode()
            return web.Response(body=body, content_type="application/json")
        return fail("Profile not found", 404, 200)


async def huge_body(request: web.BaseRequest, size: int) -> web.StreamResponse:
    """``size`` bytes (0: endless) until the client hangs up; never recorded."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    sent = 0
    with contextlib.suppress(ConnectionError):  # the client stopped reading and left
        await response.write(b'{"status": "success", "padding": "')
        while not size or sent < size:
            await response.write(HUGE_CHUNK)
            sent += len(HUGE_CHUNK)
        await response.write_eof()
    return response


def cut_off(request: web.BaseRequest, *, reset: bool) -> None:
    """A TCP reset, or a 200 promising more body than follows; never recorded."""
    transport = request.transport
    if transport is None:
        return
    if reset:
        # Linger 0 turns close into a TCP RST: a real "connection reset by peer".
        with contextlib.suppress(OSError):
            transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        # Bypass aiohttp's writer; close() (unlike abort) flushes what was written first.
        transport.write(TRUNCATED)
        transport.close()
