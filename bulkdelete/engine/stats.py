"""What a run has done so far: the engine's counters, and the snapshot a display reads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class Traffic:
    """A run's requests and what they did; the checkpoint's run record holds the engine's
    own RunStats (a subclass), never a copy."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    ids_deleted: int = 0
    ids_failed: int = 0


@dataclass(slots=True)
class RunStats(Traffic):
    batches_done: int = 0
    # ID occurrences this run per outcome label of the operation ("deleted", "gone", ...).
    outcomes: Counter[str] = field(default_factory=Counter)
    # Failed IDs that count as errors (--max-errors): all of a delete's; a check's "present"
    # is a finding, not an error.
    ids_errored: int = 0
    ids_admitted: int = 0
    last_ack: float = 0.0  # the loop's clock at the last success (set as the run starts)

    @property
    def ids_attempted(self) -> int:
        return self.ids_deleted + self.ids_failed


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A copy of the counters for a display, which never holds the engine."""

    ids_deleted: int
    ids_failed: int
    requests: int
    retries: int
    throttled: int
    in_flight: int
    limit: int  # current adaptive in-flight limit
    ceiling: int  # --concurrency
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def ids_attempted(self) -> int:
        return self.ids_deleted + self.ids_failed
