"""What a run has done so far: the engine's counters, and the snapshot a display reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bulkdelete.checkpoint.model import Traffic


@dataclass(slots=True)
class RunStats(Traffic):
    """This run's counters: its traffic, which the run's checkpoint record holds as it is
    (no copy), and what only the engine needs."""

    batches_done: int = 0
    # Failed IDs that count as errors (--max-errors): all of a delete's; a check's answered
    # ones (a profile still present) are a finding, not an error.
    ids_errored: int = 0
    ids_admitted: int = 0
    started: float = field(default_factory=time.monotonic)
    last_ack: float = field(default_factory=time.monotonic)

    @property
    def ids_attempted(self) -> int:
        return self.ids_deleted + self.ids_failed


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The run's counters at one instant, for a display: a copy, so the reader never holds
    the engine or its limiter."""

    ids_deleted: int
    ids_failed: int
    requests: int
    retries: int
    throttled: int
    in_flight: int
    limit: int  # current adaptive in-flight limit
    ceiling: int  # --concurrency

    @property
    def ids_attempted(self) -> int:
        return self.ids_deleted + self.ids_failed
