"""The 95 % upper bound on the share still present, against values computed independently:
exact rational binomial sums for small counts, closed forms at the edges, and a log-space
binomial sum for the property that defines it (docs/verify.md, "The bound"); and the seeded
uniform sample drawn from the job's deleted IDs."""

from __future__ import annotations

import math
import random
from collections import Counter
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.batcher import Batch
from bulkdelete.verify.stats import present_upper_95, reservoir


def exact_cdf(k: int, n: int, p: Fraction) -> Fraction:
    """P(X <= k) for X ~ Binomial(n, p), in exact rational arithmetic."""
    return sum(
        (math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1)), Fraction(0)
    )


def exact_bound(present: int, checked: int, steps: int = 70) -> tuple[Fraction, Fraction]:
    """An interval of width 2**-steps holding the share where P(X <= present) = 5 %."""
    low, high = Fraction(0), Fraction(1)
    for _ in range(steps):
        middle = (low + high) / 2
        if exact_cdf(present, checked, middle) > Fraction(1, 20):
            low = middle
        else:
            high = middle
    return low, high


def log_space_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) summed term by term in log space (independent of the beta function)."""
    log_p, log_q = math.log(p), math.log1p(-p)
    return math.fsum(
        math.exp(
            math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
            + i * log_p + (n - i) * log_q
        )
        for i in range(k + 1)
    )


def test_none_present_of_1000_is_about_0_30_percent() -> None:
    bound = present_upper_95(0, 1000)
    assert bound == pytest.approx(0.0030, abs=0.00005)
    assert bound == pytest.approx(1 - 0.05 ** (1 / 1000), rel=1e-12)


@pytest.mark.parametrize(
    ("present", "checked"),
    [(0, 1), (0, 10), (1, 10), (2, 5), (3, 20), (5, 40), (1, 30), (12, 30)],
)
def test_matches_exact_rational_binomial_sums(present: int, checked: int) -> None:
    low, high = exact_bound(present, checked)
    bound = present_upper_95(present, checked)
    assert float(low) * (1 - 1e-12) <= bound <= float(high) * (1 + 1e-12)


@pytest.mark.parametrize("checked", [1, 10, 1000, 123_457, 10_000_000])
def test_closed_forms_at_both_edges(checked: int) -> None:
    # 0 present: (1 - p)^n = 0.05.  n - 1 present: 1 - p^n = 0.05.
    assert present_upper_95(0, checked) == pytest.approx(
        -math.expm1(math.log(0.05) / checked), rel=1e-9
    )
    if checked > 1:
        assert present_upper_95(checked - 1, checked) == pytest.approx(
            0.95 ** (1 / checked), rel=1e-12
        )


def test_nothing_checked_or_everything_present_bounds_nothing() -> None:
    assert present_upper_95(0, 0) == 1.0
    assert present_upper_95(7, 7) == 1.0


@pytest.mark.parametrize(("present", "checked"), [(-1, 10), (11, 10), (0, -1)])
def test_impossible_counts_are_refused(present: int, checked: int) -> None:
    with pytest.raises(ValueError, match="present <= checked"):
        present_upper_95(present, checked)


def test_monotone_in_present() -> None:
    bounds = [present_upper_95(present, 500) for present in range(501)]
    assert all(a < b for a, b in pairwise(bounds))


def test_ten_million_checked_with_many_present_still_answers() -> None:
    # The half-present case needs the longest continued fraction; it must still converge.
    assert present_upper_95(5_000_000, 10_000_000) == pytest.approx(0.50026, abs=1e-5)
    assert present_upper_95(5, 10_000_000) == pytest.approx(1.0513e-6, rel=1e-4)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), checked=st.integers(min_value=1, max_value=3000))
def test_the_bound_leaves_five_percent_below_it(data: st.DataObject, checked: int) -> None:
    present = data.draw(st.integers(min_value=0, max_value=checked - 1))
    bound = present_upper_95(present, checked)
    assert 0 < bound < 1
    assert bound > present / checked
    assert log_space_cdf(present, checked, bound) == pytest.approx(0.05, rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    checked=st.integers(min_value=2, max_value=100_000),
    share=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_more_present_never_lowers_the_bound(checked: int, share: float) -> None:
    present = min(int(share * checked), checked - 1)
    assert present_upper_95(present, checked) < present_upper_95(present + 1, checked)
    # More checked for the same present tightens it.
    assert present_upper_95(present, checked + 1) < present_upper_95(present, checked)


def _batches(count: int, size: int) -> list[Batch]:
    return [Batch(seq, 0, 0, [f"{seq}-{n}" for n in range(size)]) for seq in range(count)]


def test_reservoir_takes_everything_when_the_population_is_smaller() -> None:
    ids = [i for b in _batches(3, 4) for i in b.ids]
    assert sorted(reservoir(_batches(3, 4), 50, random.Random(1))) == sorted(ids)


def test_reservoir_is_repeatable_by_seed_and_differs_across_seeds() -> None:
    first = reservoir(_batches(50, 100), 100, random.Random(42))
    assert len(first) == len(set(first)) == 100
    assert reservoir(_batches(50, 100), 100, random.Random(42)) == first
    assert reservoir(_batches(50, 100), 100, random.Random(43)) != first


def test_reservoir_is_uniform_over_positions() -> None:
    """Every one of 60 IDs, in batches of uneven length, is drawn about equally often: a
    chi-square over 6,000 samples of 5 stays far below what any bias would give."""
    batches = [Batch(0, 0, 0, [str(n) for n in range(7)]),
               Batch(1, 0, 0, [str(n) for n in range(7, 8)]),
               Batch(2, 0, 0, [str(n) for n in range(8, 60)])]
    draws: Counter[str] = Counter()
    for seed in range(6000):
        draws.update(reservoir(batches, 5, random.Random(seed)))
    expected = 6000 * 5 / 60
    chi2 = sum((draws[str(n)] - expected) ** 2 / expected for n in range(60))
    assert len(draws) == 60
    assert chi2 < 110, chi2  # 59 degrees of freedom: p < 1e-5 beyond 110
