"""What a Get User Profile answer says of a deleted profile: gone, present or unknown
(docs/verify.md). The answer for a missing profile is undocumented, so "gone" is narrow: an
empty success, or a 200 fail whose error opens with "user/profile not found". Anything else
is classified as a delete's answer (retried, paced) and, once retries are spent, unknown.
"""

from __future__ import annotations

import enum
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

from bulkdelete.answer import Outcome, Result, classify, fail_code, fail_outcome, json_object
from bulkdelete.redact import shorten


class Verdict(enum.Enum):
    GONE = "gone"
    PRESENT = "present"
    UNKNOWN = "unknown"


ID_MASK = "<ID>"
_SHAPE_ERROR_LIMIT = 120


def _shape(**fields: Any) -> str:
    return json.dumps({"http": 200, **fields}, sort_keys=True, ensure_ascii=False)


def _gone(detail: str) -> Result:
    return Result(Outcome.SUCCESS, Verdict.GONE.value, 200, detail)


GONE = _gone(_shape(status="success", record="absent"))  # the bare {"status": "success"}
PRESENT = Result(Outcome.SUCCESS, Verdict.PRESENT.value, 200)
UNCLEAR_RECORD = Result(Outcome.SUCCESS, "HTTP 200 success with an unclear record", 200)

# A phrase about the user or the profile; the looked-up ID, masked first, may stand in it.
_SUBJECT = r"(?:user|profile)s?"
_THE_ID = rf"(?:\s+['\"]?{re.escape(ID_MASK)}['\"]?)?"
# The phrase opens the text or one of its sentences or labelled parts ("Error: ...",
# "E404 - ..."), after quotes or brackets and "the", "this" or "that": "API user not found"
# or "Required parameter user not found" is about something else than the profile.
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
    hide: tuple[str, ...] = (), ident: str = "",
) -> Result:
    """SUCCESS with reason ``gone`` or ``present`` when the answer decides, else what
    :func:`~bulkdelete.answer.classify` says; ``ident`` is masked out of a gone shape."""
    payload = json_object(body)
    if status == 200 and payload is not None:
        state = payload.get("status")
        if state == "success":
            return _success(payload)
        if state == "fail":
            shape = _not_found(payload, hide, ident)
            if shape is not None:
                return _gone(shape)
    return classify(status, body, retry_after, hide=hide)


def _success(payload: dict[str, Any]) -> Result:
    record = payload.get("record")
    if isinstance(record, dict | list) and record:
        return PRESENT
    # A record of "" or a number says nothing either way; another key carrying a profile
    # (say "records") means the answer is not an empty one.
    empty = "record" not in payload or record in (None, {}, [])
    if not empty or any(isinstance(value, dict | list) and value
                        for key, value in payload.items() if key not in ("status", "record")):
        return UNCLEAR_RECORD
    if "record" not in payload:
        return GONE
    return _gone(_shape(status="success", record=json.dumps(record)))


def _not_found(payload: dict[str, Any], hide: tuple[str, ...], ident: str) -> str | None:
    error = payload.get("error")
    if not isinstance(error, str):
        return None
    # A code, when there is one, must be one the delete reads as a refusal of what was
    # asked (a 4xx other than 401, 403 or 429), not about the request or the server.
    raw = payload.get("code")
    code = fail_code(raw)
    if raw is not None and fail_outcome(code) is not Outcome.REJECTED:
        return None
    text = mask_id(error, ident)
    if not _NOT_FOUND.search(" ".join(text.split())):
        return None
    return _shape(status="fail", code=code, error=shorten(text, hide, _SHAPE_ERROR_LIMIT))


def mask_id(text: str, ident: str) -> str:
    """``text`` with the ID (raw, JSON-escaped or percent-encoded, in any case) replaced by
    ``<ID>`` where it stands on its own: a short ID inside a word ("u" in "User") is left,
    so the phrase around it stays whole."""
    if not ident:
        return text
    forms = {ident, json.dumps(ident)[1:-1], quote(ident, safe=""), quote_plus(ident, safe="")}
    pattern = "|".join(map(re.escape, sorted(forms, key=len, reverse=True)))
    # Not beside a letter or digit; beside "_" or punctuation is on its own ("user_<ID>").
    return re.sub(rf"(?<![^\W_])(?:{pattern})(?![^\W_])", ID_MASK, text, flags=re.IGNORECASE)


def gone_shape(result: Result) -> dict[str, Any]:
    try:
        shape = json.loads(result.detail)
    except ValueError:
        shape = None
    return shape if isinstance(shape, dict) else {"http": result.status}


def verdict(result: Result) -> Verdict:
    if result.outcome is Outcome.SUCCESS:
        if result.reason == Verdict.GONE.value:
            return Verdict.GONE
        if result.reason == Verdict.PRESENT.value:
            return Verdict.PRESENT
    return Verdict.UNKNOWN
