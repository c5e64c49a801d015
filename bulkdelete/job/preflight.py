"""The preflight (docs/cli.md): one read-only Get User Profile for a random identity before
anything is written, so wrong credentials or region show up now, not an hour in."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Sequence

import aiohttp
import structlog

from bulkdelete.checkpoint import Ledger, Progress
from bulkdelete.client import ClevertapClient, Outcome, Result
from bulkdelete.engine import AdaptiveLimiter, Sender, StopRequest, race
from bulkdelete.errors import ConfirmationRefused, FatalApiError, StalledError, TooManyErrors
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")

class Accepted(str):
    """What the confirmation says about the check (a str, as before), and the round trip of
    its answered request in seconds: the dry run's estimate uses it (docs/cli.md)."""

    round_trip: float | None = None


# Answers the sender retries (or, with no connection made, pauses on) before giving up.
_RETRIED = (Outcome.RETRYABLE, Outcome.UNREACHED)


async def preflight(settings: Settings, stop: StopRequest | None = None) -> str:
    """What the confirmation says about the check; anything but a success or a clear
    not-found raises (exit 3). A stop does not wait for the check: nothing depends on it."""
    stop = stop or StopRequest()
    said = await race(_check(settings), stop.event)
    if said is None:
        raise ConfirmationRefused(
            f"stopped ({stop.reason}) during the preflight; nothing was sent")
    return said


async def _check(settings: Settings) -> str:
    # An identity no profile has: the answer is about the credentials, never about a user.
    probe = secrets.token_hex(16)
    # Its own stop event, never set: the caller's stop cancels the whole check instead.
    sender = Sender(settings=settings, limiter=AdaptiveLimiter(1), recorder=Ledger(Progress()),
                    stop=asyncio.Event())
    host = settings.host
    async with aiohttp.ClientSession(raise_for_status=False) as session:
        client = ClevertapClient(base_url=settings.base_url, account_id=settings.account_id,
                                 passcode=settings.passcode, id_type=settings.id_type,
                                 timeout=settings.timeout)
        answers: list[Result] = []
        took: list[float] = []

        async def request(_ids: Sequence[str]) -> Result:
            began = time.monotonic()
            answer = await client.profile_with(session, probe, key="identity")
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
                result = await sender.send(request, [probe], 0)
                assert result is not None, "the check's own stop is never set"
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
                "--no-preflight") from None
        except FatalApiError as exc:
            raise FatalApiError(
                f"preflight: {host} refused the check ({answers[-1].reason}); nothing "
                "was deleted or written. Check the account ID, passcode and region",
                status=exc.status) from None
    log.info("preflight", host=host, status=result.status, answer=result.reason)
    if result.outcome is Outcome.SUCCESS:
        said = Accepted(f"credentials accepted by {host}")
        said.round_trip = took[-1]
        return said
    if result.status is None:  # no answer at all: timeouts, resets
        raise TooManyErrors(
            f"preflight: cannot reach {host}: no answer ({result.reason}); nothing was "
            "deleted or written. Check --region/--base-url and the network")
    raise TooManyErrors(
        f"preflight: the check could not be made ({result.reason}): {host} gave no answer "
        "that says whether it accepts the credentials; nothing was deleted or written. "
        "Rerun when the API answers, or skip the check with --no-preflight")

