"""The baseline's exact two-sided 95 % interval (Clopper–Pearson, docs/verify.md): each end
is where the binomial tail beyond the count holds exactly 2.5 %, checked against the tail
summed term by term."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkdelete.verify.stats import interval_95, present_upper_95


def _at_least(k: int, n: int, p: float) -> float:
    return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_each_end_leaves_two_and_a_half_percent_beyond_it(counts: tuple[int, int]) -> None:
    found, checked = counts
    low, high = interval_95(found, checked)
    assert 0.0 <= low < found / checked < high <= 1.0 or found in (0, checked)
    if found > 0:
        assert _at_least(found, checked, low) == pytest.approx(0.025, abs=1e-9)
    else:
        assert low == 0.0
    if found < checked:
        assert 1 - _at_least(found + 1, checked, high) == pytest.approx(0.025, abs=1e-9)
    else:
        assert high == 1.0


def test_wider_than_the_one_sided_bound_and_symmetric() -> None:
    """Two-sided at 95 % is one-sided at 97.5 % on each end: beyond the one-sided 95 %
    bound; and found of n mirrors n - found of n."""
    for found, checked in ((0, 100), (3, 100), (50, 80)):
        low, high = interval_95(found, checked)
        assert high > present_upper_95(found, checked)
        mirror = interval_95(checked - found, checked)
        assert (1 - mirror[1], 1 - mirror[0]) == pytest.approx((low, high), abs=1e-12)
    assert interval_95(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="found <= checked"):
        interval_95(5, 4)
