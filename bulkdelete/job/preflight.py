"""The preflight (docs/cli.md): one read-only Get User Profile for a random identity before
anything is written, so wrong credentials or region show up now, not an hour in; its answer,
or a guid job's one more for a random objectId, is the account's not-found calibration."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
import structlog

from bulkdelete.answer import Verdict, verdict
from bulkdelete.checkpoint import Ledger, Progress
from bulkdelete.checkpoint.evidence import Calibration
from bulkdelete.client import ClevertapClient, Outcome, Result
from bulkdelete.engine import AdaptiveLimiter, Sender, StopRequest, race
from bulkdelete.errors import ConfirmationRefused, FatalApiError, StalledError, TooManyErrors
from bulkdelete.logs import utc_timestamp
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")


class Accepted(str):
    """What the confirmation says about the check (a str, as before), and the round trip of
    its answered request in seconds: the dry run's estimate uses it (docs/cli.md)."""

    round_trip: float | None = None


# Answers the sender retries (or, with no connection made, pauses on) before giving up.
_RETRIED = (Outcome.RETRYABLE, Outcome.UNREACHED)


@dataclass(frozen=True, slots=True)
class Checked:
    """What the check found: ``said`` for the confirmation (None: no credential check was
    asked), and this account's not-found answer (docs/verify.md, "Calibration"), or why
    none could be learned (``note``)."""

    said: str | None
    calibration: Calibration | None
    note: str


async def preflight(settings: Settings, stop: StopRequest | None = None) -> str:
    """What the confirmation says about the check; anything but a success or a clear
    not-found raises (exit 3). A stop does not wait for the check: nothing depends on it."""
    said = (await check(settings, stop, calibrate=False)).said
    assert said is not None
    return said


async def check(settings: Settings, stop: StopRequest | None = None, *,
                credentials: bool = True, calibrate: bool = True) -> Checked:
    """The preflight's random identity, and for a guid job one random objectId through the
    same sender: the answer for the job's own key is the calibration. Without
    ``credentials`` (--no-preflight, yet a baseline to take) only that second lookup."""
    stop = stop or StopRequest()
    checked = await race(_check(settings, credentials, calibrate), stop.event)
    if checked is None:
        raise ConfirmationRefused(
            f"stopped ({stop.reason}) during the preflight; nothing was sent")
    return checked


