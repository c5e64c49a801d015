"""One API call, one classified result: the only module that speaks HTTP to CleverTap.

Every answer — and every way of not getting one — maps to exactly one :class:`Outcome`
(docs/guarantees.md §6), so the engine never inspects status codes or bodies itself:

============  ==========================================================================
SUCCESS       200 with ``{"status": "success"}``
THROTTLED     429, or a 2xx-with-fail body whose ``code`` is 429 (paced, not a retry)
RETRYABLE     5xx, timeouts, resets, cut-off or unparseable answers, answers over 64 KiB
              (read no further, so memory stays bounded), 2xx-with-fail whose ``code`` is
              5xx or missing
REJECTED      400 and other 4xx about the request, a 2xx-with-fail with a 4xx ``code``
FATAL         401/403 (credentials, permissions), 404 (wrong URL), redirects, TLS failure
UNREACHED     no connection was made: refused, DNS, unreachable network (aiohttp's
              connector errors other than TLS) — the server never saw the request, so it
              pauses the run and never fails an ID
============  ==========================================================================

A reset is RETRYABLE, not UNREACHED, even when it hits a reused connection before the
answer: a small request is handed to the kernel whole, so aiohttp cannot tell a reset before
the server read it from one after, and the request may have run. Timeouts are RETRYABLE for
the same reason.

``Result.reason`` is short and ID-free (it goes into logs, the checkpoint and the report);
``Result.detail`` carries the server's own error text, which may quote an ID, and is only
ever written beside the failed file; every form of the passcode is masked out of it before
it is shortened (:mod:`bulkdelete.redact`).
"""

from __future__ import annotations

import asyncio
import enum
import json
import os
import socket
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import aiohttp

from bulkdelete.redact import secret_forms, shorten
from bulkdelete.regions import DELETE_PATH
from bulkdelete.settings import IdType, Secret

MAX_RETRY_AFTER = 300.0  # docs/guarantees.md §5: honour Retry-After, capped at 5 minutes
_DETAIL_LIMIT = 200
MAX_BODY = 64 * 1024  # read no further: a longer answer is RETRYABLE, memory stays bounded


class Outcome(enum.Enum):
    SUCCESS = "success"
    THROTTLED = "throttled"
    RETRYABLE = "retryable"
    REJECTED = "rejected"
    FATAL = "fatal"
    UNREACHED = "unreached"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    reason: str
    status: int | None = None
    detail: str = ""
    retry_after: float | None = None


SUCCESS = Result(Outcome.SUCCESS, "ok", 200)


class Deleter(Protocol):
    """What deleting needs from the API: delete these IDs, say what happened.

    Implementations never raise for an answer or a network failure; they classify it.
    """

    async def delete(self, ids: Sequence[str]) -> Result: ...


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (either delta-seconds or an HTTP date), capped at 5 min."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


# What json.dumps escapes: control characters, the quote and the backslash.
_JSON_ESCAPED = bytes(range(0x20)) + b'"\\'

_PLAIN_SUCCESS = frozenset({b'{"status":"success"}', b'{"status": "success"}'})


