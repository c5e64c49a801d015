"""Unit tests for :mod:`bulkdelete.batcher`: numbered batches and the input pre-count."""

from __future__ import annotations

import math

import pytest

from bulkdelete.batcher import INVALID_SAMPLES, Batch, make_batches, summarize
from bulkdelete.checkpoint import Totals
from bulkdelete.reader import InvalidLine, Record


def records(count: int, *, invalid_every: int = 0) -> list[Record | InvalidLine]:
    """``count`` valid records, one per line with 12-byte lines; every ``invalid_every``-th
    physical line is an invalid one instead (it does not count towards ``count``)."""
    items: list[Record | InvalidLine] = []
    line = 1
    offset = 0
    made = 0
    while made < count:
        if invalid_every and line % invalid_every == 0:
            items.append(InvalidLine(line=line, reason=f"bad {line}"))
        else:
            items.append(Record(value=f"id-{made:08d}", line=line, offset=offset))
            made += 1
        line += 1
        offset += 12
    return items


def test_sizes_are_full_batches_then_a_short_tail() -> None:
    """250 IDs in batches of 100 make 100, 100, 50, in input order, no ID lost or repeated."""
    items = records(250)
    batches = list(make_batches(items, 100))
    assert [len(b.ids) for b in batches] == [100, 100, 50]
    flat = [i for b in batches for i in b.ids]
    assert flat == [r.value for r in items if isinstance(r, Record)]


def test_exact_multiple_has_no_empty_tail() -> None:
    """A count that divides evenly yields no trailing empty batch."""
    batches = list(make_batches(records(200), 100))
    assert [len(b.ids) for b in batches] == [100, 100]


def test_empty_input_yields_no_batches() -> None:
    """No valid record (only invalid lines, or nothing) means no batch at all."""
    assert list(make_batches([], 10)) == []
    assert list(make_batches([InvalidLine(1, "empty value"), InvalidLine(2, "x")], 10)) == []


def test_seq_numbering_starts_at_first_seq() -> None:
    """Batches are numbered consecutively from ``first_seq`` (what a resume passes)."""
    batches = list(make_batches(records(35), 10, first_seq=7))
    assert [b.seq for b in batches] == [7, 8, 9, 10]


def test_each_batch_carries_its_first_records_offset_and_line() -> None:
    """A batch's offset and line are those of its first ID's record: where a resume seeks."""
    items = records(30, invalid_every=4)
    valid = [r for r in items if isinstance(r, Record)]
    batches = list(make_batches(items, 7))
    for n, batch in enumerate(batches):
        first = valid[n * 7]
        assert (batch.offset, batch.line) == (first.offset, first.line)
        assert batch.ids[0] == first.value


def test_invalid_lines_are_skipped_and_do_not_count_towards_size() -> None:
    """Invalid lines contribute no ID and do not shorten a batch."""
    items = records(20, invalid_every=3)
    assert sum(isinstance(i, InvalidLine) for i in items) > 0
    batches = list(make_batches(items, 5))
    assert [len(b.ids) for b in batches] == [5, 5, 5, 5]
    assert all(i.startswith("id-") for b in batches for i in b.ids)


def test_invalid_line_at_a_batch_boundary_does_not_shift_offsets() -> None:
    """A batch that starts right after an invalid line points at the next *valid* record."""
    items: list[Record | InvalidLine] = [
        Record("a", 1, 0), Record("b", 2, 2), InvalidLine(3, "control character"),
        Record("c", 4, 10), Record("d", 5, 12),
    ]
    batches = list(make_batches(items, 2))
    assert batches == [Batch(0, 0, 1, ["a", "b"]), Batch(1, 10, 4, ["c", "d"])]


def test_resume_from_a_batch_regenerates_the_same_batches() -> None:
    """Batching the tail from batch k's first record with first_seq=k yields exactly the
    batches a full read yields from k on (the checkpoint names batches by number alone)."""
    items = records(95, invalid_every=5)
    full = list(make_batches(items, 10))
    k = 4
    start = next(n for n, r in enumerate(items) if isinstance(r, Record)
                 and (r.offset, r.line) == (full[k].offset, full[k].line))
    tail = list(make_batches(items[start:], 10, first_seq=k))
    assert tail == full[k:]


def test_duplicates_are_kept_in_the_batch() -> None:
    """The batcher does not deduplicate: each occurrence is a position in the input (the
    pipeline sends duplicates once and counts each)."""
    items: list[Record | InvalidLine] = [Record("x", n + 1, n * 2) for n in range(3)]
    assert [b.ids for b in make_batches(items, 10)] == [["x", "x", "x"]]


@pytest.mark.parametrize(("count", "size"), [(0, 100), (1, 100), (100, 100), (101, 100),
                                             (999, 7), (1000, 1)])
def test_summarize_counts_ids_and_batches(count: int, size: int) -> None:
    """ids_total counts valid records; batches_total is ceil(ids / size)."""
    summary = summarize(records(count, invalid_every=6), size)
    assert summary.ids_total == count
    assert summary.batches_total == math.ceil(count / size)
    assert summary.batches_total == len(list(make_batches(
        records(count, invalid_every=6), size)))


def test_summarize_counts_invalid_lines_and_caps_samples_at_ten() -> None:
    """Every invalid line is counted; only the first INVALID_SAMPLES (10) are kept, in order,
    as (line number, reason)."""
    items = records(100, invalid_every=3)
    invalid = [i for i in items if isinstance(i, InvalidLine)]
    assert len(invalid) > INVALID_SAMPLES
    summary = summarize(items, 10)
    assert INVALID_SAMPLES == 10
    assert summary.lines_invalid == len(invalid)
    assert summary.invalid_samples == [(i.line, i.reason) for i in invalid[:10]]


def test_summarize_with_few_invalid_lines_keeps_them_all() -> None:
    """Fewer than ten invalid lines are all kept as samples."""
    items: list[Record | InvalidLine] = [InvalidLine(1, "empty value"),
                                         Record("a", 2, 1), InvalidLine(3, "control character")]
    summary = summarize(items, 100)
    assert summary.invalid_samples == [(1, "empty value"), (3, "control character")]
    assert (summary.ids_total, summary.lines_invalid, summary.batches_total) == (1, 2, 1)


def test_summarize_gives_the_checkpoint_totals() -> None:
    """The pre-count is the checkpoint's Totals itself, stored as it comes."""
    summary = summarize([Record("a", 1, 0), InvalidLine(2, "empty value")], 100)
    assert summary == Totals(ids_total=1, lines_invalid=1, batches_total=1,
                             invalid_samples=[(2, "empty value")])


def test_batches_do_not_share_a_list() -> None:
    """A batch's ids are its own list: changing one batch cannot touch another."""
    items: list[Record | InvalidLine] = [Record(f"id-{n}", n + 1, n) for n in range(10)]
    batches = list(make_batches(items, 4))
    assert [b.ids for b in batches] == [[f"id-{n}" for n in range(k, min(k + 4, 10))]
                                        for k in (0, 4, 8)]
    batches[0].ids.append("x")
    assert batches[1].ids == ["id-4", "id-5", "id-6", "id-7"]
