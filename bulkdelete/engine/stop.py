"""How a run stops: one event, set by a graceful stop from outside (:class:`StopRequest`).

Every wait of the run that must give way to it goes through :func:`race`. After a stop no
request starts, not even a retry; requests already at the server get the grace period;
what was not recorded is sent again by the resume. A fatal answer or an abort needs no
event: it is raised, and the run's task group cancels the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from bulkdelete.errors import BulkDeleteError

T = TypeVar("T")


class StopRequest:
    """A graceful stop asked for from outside (a signal handler, a caller)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.exit_code: int | None = None
        self.reason = ""

    def request(self, exit_code: int, reason: str) -> None:
        if self.exit_code is None:
            self.exit_code, self.reason = exit_code, reason
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


async def race(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result, or None when ``stop`` is set first: the one way any wait of the
    run gives way to a stop. ``work`` is cancelled and awaited before this returns, so
    nothing it started outlives the stop."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task.result()


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error a task group ended with, as the caller should see it: our own errors
    first (a journal write, an abort), then anything else (a bug), never a bare group."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        elif not isinstance(exc, asyncio.CancelledError):
            leaves.append(exc)

    walk(group)
    ours = [exc for exc in leaves if isinstance(exc, BulkDeleteError)]
    return (ours or leaves or [group])[0]
