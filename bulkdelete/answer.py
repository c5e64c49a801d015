"""What an answer means: each maps to one :class:`Outcome` (docs/guarantees.md §6).

``Result.reason`` is short and ID-free (logs, checkpoint, report); ``Result.detail`` is the
server's own text, which may quote an ID: written only beside the failed file, with the
passcode masked out.
"""

from __future__ import annotations

import enum
import json
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from bulkdelete.redact import shorten

MAX_RETRY_AFTER = 300.0  # docs/guarantees.md §5: honour Retry-After, capped at 5 minutes
_DETAIL_LIMIT = 200


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


def classify(
    status: int, body: bytes, retry_after: float | None = None, *, hide: tuple[str, ...] = ()
) -> Result:
    """``hide``: :func:`bulkdelete.redact.secret_forms` of the passcode, masked out of
    ``detail``."""
    payload = json_object(body)
    error = ""
    code: int | None = None
    if payload is not None:
        error = _error_text(payload.get("error"), hide)
        code = fail_code(payload.get("code"))

    if 200 <= status < 300:
        if payload is not None:
            state = payload.get("status")
            if state == "success":
                return _success(status, payload)
            if state == "fail":
                outcome = fail_outcome(code)
                which = "(no code)" if code is None else f"code {code}"
                return Result(outcome, f"HTTP {status} with fail body {which}", status, error,
                              retry_after if outcome is Outcome.THROTTLED else None)
        return Result(
            Outcome.RETRYABLE, f"HTTP {status} with an unrecognised body", status,
            shorten(body.decode("utf-8", "replace"), hide, _DETAIL_LIMIT),
        )
    if status == 429:
        return Result(Outcome.THROTTLED, "HTTP 429 throttled", status, error, retry_after)
    if status in (401, 403):
        what = "invalid credentials or URL" if status == 401 else "operation not allowed"
        return Result(Outcome.FATAL, f"HTTP {status} {what}", status, error)
    if status in (404, 405) or 300 <= status < 400:  # the address is wrong
        what = " redirect" if status < 400 else ": no API endpoint here"
        return Result(Outcome.FATAL, f"HTTP {status}{what} (check --region/--base-url)",
                      status, error)
    # No valid final answer has a status below 200 (aiohttp passes on a "000"): it says
    # nothing about the request, like a server error.
    if status == 408 or status >= 500 or status < 200:
        kind = "" if payload is not None else " (non-JSON body)"
        return Result(Outcome.RETRYABLE, f"HTTP {status}{kind}", status, error, retry_after)
    # 400 and the remaining 4xx: the request as sent is refused; bisection isolates why.
    suffix = f" (code {code})" if code is not None and code != status else ""
    return Result(Outcome.REJECTED, f"HTTP {status} rejected{suffix}", status, error)


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; None for anything else, garbage included."""
    try:
        payload = json.loads(body) if body else None
    except (ValueError, RecursionError):  # garbage, including absurdly nested garbage
        return None
    return payload if isinstance(payload, dict) else None


def _error_text(err: object, hide: tuple[str, ...]) -> str:
    if err is None:
        return ""
    if isinstance(err, str):
        return shorten(err, hide, _DETAIL_LIMIT)
    # A non-string error is written as JSON, so the passcode inside it takes one of the
    # forms the scrub knows (str() would give Python's own escaping).
    try:
        text = json.dumps(err, ensure_ascii=False)
    except (ValueError, RecursionError):
        return ""
    return shorten(text, hide, _DETAIL_LIMIT)


_CODE = re.compile(r"[1-9][0-9]{2}")


def fail_code(raw: object) -> int | None:
    """The fail body's ``code`` if a plain status (an int, or three ASCII digits); anything
    else ("²", 5,000 digits, a bool) is no code, so the answer is retryable, not a crash."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 100 <= raw <= 999 else None
    if isinstance(raw, str) and _CODE.fullmatch(raw):
        return int(raw)
    return None


def _success(status: int, payload: dict[str, object]) -> Result:
    """A delete only when it is a 200 leaving no ID unprocessed; anything else is unclear,
    and re-sending is harmless."""
    if status != 200:
        return Result(Outcome.RETRYABLE, f"HTTP {status} success (only 200 is a delete)",
                      status)
    unprocessed = payload.get("unprocessed")
    if unprocessed not in (None, [], {}, ""):
        count = len(unprocessed) if isinstance(unprocessed, list | dict) else 1
        return Result(Outcome.RETRYABLE,
                      f"HTTP 200 success with {count} ID(s) left unprocessed", status)
    return Result(Outcome.SUCCESS, "ok", status)


def fail_outcome(code: int | None) -> Outcome:
    """What a fail body's code says: only a 4xx other than 401, 403 and 429 is about the
    request's content (REJECTED); a missing or server-side code is retryable."""
    if code == 429:
        return Outcome.THROTTLED
    if code in (401, 403):
        return Outcome.FATAL
    if code is not None and 400 <= code < 500:
        return Outcome.REJECTED
    return Outcome.RETRYABLE
