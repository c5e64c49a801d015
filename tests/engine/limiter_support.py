"""Helpers shared by the limiter tests: a limiter with the least jitter that records its
limit changes, and a way to let ready tasks run."""

from __future__ import annotations

import asyncio
import random

from bulkdelete.engine.limiter import AdaptiveLimiter

Change = tuple[int, int, str]


class LowJitter(random.Random):
    """Equal jitter at its minimum, so pauses are exactly half their span (and short)."""

    def uniform(self, a: float, b: float) -> float:
        return a


def make(
    ceiling: int, *, probe_after: int = 8, rate: float | None = None
) -> tuple[AdaptiveLimiter, list[Change]]:
    """A limiter (built inside the running loop, so on its clock) and the list of the
    ``(old, new, why)`` limit changes it reports."""
    changes: list[Change] = []
    limiter = AdaptiveLimiter(
        ceiling,
        rate=rate,
        probe_after=probe_after,
        on_change=lambda old, new, why: changes.append((old, new, why)),
        rng=LowJitter(0),
    )
    return limiter, changes


def paused_for(limiter: AdaptiveLimiter) -> float:
    """How long the shared pause still holds every slot."""
    return max(0.0, limiter._paused_until - asyncio.get_running_loop().time())


async def spin(times: int = 5) -> None:
    """Let every ready task run a few steps."""
    for _ in range(times):
        await asyncio.sleep(0)
