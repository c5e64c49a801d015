"""What a caller watches a run through. It sees the engine only through :class:`Snapshot`,
a frozen copy of its counters, so a display can neither change the run nor depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bulkdelete.engine.stats import Snapshot
from bulkdelete.lifecycle.plan import Plan


class Observer(Protocol):
    """``confirm`` raises ConfirmationRefused to refuse. ``started`` gives what the job had
    done before this run, so a display can count for the whole job; ``snapshot`` counts
    this run only."""

    async def confirm(self, plan: Plan) -> None:
        return None

    def started(self, plan: Plan, snapshot: Callable[[], Snapshot], done_before: int, *,
                failed_before: int = 0, throttled_before: int = 0) -> None:
        return None

    def tick(self) -> None:
        return None

    def finished(self) -> None:
        return None


class QuietObserver(Observer):
    """Confirms everything and shows nothing: a library caller's default."""