def classify(
    status: int, body: bytes, retry_after: float | None = None, *, hide: tuple[str, ...] = ()
) -> Result:
    """Map a complete HTTP answer to a :class:`Result` (pure, so it is unit-tested alone).

    ``hide`` is :func:`bulkdelete.redact.secret_forms` of the passcode: masked out of the
    server's text before it is shortened into ``detail``."""
    if status == 200 and body in _PLAIN_SUCCESS:  # the common answer, without a JSON parse
        return SUCCESS
    payload: object = None
    try:
        payload = json.loads(body) if body else None
    except (ValueError, RecursionError):  # garbage, including absurdly nested garbage
        payload = None
    parsed = isinstance(payload, dict)
    error = ""
    code: int | None = None
    if isinstance(payload, dict):
        err = payload.get("error")
        if err is not None:
            # A non-string error is written as JSON, so the passcode inside it takes one
            # of the forms the scrub knows (str() would give Python's own escaping).
            text = err if isinstance(err, str) else json.dumps(err, ensure_ascii=False)
            error = shorten(text, hide, _DETAIL_LIMIT)
        raw_code = payload.get("code")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        elif isinstance(raw_code, str) and raw_code.isdigit():
            code = int(raw_code)

    if 200 <= status < 300:
        if isinstance(payload, dict):
            state = payload.get("status")
            if state == "success":
                return Result(Outcome.SUCCESS, "ok", status)
            if state == "fail":
                return _classify_code(code, status, error, retry_after)
        return Result(
            Outcome.RETRYABLE, f"HTTP {status} with an unrecognised body", status,
            shorten(body.decode("utf-8", "replace"), hide, _DETAIL_LIMIT),
        )
    if status == 429:
        return Result(Outcome.THROTTLED, "HTTP 429 throttled", status, error, retry_after)
    if status in (401, 403):
        what = "invalid credentials or URL" if status == 401 else "operation not allowed"
        return Result(Outcome.FATAL, f"HTTP {status} {what}", status, error)
    if status in (404, 405):
        return Result(
            Outcome.FATAL, f"HTTP {status}: no delete endpoint here (check --region/--base-url)",
            status, error,
        )
    if 300 <= status < 400:
        return Result(
            Outcome.FATAL, f"HTTP {status} redirect (check --region/--base-url)", status, error
        )
    if status == 408 or status >= 500:
        kind = "" if parsed else " (non-JSON body)"
        return Result(Outcome.RETRYABLE, f"HTTP {status}{kind}", status, error, retry_after)
    # 400 and the remaining 4xx: the request as sent is refused; bisection isolates why.
    suffix = f" (code {code})" if code is not None and code != status else ""
    return Result(Outcome.REJECTED, f"HTTP {status} rejected{suffix}", status, error)


def _classify_code(
    code: int | None, status: int, error: str, retry_after: float | None
) -> Result:
    where = f"HTTP {status} with fail body"
    if code is None:
        return Result(Outcome.RETRYABLE, f"{where} (no code)", status, error)
    if code == 429:
        return Result(Outcome.THROTTLED, f"{where} code 429", status, error, retry_after)
    if code in (401, 403):
        return Result(Outcome.FATAL, f"{where} code {code}", status, error)
    if 400 <= code < 500:
        return Result(Outcome.REJECTED, f"{where} code {code}", status, error)
    return Result(Outcome.RETRYABLE, f"{where} code {code}", status, error)


async def _read_rest(content: aiohttp.StreamReader, head: bytes) -> bytes:
    """The rest of an answer that did not come in one piece, stopping one byte past
    MAX_BODY: each read asks only for what is still allowed."""
    parts = [head]
    size = len(head)
    while size <= MAX_BODY and not content.at_eof():
        part = await content.read(MAX_BODY + 1 - size)
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _unreached(exc: aiohttp.ClientConnectorError) -> Result:
    """No connection was made (refused, DNS, unreachable network), so no request left:
    the one failure that may pause a run without spending an ID."""
    err = exc.os_error
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(err, socket.gaierror):
        why = f"DNS lookup failed: {err.strerror or err}"
    elif err.errno and err.errno > 0:
        why = os.strerror(err.errno)  # "Connection refused", without asyncio's address tuple
    else:
        why = err.strerror or str(err) or type(err).__name__
    host = f"[{exc.host}]" if ":" in exc.host else exc.host  # an IPv6 literal
    return Result(Outcome.UNREACHED, f"cannot connect to {host}:{exc.port} ({why[:120]})")


