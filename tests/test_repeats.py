"""Repeated IDs counted exactly in bounded memory, spilled to a private temporary file
that is gone afterwards (docs/report.md, ``ids_duplicate``)."""

from __future__ import annotations

import os
import random
import stat
import tempfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkdelete import repeats
from bulkdelete.repeats import RepeatCounter


@given(st.lists(st.lists(st.text(min_size=1, max_size=4), max_size=30), max_size=20))
def test_the_count_is_every_occurrence_after_an_ids_first(chunks: list[list[str]]) -> None:
    """However the IDs arrive in chunks, the count is occurrences minus distinct IDs."""
    with RepeatCounter() as counter:
        for chunk in chunks:
            counter.add(chunk)
        everything = [i for chunk in chunks for i in chunk]
        assert counter.count() == len(everything) - len(set(everything))


def test_a_planted_count_survives_spilling_to_disk_and_the_file_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """100,000 distinct IDs plus 12,345 planted repeats (some repeated several times), with
    the buckets spilled every 1,000 hashes: the count is exact, at most that many hashes are
    ever held in memory, and the temporary file (outside any checkpoint, private, never
named) is closed with nothing left behind."""
    monkeypatch.setattr(repeats, "_SPILL_AT", 1_000)
    rng = random.Random(5)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(100_000)]
    planted = [rng.choice(ids[:500]) for _ in range(12_345)]
    stream = ids + planted
    rng.shuffle(stream)
    counter = RepeatCounter()
    held = 0
    for start in range(0, len(stream), 700):
        counter.add(stream[start : start + 700])
        held = max(held, sum(map(len, counter._buckets)))
    spilled = counter._spilled
    assert spilled is not None
    where = os.readlink(f"/proc/self/fd/{spilled.fileno()}")
    assert where.startswith(os.path.realpath(tempfile.gettempdir()) + "/")
    assert where.endswith(" (deleted)")
    assert stat.S_IMODE(os.fstat(spilled.fileno()).st_mode) == 0o600
    assert held < 1_000 + 700
    assert counter.count() == 12_345
    assert spilled.closed


def test_a_small_input_never_touches_the_disk() -> None:
    with RepeatCounter() as counter:
        counter.add(["a", "b", "a", "a"])
        assert counter.count() == 2
        assert counter._spilled is None
