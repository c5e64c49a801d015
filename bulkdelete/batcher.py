"""Cuts the reader's stream of IDs into numbered batches, and pre-counts a whole input.

A batch is ``batch_size`` consecutive valid IDs (invalid lines do not count), numbered from
0 in input order. Numbering is a pure function of the input and the batch-shaping settings,
so a resume that seeks to a batch's byte offset regenerates exactly the same batches with
the same numbers — which is what lets the checkpoint name batches by number alone.

Both functions take the reader's stream of runs (:func:`~bulkdelete.reader.read_runs`); the
batches and the summary do not depend on where the reader cut its runs. The work is per batch,
not per ID: a batch is a list slice, and its offset and line are looked up at the slice start.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bulkdelete.checkpoint.model import Totals
from bulkdelete.reader import InvalidLine, Run
from bulkdelete.reader.watch import input_changed

INVALID_SAMPLES = 10  # first few invalid lines kept (line number + reason) for people


@dataclass(slots=True)
class Batch:
    seq: int
    offset: int  # byte offset of the first ID's record: where a resume seeks
    line: int  # its line number, so line numbers stay right after a seek
    ids: list[str]
    # Known to hold no duplicate ID (from a distinct run); False means "not known".
    distinct: bool = field(default=False, compare=False)


def make_batches(
    items: Iterable[Run | InvalidLine], size: int, *, first_seq: int = 0
) -> Iterator[Batch]:
    """Group valid IDs into batches of ``size``; invalid lines are skipped here (the
    pre-count already counted them once, so a resume does not count them twice)."""
    seq = first_seq
    ids: list[str] = []  # the batch being filled; never shared with a yielded batch
    offset = line = 0  # where ids[0]'s record starts
    for item in items:
        if type(item) is Run:
            values = item.values
            count = len(values)
            start = 0  # values[:start] are placed
            if ids:
                # Top up the batch left open by earlier items.
                start = size - len(ids)
                ids += values[:start]
                if len(ids) < size:
                    continue  # this run did not fill it
                yield Batch(seq, offset, line, ids)
                seq += 1
                ids = []
            offsets, first = item.offsets, item.line
            while start + size <= count:
                # values[start] is Record(values[start], first + start, offsets[start]).
                yield Batch(seq, offsets[start], first + start, values[start : start + size],
                            item.distinct)
                seq += 1
                start += size
            if start < count:
                ids = values[start:]
                offset, line = offsets[start], first + start
    if ids:
        yield Batch(seq, offset, line, ids)


def within_precount(
    batches: Iterable[Batch], ids_total: int, size: int, path: Path
) -> Iterator[Batch]:
    """*batches*, but the run stops (:class:`~bulkdelete.errors.InputChanged`) rather than
    send one that would take the job past the *ids_total* IDs the pre-count found: more IDs
    than that can only come from an input changed since, and would slip past --max-delete."""
    for batch in batches:
        # Every batch before this one is full, so seq * size IDs come before it.
        if batch.seq * size + len(batch.ids) > ids_total:
            raise input_changed(path, f"holds more IDs than the {ids_total:,} counted at the start")
        yield batch


def summarize(items: Iterable[Run | InvalidLine | int], size: int) -> Totals:
    """One streaming pass: valid IDs, invalid lines (first few kept), batches. An ``int``
    stands for that many valid IDs (what :func:`~bulkdelete.reader.tally_runs` yields)."""
    summary = Totals(ids_total=0, lines_invalid=0, batches_total=0)
    ids = 0
    for item in items:
        if type(item) is int:
            ids += item
        elif type(item) is Run:
            ids += len(item.values)
        else:
            summary.lines_invalid += 1
            if len(summary.invalid_samples) < INVALID_SAMPLES:
                assert isinstance(item, InvalidLine)
                summary.invalid_samples.append((item.line, item.reason))
    summary.ids_total = ids
    summary.batches_total = -(-ids // size)
    return summary
