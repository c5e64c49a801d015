"""The reader's IDs cut into batches numbered from 0 in input order (so a resume at a batch's
offset numbers them the same), and the pre-count of a whole input."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bulkdelete.checkpoint.model import Totals
from bulkdelete.reader import InvalidLine, Record
from bulkdelete.reader.guard import input_changed
from bulkdelete.reader.rule import Blank

INVALID_SAMPLES = 10  # first few invalid lines kept (line number + reason) for people


@dataclass(slots=True)
class Batch:
    seq: int
    offset: int  # byte offset of the first ID's record: where a resume seeks
    line: int  # its line number, so line numbers stay right after a seek
    ids: list[str]


def make_batches(items: Iterable[Record | InvalidLine | Blank], size: int, *, first_seq: int = 0,
                 counted: tuple[int, Path] | None = None) -> Iterator[Batch]:
    """Invalid lines and blanks are skipped: the pre-count counted them once, a resume must
    not again.
    With ``counted`` (the pre-count's IDs, the input), InputChanged before a batch past them:
    more can only come from an input changed since (an edit the fingerprint missed)."""
    seq = first_seq
    ids: list[str] = []  # the batch being filled; never changed once yielded
    offset = line = 0  # where ids[0]'s record starts

    def batch() -> Batch:
        # Every batch before this one is full, so seq * size IDs come before it.
        if counted is not None and seq * size + len(ids) > counted[0]:
            raise input_changed(counted[1], f"holds more IDs than the {counted[0]:,} "
                                "counted at the start")
        return Batch(seq, offset, line, ids)

    for item in items:
        if type(item) is Record:
            if not ids:
                offset, line = item.offset, item.line
            ids.append(item.value)
            if len(ids) == size:
                yield batch()
                seq += 1
                ids = []
    if ids:
        yield batch()


def resume_point(batches: Iterator[Batch], is_done: Callable[[int], bool],
                 anchor: tuple[int, int, int]) -> tuple[Iterator[Batch], tuple[int, int]]:
    """The batches from the first one not done, and its ``(offset, line)``: where a resume
    sends first (the anchor's batch is done). At the end of the input, the anchor's."""
    for batch in batches:
        if not is_done(batch.seq):
            return itertools.chain([batch], batches), (batch.offset, batch.line)
    return iter(()), anchor[1:]


def _note_invalid(totals: Totals, item: Record | InvalidLine | Blank) -> None:
    if type(item) is Blank:
        totals.lines_blank += 1
        return
    totals.lines_invalid += 1
    if len(totals.invalid_samples) < INVALID_SAMPLES:
        assert isinstance(item, InvalidLine)
        totals.invalid_samples.append((item.line, item.reason))


def tally(items: Iterable[Record | InvalidLine | Blank], totals: Totals) -> Iterator[Record]:
    """The valid records, counted into *totals* with the invalid lines (the first few kept)
    and the blanks."""
    for item in items:
        if type(item) is Record:
            totals.ids_total += 1
            yield item
        else:
            _note_invalid(totals, item)


def summarize(items: Iterable[Record | InvalidLine | Blank], size: int,
              each_ids: Callable[[list[str]], object] | None = None) -> Totals:
    """One streaming pass; *each_ids* is handed every valid ID, a few thousand at a time.
    Its own loop, not :func:`tally`: this is every fresh start's pre-count, per ID."""
    summary = Totals(ids_total=0, lines_invalid=0, batches_total=0)
    held: list[str] = []
    hand = each_ids or (lambda ids: None)
    for item in items:
        if type(item) is Record:
            held.append(item.value)
            if len(held) == 4096:
                summary.ids_total += 4096
                hand(held)
                held = []
        else:
            _note_invalid(summary, item)
    summary.ids_total += len(held)
    hand(held)
    summary.batches_total = -(-summary.ids_total // size)
    return summary
