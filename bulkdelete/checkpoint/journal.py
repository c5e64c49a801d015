"""The journal between two snapshots, its replay, and the ledger. A record is JSON, a tab and
its CRC-32 (docs/checkpoint.md): damage is detected, not trusted. Never fsync'd: a kill loses
nothing, a power loss the second since the last snapshot. No record holds an ID."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bulkdelete.checkpoint.model import MAX_REASONS, DoneBatch, Progress
from bulkdelete.errors import CheckpointError

RESTART_HINT = ("Start the job over with --restart "
                "(it re-sends everything; deleting twice is harmless).")


def frame(obj: dict[str, Any]) -> bytes:
    text = json.dumps(obj, separators=(",", ":")).encode()
    return b"%s\t%08x\n" % (text, zlib.crc32(text))


def unframe(line: bytes) -> dict[str, Any] | None:
    """The record in ``line``, or None if it is torn or damaged."""
    text, sep, crc = line.rstrip(b"\n").rpartition(b"\t")
    if not sep or f"{zlib.crc32(text):08x}".encode() != crc:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def apply(p: Progress, record: dict[str, Any]) -> bool:
    """Apply one record to ``p``; False (and no change) when it changes nothing, so replay
    is idempotent and the ledger journals only what changed. ValueError if unknown."""
    match record:
        case {"k": "s", "s": int(seq)}:
            if p.is_done(seq) or seq in p.sent_above:
                return False  # a retry or a bisected half is not a re-send after a crash
            p.sent_above.add(seq)
        case {"k": "a", "s": int(seq)}:
            # Answered acknowledging no ID: a crash now leaves nothing to send twice.
            if seq not in p.sent_above:
                return False
            p.sent_above.discard(seq)
        case {"k": "p", "s": int(seq), "h": int(head), "n": int(deleted), "f": int(failed)}:
            # The first ``head`` IDs of the batch are done (a --limit cut it); the rest is
            # sent by a later run. Heads only grow, so an older record changes nothing.
            if p.is_done(seq) or p.head_done.get(seq, 0) >= head:
                return False
            _count(p, seq, deleted, failed, record.get("r"), whole=False)
            p.head_done[seq] = head
        case {"k": "d", "s": int(seq), "o": int(offset), "l": int(line), "n": int(deleted),
              "f": int(failed)}:
            if p.is_done(seq):
                return False
            _count(p, seq, deleted, failed, record.get("r"), whole=True)
            p.head_done.pop(seq, None)  # its counts are already in, the rest just added
            p.done_above[seq] = DoneBatch(offset, line, deleted, failed)
            while p.watermark in p.done_above:
                done = p.done_above.pop(p.watermark)
                p.anchor = (p.watermark, done.offset, done.line)
                p.watermark += 1
        case _:
            raise ValueError("unknown record")
    return True


def _count(p: Progress, seq: int, deleted: int, failed: int,
           reasons: dict[str, int] | None, *, whole: bool) -> None:
    """IDs of batch ``seq`` done: all that is left of it (``whole``) or a head of it."""
    p.sent_above.discard(seq)
    if seq in p.left:
        # A head keeps the batch's entry: what an earlier run left may be its rest too, so
        # the rest counts as re-sent as well (never fewer than the server saw twice).
        by_crash, by_stop = p.left.pop(seq) if whole else p.left[seq]
        p.resent_after_crash += by_crash * (deleted + failed)
        p.resent_after_stop += by_stop * (deleted + failed)
    p.ids_deleted += deleted
    p.ids_failed += failed
    for reason, count in (reasons or {}).items():
        kept = reason in p.reasons or len(p.reasons) < MAX_REASONS
        p.reasons[reason if kept else "other"] += count


def replay(progress: Progress, path: Path) -> None:
    """Apply the journal at ``path``. A torn final record (a crash mid write) is dropped,
    so that batch is sent again; damage anywhere else is refused (exit 2)."""
    lines = path.read_bytes().removesuffix(b"\n").split(b"\n")
    for index, line in enumerate(lines):
        record = unframe(line)
        if record is None and not any(unframe(later) for later in lines[index + 1 :]):
            return
        try:
            apply(progress, record or {})  # {}: an unknown record
        except ValueError:
            what = "is damaged at record" if record is None else "has an unknown record at"
            raise CheckpointError(
                f"checkpoint journal {path} {what} {index + 1}. {RESTART_HINT}") from None


class Ledger:
    """Progress plus journal, updated by one call so the two never disagree."""

    __slots__ = ("_append", "is_done", "progress")

    def __init__(self, progress: Progress,
                 append: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.progress = progress
        self._append = append
        self.is_done = progress.is_done

    @property
    def watermark(self) -> int:
        return self.progress.watermark

    def _record(self, record: dict[str, Any]) -> None:
        if apply(self.progress, record) and self._append is not None:
            self._append(record)

    def sent(self, seq: int) -> None:
        self._record({"k": "s", "s": seq})

    def answered(self, seq: int) -> None:
        self._record({"k": "a", "s": seq})

    def done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None:
        record = {"k": "d", "s": seq, "o": offset, "l": line, "n": deleted, "f": failed}
        self._record({**record, "r": reasons} if reasons else record)  # "r" only if any

    def head_done(self, seq: int) -> int:
        return self.progress.head_done.get(seq, 0)

    def partly_done(self, seq: int, head: int, deleted: int, failed: int,
                    reasons: dict[str, int] | None) -> None:
        """The first ``head`` IDs of batch ``seq`` are done, the rest not yet sent."""
        record = {"k": "p", "s": seq, "h": head, "n": deleted, "f": failed}
        self._record({**record, "r": reasons} if reasons else record)
