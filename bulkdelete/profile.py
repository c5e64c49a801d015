"""What a Get User Profile answer says about a deleted profile: gone, present, or unknown
(docs/verify.md).

CleverTap does not document the answer for a profile that does not exist, so "gone" is only
ever the shapes listed here: a success with no (or an empty) ``record``, or a fail body whose
``error`` says the profile is not found — never from a status alone. Anything else that is
not a decisive answer is classified as a delete's answer would be (so the sender retries,
paces and stops on it alike), and once retries are spent it is *unknown*, which is never
counted as gone.
"""

from __future__ import annotations

import enum
import json
import re

from bulkdelete.answer import Outcome, Result, classify


class Verdict(enum.Enum):
    GONE = "gone"
    PRESENT = "present"
    UNKNOWN = "unknown"


GONE = Result(Outcome.SUCCESS, Verdict.GONE.value, 200)
PRESENT = Result(Outcome.SUCCESS, Verdict.PRESENT.value, 200)

_NOT_FOUND = re.compile(r"not found|does not exist|no such|no user|no profile|not exist",
                        re.IGNORECASE)
# A fail body under these statuses is about the request or the server, not the profile.
_NOT_ABOUT_THE_PROFILE = (401, 403, 429)


def classify_profile(
    status: int, body: bytes, retry_after: float | None = None, *, hide: tuple[str, ...] = ()
) -> Result:
    """Map a whole lookup answer to a :class:`Result`: SUCCESS with reason ``gone`` or
    ``present`` when it decides, else what :func:`~bulkdelete.answer.classify` says."""
    payload: object = None
    try:
        payload = json.loads(body) if body else None
    except (ValueError, RecursionError):
        payload = None
    if isinstance(payload, dict):
        state = payload.get("status")
        if state == "success" and 200 <= status < 300:
            record = payload.get("record")
            empty = record is None or (isinstance(record, dict | list | str) and not record)
            return (GONE if empty else PRESENT) if status == 200 else _at(status, empty)
        if (state == "fail" and status not in _NOT_ABOUT_THE_PROFILE and status < 500
                and isinstance(payload.get("error"), str)
                and _NOT_FOUND.search(payload["error"])):
            return Result(Outcome.SUCCESS, Verdict.GONE.value, status)
    return classify(status, body, retry_after, hide=hide)


def _at(status: int, empty: bool) -> Result:
    """A success under another 2xx status: decided the same, with that status kept."""
    return Result(Outcome.SUCCESS, (Verdict.GONE if empty else Verdict.PRESENT).value, status)


def verdict(result: Result) -> Verdict:
    """Gone or present only from a decisive answer; anything else — rejected, throttled,
    retries spent, unreachable — is unknown."""
    if result.outcome is Outcome.SUCCESS:
        if result.reason == Verdict.GONE.value:
            return Verdict.GONE
        if result.reason == Verdict.PRESENT.value:
            return Verdict.PRESENT
    return Verdict.UNKNOWN