class ClevertapClient:
    """Sends one delete request per call over a caller-owned :class:`aiohttp.ClientSession`.

    The session is injected so tests can point it anywhere and so one connection pool
    serves the whole run. The passcode is revealed only into the header mapping.
    """

    __slots__ = ("_headers", "_hide", "_id_type", "_prefix", "_timeout", "_url")

    def __init__(
        self,
        *,
        base_url: str,
        account_id: str,
        passcode: Secret,
        id_type: IdType,
        timeout: float,
    ) -> None:
        self._url = base_url.rstrip("/") + DELETE_PATH
        self._id_type = id_type
        self._prefix = f'{{"{id_type}":["'.encode()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = {
            "X-CleverTap-Account-Id": account_id,
            "X-CleverTap-Passcode": passcode.reveal(),
            "Content-Type": "application/json; charset=utf-8",
        }
        # A proxy that echoes request headers must not carry the passcode, or a piece of
        # it, into the failed file's reasons.
        self._hide = secret_forms(passcode.reveal())

    def __repr__(self) -> str:  # never show the headers: they hold the passcode
        return f"ClevertapClient(url={self._url!r}, id_type={self._id_type!r})"

    def bind(self, session: aiohttp.ClientSession) -> BoundClient:
        return BoundClient(self, session)

    def body(self, ids: Sequence[str]) -> bytes:
        """``{"<id_type>": [...]}`` as UTF-8 JSON, as ``json.dumps(ensure_ascii=False)``
        would write it. That escapes only quotes, backslashes and control characters, so
        for IDs without any, joining them is the same document, built far more cheaply.
        One ``bytes.translate`` finds any of them (the joins' own quotes are expected)."""
        joined = '","'.join(ids).encode()
        if len(joined) - len(joined.translate(None, _JSON_ESCAPED)) != 2 * (len(ids) - 1):
            return json.dumps({self._id_type: list(ids)}, ensure_ascii=False).encode()
        return self._prefix + joined + b'"]}'

    async def delete_with(self, session: aiohttp.ClientSession, ids: Sequence[str]) -> Result:
        body = self.body(ids)
        try:
            async with session.post(
                self._url,
                data=body,
                headers=self._headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                # At most MAX_BODY + 1 bytes, so memory is bounded whatever a server
                # sends. A whole small answer is one read that ends at the EOF.
                content = response.content
                payload = await content.read(MAX_BODY + 1)
                if not content.at_eof():
                    payload = await _read_rest(content, payload)
                if response.status == 200 and payload in _PLAIN_SUCCESS:
                    return SUCCESS  # the common answer: nothing to parse or scrub
                if len(payload) > MAX_BODY:
                    # Leaving the block with the body unread closes the connection rather
                    # than draining it back into the pool.
                    return Result(Outcome.RETRYABLE, "answer over 64 KiB", response.status)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                return classify(response.status, payload, retry_after, hide=self._hide)
        except TimeoutError:
            return Result(Outcome.RETRYABLE, f"timeout after {self._timeout.total:g}s")
        except aiohttp.ClientConnectorCertificateError:
            return Result(Outcome.FATAL, "TLS certificate verification failed")
        except aiohttp.ClientSSLError:
            return Result(Outcome.FATAL, "TLS handshake failed")
        except aiohttp.ClientPayloadError:
            return Result(Outcome.RETRYABLE, "answer cut off")
        except aiohttp.ServerDisconnectedError:
            return Result(Outcome.RETRYABLE, "connection reset")
        except aiohttp.ClientConnectorError as exc:  # TLS failures, its subclasses, are above
            return _unreached(exc)
        except (aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError) as exc:
            return Result(Outcome.RETRYABLE, f"network error ({type(exc).__name__})")


class BoundClient:
    """A :class:`ClevertapClient` plus its session: satisfies :class:`Deleter`."""

    __slots__ = ("_client", "_session")

    def __init__(self, client: ClevertapClient, session: aiohttp.ClientSession) -> None:
        self._client = client
        self._session = session

    def delete(self, ids: Sequence[str]) -> Coroutine[Any, Any, Result]:
        # Hands back delete_with's coroutine rather than awaiting it in one more: a frame
        # less on every resumption of every request.
        return self._client.delete_with(self._session, ids)
