"""Where the engine records what it sent and what it finished: one call per event, so the
in-memory progress and the durable journal cannot drift apart."""

from __future__ import annotations

from typing import Protocol


class Recorder(Protocol):
    """Progress plus its journal (``bulkdelete.checkpoint.Ledger``). An exception from
    ``sent`` or ``done`` (a journal write that failed) ends the run as that exception."""

    def is_done(self, seq: int) -> bool: ...

    @property
    def watermark(self) -> int: ...

    # A request of batch ``seq`` is leaving: mark and journal its first send (once).
    def sent(self, seq: int) -> None: ...

    # Answered without acknowledging any ID: its next request is marked sent again
    # (docs/guarantees.md §2).
    def answered(self, seq: int) -> None: ...

    # Finished, its failures already durable.
    def done(self, seq: int, offset: int, line: int, deleted: int, failed: int,
             reasons: dict[str, int] | None) -> None: ...
