"""What an answer means: one :class:`Outcome` (docs/guarantees.md §6), and for a profile
lookup gone, present or unknown (docs/verify.md). ``reason`` is ID-free; ``detail`` is the
server's text (it may quote an ID: written only beside the failed file, passcode masked)."""

from __future__ import annotations

import enum
import json
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, quote_plus

from bulkdelete.redact import shorten

MAX_RETRY_AFTER = 300.0  # docs/guarantees.md §5: honour Retry-After, capped at 5 minutes
_DETAIL_LIMIT = 200
_SHAPE_ERROR_LIMIT = 120
ID_MASK = "<ID>"


class Outcome(enum.Enum):
    SUCCESS = "success"
    THROTTLED = "throttled"
    RETRYABLE = "retryable"
    REJECTED = "rejected"
    FATAL = "fatal"
    UNREACHED = "unreached"


class Verdict(enum.Enum):
    GONE = "gone"
    PRESENT = "present"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    reason: str
    status: int | None = None
    detail: str = ""
    retry_after: float | None = None


SUCCESS = Result(Outcome.SUCCESS, "ok", 200)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Delta-seconds or an HTTP date, as seconds."""
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
    """``hide``: the passcode's forms (:func:`~bulkdelete.redact.secret_forms`)."""
    payload = _json_object(body)
    fields = payload or {}  # None: no JSON object
    error = _error_text(fields.get("error"), hide)
    code = _fail_code(fields.get("code"))
    if 200 <= status < 300:
        state = fields.get("status")
        if state == "success":
            # Only a 200 leaving no ID unprocessed; re-sending anything else is harmless.
            if status != 200:
                return Result(Outcome.RETRYABLE,
                              f"HTTP {status} success (only 200 is a delete)", status)
            if (unprocessed := fields.get("unprocessed")) not in (None, [], {}, ""):
                count = len(unprocessed) if isinstance(unprocessed, list | dict) else 1
                return Result(Outcome.RETRYABLE,
                              f"HTTP 200 success with {count} ID(s) left unprocessed", status)
            return SUCCESS
        if state == "fail":
            outcome = _fail_outcome(code)
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


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body) if body else None
    except (ValueError, RecursionError):  # garbage, including absurdly nested garbage
        return None
    return payload if isinstance(payload, dict) else None


def _error_text(err: object, hide: tuple[str, ...]) -> str:
    if err is None:
        return ""
    if not isinstance(err, str):
        # As JSON, so the passcode takes a form the scrub knows (not Python's escaping).
        try:
            err = json.dumps(err, ensure_ascii=False)
        except (ValueError, RecursionError):
            return ""
    return shorten(err, hide, _DETAIL_LIMIT)


_CODE = re.compile(r"[1-9][0-9]{2}")


