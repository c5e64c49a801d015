"""The preflight (docs/cli.md): before the confirmation and before anything is written, one
read-only Get User Profile for a random identity tells whether the target takes the account
and passcode, so wrong credentials or a wrong region show up now, not an hour into a run.

The request goes through the engine's :class:`~bulkdelete.engine.Sender`, so it gets the
run's retries, 429 pacing and the rule that a run which never reached the server gives up
after the usual retries ("cannot reach <host>"). 401/403 stops with exit 3. Any other
answer, whatever it says about the random identity, means the account, passcode and host
were accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import Sequence

import aiohttp
import structlog

from bulkdelete.checkpoint import Ledger, Progress
from bulkdelete.client import ClevertapClient, Result
from bulkdelete.engine import AdaptiveLimiter, Gate, RunStats, Sender, StopRequest
from bulkdelete.errors import ConfirmationRefused, FatalApiError
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")


async def preflight(settings: Settings, stop: StopRequest | None = None) -> str:
    """Send the check; return what the confirmation says about it. Raises
    :class:`FatalApiError` (401/403) or :class:`~bulkdelete.errors.TooManyErrors` (no
    answer), both exit 3, or :class:`ConfirmationRefused` when stopped meanwhile: a stop
    does not wait for the check's request or its retries, as nothing depends on them."""
    stop = stop or StopRequest()
    check = asyncio.ensure_future(_check(settings))
    stopping = asyncio.ensure_future(stop.event.wait())
    try:
        await asyncio.wait({check, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not check.done():
            check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await check
    if check.cancelled():
        raise ConfirmationRefused(
            f"stopped ({stop.reason}) during the preflight; nothing was sent")
    return check.result()


async def _check(settings: Settings) -> str:
    # An identity no profile has: the answer is about the credentials, never about a user.
    probe = secrets.token_hex(16)
    limiter = AdaptiveLimiter(1)
    sender = Sender(settings=settings, limiter=limiter, ledger=Ledger(Progress()),
                    gate=Gate(limiter.close), stats=RunStats(), rng=random.Random())
    async with aiohttp.ClientSession(raise_for_status=False) as session:
        client = ClevertapClient(
            base_url=settings.base_url, account_id=settings.account_id,
            passcode=settings.passcode, id_type=settings.id_type, timeout=settings.timeout,
        )
        answers: list[Result] = []

        async def request(_ids: Sequence[str]) -> Result:
            answers.append(await client.profile_with(session, probe, key="identity"))
            return answers[-1]

        try:
            result = await sender.send(request, [probe], 0)
        except FatalApiError as exc:
            raise FatalApiError(
                f"preflight: {settings.host} refused the check ({answers[-1].reason}); nothing "
                "was deleted or written. Check the account ID, passcode and region",
                status=exc.status,
            ) from None
    log.info("preflight", host=settings.host, status=result.status, answer=result.reason)
    return f"credentials accepted by {settings.host}"
