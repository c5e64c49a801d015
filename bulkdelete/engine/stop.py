"""How a run stops: asked from outside (:class:`StopRequest`), or decided inside (:class:`Gate`).

The gate is the run's one answer to "may more work start?". It only moves forward:

* ``OPEN``: batches are admitted.
* ``CLOSED``: nothing more is admitted (the input ended, ``--limit`` was reached); batches
  already held finish, retries included.
* ``STOPPED``: a graceful stop or a fatal answer. No request starts, not even a retry; every
  waiter (the window, a slot, a backoff) is woken so it can drop its batch unrecorded, and
  the resume sends it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class StopRequest:
    """A graceful stop asked for from outside (a signal handler, a caller)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.exit_code: int | None = None
        self.reason = ""
        self.listeners: list[Callable[[], None]] = []

    def request(self, exit_code: int, reason: str) -> None:
        if self.exit_code is None:
            self.exit_code, self.reason = exit_code, reason
        self.event.set()
        for listener in list(self.listeners):
            listener()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


class State(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    STOPPED = "stopped"


OPEN, CLOSED, STOPPED = State.OPEN, State.CLOSED, State.STOPPED


class Gate:
    """Whether the run may start more work; see the module docstring for the states.
    ``wake`` is called once, on the move to STOPPED, to release whatever waits."""

    __slots__ = ("_wake", "state", "stopped")

    def __init__(self, *wake: Callable[[], None]) -> None:
        self.state = OPEN
        self.stopped = asyncio.Event()  # set on STOPPED: what a timed wait waits on
        self._wake = wake

    def close(self) -> None:
        if self.state is OPEN:
            self.state = CLOSED

    def stop(self) -> None:
        if self.state is STOPPED:
            return
        self.state = STOPPED
        self.stopped.set()
        for wake in self._wake:
            wake()


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
