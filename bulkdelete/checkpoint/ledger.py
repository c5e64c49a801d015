"""The ledger: the one place the engine records a batch's progress.

The in-memory :class:`~bulkdelete.checkpoint.model.Progress` and the journal on disk must
never disagree, so both are updated by one call rather than by two kept in lockstep by
every caller. Without a journal (``delete_ids`` on an iterable) the ledger is memory only.
"""

from __future__ import annotations

from typing import Protocol

from bulkdelete.checkpoint.model import Progress


class Journal(Protocol):
    """Where batch events are appended durably (:class:`~bulkdelete.checkpoint.journal.
    JournalWriter`, the store's ``journal``)."""

    def append_sent(self, seq: int) -> None: ...

    def append_answered(self, seq: int) -> None: ...

    def append_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None: ...


class Ledger:
    """Progress plus journal, updated together."""

    __slots__ = ("_journal", "progress")

    def __init__(self, progress: Progress, journal: Journal | None = None) -> None:
        self.progress = progress
        self._journal = journal

    def is_done(self, seq: int) -> bool:
        return self.progress.is_done(seq)

    @property
    def watermark(self) -> int:
        """Every batch below it is done."""
        return self.progress.watermark

    def sent(self, seq: int) -> None:
        """The first send of ``seq``: marked and journalled once, so a retry or a
        bisected half is not counted as a re-send after a crash."""
        if self.progress.mark_sent(seq) and self._journal is not None:
            self._journal.append_sent(seq)

    def answered(self, seq: int) -> None:
        """``seq``'s request was answered without acknowledging any ID: no longer counted
        as at the server, so a crash while it waits to retry is not a re-send."""
        if self.progress.mark_answered(seq) and self._journal is not None:
            self._journal.append_answered(seq)

    def done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None:
        """Record a finished batch in memory and in the journal."""
        self.progress.mark_done(seq, offset, line, deleted, failed, reasons)
        if self._journal is not None:
            self._journal.append_done(seq, offset, line, deleted, failed, reasons)
