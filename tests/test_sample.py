"""The seeded reservoir (bulkdelete/sample.py): fed in chunks of any size it draws exactly
the sample the same seed draws in one piece, so the pre-count (chunks of thousands) and
verify (batches) share one rule; every ID is equally likely to be taken."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkdelete.sample import Reservoir
from tests.conftest import make_ids


@given(st.integers(1, 50), st.lists(st.integers(0, 40), max_size=30), st.integers(0, 2**32))
def test_where_the_chunks_fall_changes_nothing(size: int, cuts: list[int], seed: int) -> None:
    ids = make_ids(sum(cuts))
    whole, chunked = Reservoir(size, random.Random(seed)), Reservoir(size, random.Random(seed))
    whole.add(ids)
    start = 0
    for cut in cuts:
        chunked.add(ids[start:start + cut])
        start += cut
    assert chunked.sample == whole.sample
    assert len(whole.sample) == min(size, len(ids))
    assert set(whole.sample) <= set(ids)


def test_uniform() -> None:
    """Each of 20 IDs lands in a sample of 5 about a quarter of the time."""
    ids, tries = make_ids(20), 4000
    taken: Counter[str] = Counter()
    rng = random.Random(7)
    for _ in range(tries):
        drawn = Reservoir(5, rng)
        for start in range(0, 20, 3):
            drawn.add(ids[start:start + 3])
        taken.update(drawn.sample)
    for ident in ids:
        assert taken[ident] / tries == pytest.approx(5 / 20, abs=0.04)


def test_an_empty_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Reservoir(0, random.Random(1))