def _fail_code(raw: object) -> int | None:
    """An int or three ASCII digits; anything else ("²", a bool) is no code: retryable."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 100 <= raw <= 999 else None
    if isinstance(raw, str) and _CODE.fullmatch(raw):
        return int(raw)
    return None


def _fail_outcome(code: int | None) -> Outcome:
    if code == 429:
        return Outcome.THROTTLED
    if code in (401, 403):
        return Outcome.FATAL
    if code is not None and 400 <= code < 500:
        return Outcome.REJECTED
    return Outcome.RETRYABLE


# A profile lookup: the answer for a missing profile is undocumented, so "gone" is narrow (an
# empty success, or a 200 fail opening "user/profile not found"); else a delete's answer.
def _gone(**shape: Any) -> Result:
    detail = json.dumps({"http": 200, **shape}, sort_keys=True, ensure_ascii=False)
    return Result(Outcome.SUCCESS, Verdict.GONE.value, 200, detail)


GONE = _gone(status="success", record="absent")  # the bare {"status": "success"}
PRESENT = Result(Outcome.SUCCESS, Verdict.PRESENT.value, 200)

# A phrase about the user or the profile; the looked-up ID, masked first, may stand in it.
_SUBJECT = r"(?:user|profile)s?"
_THE_ID = rf"(?:\s+['\"]?{re.escape(ID_MASK)}['\"]?)?"
# The phrase opens the text, a sentence or a labelled part ("Error: ...", "E404 - ..."):
# "API user not found" or "Required parameter user not found" is about something else.
_OPENS_A_CLAUSE = r"""(?:^|(?<=[.:;!?])|(?<=\s[-–—]))[\s'"(\[]*(?:(?:the|this|that)\s+)?"""
_NOT_FOUND = re.compile(
    rf"{_OPENS_A_CLAUSE}(?:no\s+(?:such\s+)?{_SUBJECT}(?:\s+(?:was|were))?\s+found"
    rf"|no\s+such\s+{_SUBJECT}"
    rf"|{_SUBJECT}{_THE_ID}(?:\s+(?:was|is|has\s+been))?\s+not\s+found"
    rf"|{_SUBJECT}{_THE_ID}\s+(?:does\s+not|doesn't|do\s+not|not)\s+exists?)\b",
    re.IGNORECASE,
)


def classify_profile(
    status: int, body: bytes, retry_after: float | None = None, *,
    hide: tuple[str, ...] = (), ident: str = "", calibration: dict[str, Any] | None = None,
) -> Result:
    """SUCCESS ``gone``/``present`` when the answer decides, else :func:`classify`. With a
    ``calibration`` (this account's answer for an ID that cannot exist, :func:`lookup_shape`),
    a fail body is gone only when it has exactly that shape; without, by the phrase rule."""
    payload = (_json_object(body) if status == 200 else None) or {}
    if payload.get("status") == "success":
        record = payload.get("record")
        if isinstance(record, dict | list) and record:
            return PRESENT
        # A record of "" or a number says nothing; another key with a profile is not empty.
        if record not in (None, {}, []) or any(
                isinstance(value, dict | list) and value
                for key, value in payload.items() if key not in ("status", "record")):
            return Result(Outcome.SUCCESS, "HTTP 200 success with an unclear record", 200)
        if "record" not in payload:
            return GONE
        return _gone(status="success", record=json.dumps(record))
    shape, text = _fail_shape(payload, hide, ident)
    if shape is not None:
        if calibration is not None:
            if {"http": 200, **shape} == calibration:
                return _gone(**shape)
        elif _NOT_FOUND.search(" ".join(text.split())):
            return _gone(**shape)
    return classify(status, body, retry_after, hide=hide)


def _fail_shape(payload: dict[str, Any], hide: tuple[str, ...],
                ident: str) -> tuple[dict[str, Any] | None, str]:
    """A 200 fail body that may say "not found" (an error text, and a code, if any, that a
    delete reads as REJECTED): its shape, and its whole text, the ID masked in both."""
    if payload.get("status") != "fail" or not isinstance(error := payload.get("error"), str):
        return None, ""
    code = _fail_code(raw := payload.get("code"))
    # The code first: masking builds a pattern from the ID, needless for a 429 or a 5xx.
    if raw is not None and _fail_outcome(code) is not Outcome.REJECTED:
        return None, ""
    text = _mask_id(error, ident)
    return {"status": "fail", "code": code,
            "error": shorten(text, hide, _SHAPE_ERROR_LIMIT)}, text


def lookup_shape(status: int, body: bytes, *, hide: tuple[str, ...] = (),
                 ident: str = "") -> dict[str, Any] | None:
    """The not-found shape a lookup's answer can calibrate (a random ID's answer): an empty
    success, or a 200 fail body with no code or a 4xx one; None for any other (present,
    unclear, throttled, an error), which never calibrates."""
    result = classify_profile(status, body, hide=hide, ident=ident)
    if verdict(result) is Verdict.GONE:
        return gone_shape(result)
    if verdict(result) is Verdict.PRESENT or status != 200:
        return None
    shape = _fail_shape(_json_object(body) or {}, hide, ident)[0]
    return None if shape is None else {"http": 200, **shape}


def _mask_id(text: str, ident: str) -> str:
    """The ID (raw, JSON- or percent-encoded, any case) as ``<ID>`` where it stands alone:
    "u" inside "User" is left, so the phrase stays whole."""
    if not ident:
        return text
    forms = {ident, json.dumps(ident)[1:-1], quote(ident, safe=""), quote_plus(ident, safe="")}
    pattern = "|".join(map(re.escape, sorted(forms, key=len, reverse=True)))
    # Not beside a letter or digit; beside "_" or punctuation is on its own ("user_<ID>").
    return re.sub(rf"(?<![^\W_])(?:{pattern})(?![^\W_])", ID_MASK, text, flags=re.IGNORECASE)


def gone_shape(result: Result) -> dict[str, Any]:
    """The shape a "gone" result rests on (only :func:`_gone` makes one)."""
    shape: dict[str, Any] = json.loads(result.detail)
    return shape


def verdict(result: Result) -> Verdict:
    if result.outcome is Outcome.SUCCESS and result.reason in ("gone", "present"):
        return Verdict(result.reason)
    return Verdict.UNKNOWN
