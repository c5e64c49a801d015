"""How a run stops: one event (:class:`StopRequest`), and :func:`race` for every wait that
must give way to it. A fatal answer or an abort is raised instead; the task group cancels
the rest.
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
    """``work``'s result, or None when ``stop`` is set first; ``work`` is cancelled and
    awaited before this returns, so nothing it started outlives the stop."""
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
    """The error to raise for a task group: ours first, then any other, never a group."""
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