async def _check(settings: Settings, credentials: bool, calibrate: bool) -> Checked:
    # IDs no profile has: the answer is about the credentials, never about a user.
    own_key = "objectId" if settings.id_type == "guid" else "identity"
    keys = ["identity"] if credentials else []
    keys += [own_key] if calibrate and own_key not in keys else []
    # Its own stop event, never set: the caller's stop cancels the whole check instead.
    sender = Sender(settings=settings, limiter=AdaptiveLimiter(1), recorder=Ledger(Progress()),
                    stop=asyncio.Event())
    host = settings.host
    async with aiohttp.ClientSession(raise_for_status=False) as session:
        client = ClevertapClient(base_url=settings.base_url, account_id=settings.account_id,
                                 passcode=settings.passcode, id_type=settings.id_type,
                                 timeout=settings.timeout)
        answers: list[Result] = []
        shapes: list[dict[str, Any] | None] = []
        took: list[float] = []  # each request's round trip: the estimate's pace

        async def request(ids: Sequence[str], key: str) -> Result:
            shapes.clear()  # the last answer's shape, or none when no answer was read
            began = time.monotonic()
            answer = await client.profile_with(session, ids[0], key=key, shapes=shapes)
            took.append(time.monotonic() - began)
            answers.append(answer)
            seen = [a.outcome for a in answers]
            # Retries can take minutes (a 30 s timeout, seven attempts, backoff between):
            # the first answer of each kind that holds the check up says so at once.
            if answer.outcome is Outcome.THROTTLED and seen.count(Outcome.THROTTLED) == 1:
                log.warning("preflight_waiting", host=host,
                            why="the account answers 'too many concurrent requests'; "
                                "another job may be using it",
                            gives_up_after=f"{settings.stall_timeout:g}s (--stall-timeout)")
            elif answer.outcome in _RETRIED and sum(o in _RETRIED for o in seen) == 1:
                log.warning("preflight_waiting", host=host,
                            why=f"no usable answer yet ({answer.reason}); retrying",
                            gives_up_after=f"{settings.max_retries} retries or "
                                           f"{settings.stall_timeout:g}s (--stall-timeout), "
                                           "whichever comes first")
            return answer

        try:
            # The stall rule covers the check as it covers the run: a busy account, or
            # one that never answers usefully, ends it after --stall-timeout.
            async with asyncio.timeout(settings.stall_timeout):
                said, finals = None, []
                for key in keys:
                    result = await sender.send(partial(request, key=key),
                                               [secrets.token_hex(16)], 0)
                    assert result is not None, "the check's own stop is never set"
                    finals.append(result)
                    log.info("preflight", host=host, key=key, status=result.status,
                             answer=result.reason)
                    if credentials and key == "identity":
                        said = _accepted(result, host, took[-1])
        except TimeoutError:
            wait = f"{settings.stall_timeout:g}s (--stall-timeout)"
            if answers and all(a.outcome is Outcome.THROTTLED for a in answers):
                raise StalledError(
                    f"preflight: {host} has answered 'too many concurrent requests' to every "
                    f"check for {wait}: another job may be using this account; nothing was "
                    "deleted or written. Rerun when it is free") from None
            why = f" (last: {answers[-1].reason})" if answers else ""
            raise StalledError(
                f"preflight: no usable answer from {host} within {wait}{why}; nothing was "
                "deleted or written. Rerun when the API answers, or skip the check with "
                f"{'--no-preflight' if credentials else '--baseline 0'}") from None
        except FatalApiError as exc:
            raise FatalApiError(
                f"preflight: {host} refused the check ({answers[-1].reason}); nothing "
                "was deleted or written. Check the account ID, passcode and region",
                status=exc.status) from None
    if not calibrate:
        return Checked(said, None, "not asked")
    calibration, note = _calibration(settings, finals[-1], shapes[-1] if shapes else None)
    return Checked(said, calibration, note)


def _calibration(settings: Settings, result: Result,
                 shape: dict[str, Any] | None) -> tuple[Calibration | None, str]:
    """A random ID's answer of the job's own key: a not-found shape, or why it is none."""
    what = "objectId" if settings.id_type == "guid" else "identity"
    if verdict(result) is Verdict.PRESENT:
        # A random ID cannot name a profile: an answer saying it does is no calibration.
        log.warning("calibration_failed", why=f"a random {what} came back present")
        return None, (f"could not be made: a random {what} came back present, so 'absent' "
                      "rests on the strict phrase rule")
    if shape is None:
        return None, (f"could not be made: the answer for a random {what} was unclear "
                      f"({result.reason}), so 'absent' rests on the strict phrase rule")
    seen = Calibration(shape=shape, id_type=settings.id_type, seen_at=utc_timestamp())
    return seen, f"not found looks like {describe_shape(shape)} (a random {what})"


def describe_shape(shape: dict[str, Any]) -> str:
    """``HTTP 200 fail code 404 'Profile not found'``, for people."""
    parts = [f"HTTP {shape.get('http')}", str(shape.get("status"))]
    if shape.get("code") is not None:
        parts.append(f"code {shape['code']}")
    if shape.get("error"):
        parts.append(repr(shape["error"]))
    elif "record" in shape:
        parts.append(f"record {shape['record']}")
    return " ".join(parts)


def _accepted(result: Result, host: str, round_trip: float) -> str:
    """What the confirmation says; anything but a success or a clear not-found raises."""
    if result.outcome is Outcome.SUCCESS:
        said = Accepted(f"credentials accepted by {host}")
        said.round_trip = round_trip
        return said
    if result.status is None:  # no answer at all: timeouts, resets
        raise TooManyErrors(
            f"preflight: cannot reach {host}: no answer ({result.reason}); nothing was "
            "deleted or written. Check --region/--base-url and the network")
    raise TooManyErrors(
        f"preflight: the check could not be made ({result.reason}): {host} gave no answer "
        "that says whether it accepts the credentials; nothing was deleted or written. "
        "Rerun when the API answers, or skip the check with --no-preflight")
