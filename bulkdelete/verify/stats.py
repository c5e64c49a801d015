"""A verify's statistics, standard library only: the seeded uniform sample, the exact
one-sided 95 % upper bound on the share still present (Clopper–Pearson, docs/verify.md):
honest for small counts (0 of 1,000 gives about 0.30 %, never 0), and the exact two-sided
95 % interval the baseline states on the share present before the delete."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable

from bulkdelete.batcher import Batch
from bulkdelete.sample import Reservoir

CONFIDENCE = 0.95

# The continued fraction converges in about sqrt(min(a, b)) terms; this cap is far above
# what ten million checked IDs need, and only guards against a non-converging input.
_MAX_TERMS = 100_000
_EPSILON = 1e-15
_TINY = 1e-300
_BISECTIONS = 200
# Below this many factors, log B(a, b) is summed directly rather than from lgamma.
_DIRECT_SUM = 1_000


def present_upper_95(present: int, checked: int) -> float:
    _check_counts(present, checked, "present")
    if checked == 0 or present == checked:
        return 1.0
    return _upper(present, checked, 1.0 - CONFIDENCE)


def interval_95(found: int, checked: int) -> tuple[float, float]:
    """The exact two-sided 95 % interval on a share from ``found`` of ``checked``
    (Clopper–Pearson, docs/verify.md): 2.5 % on each side; (0, 1) when nothing was checked."""
    _check_counts(found, checked, "found")
    tail = (1.0 - CONFIDENCE) / 2
    # P(X >= found) = I_p(found, checked - found + 1) rises with the share p: the lower
    # bound is where it crosses the tail.
    low = 0.0 if found == 0 else _crossing(
        lambda p: _regularized_beta(found, checked - found + 1, p) < tail)[0]
    high = 1.0 if found == checked else _upper(found, checked, tail)
    return low, high


def _check_counts(found: int, checked: int, name: str) -> None:
    if checked < 0 or not 0 <= found <= checked:
        raise ValueError(f"need 0 <= {name} <= checked, got {found} of {checked}")


def _upper(found: int, checked: int, tail: float) -> float:
    # P(X <= found) = 1 - I_p(found + 1, checked - found) falls as the share p grows: the
    # bound is where it crosses the tail.
    return _crossing(lambda p: 1.0 - _regularized_beta(found + 1, checked - found, p) > tail)[1]


def _crossing(below: Callable[[float], bool]) -> tuple[float, float]:
    """The two ends of where ``below`` turns false as p grows; bisection keeps p strictly
    inside (0, 1)."""
    low, high = 0.0, 1.0
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if below(middle):
            low = middle
        else:
            high = middle
    return low, high


def _regularized_beta(a: int, b: int, x: float) -> float:
    """I_x(a, b) for whole a, b > 0 and 0 < x < 1."""
    # The continued fraction converges fast only left of the mean; use the symmetry
    # I_x(a, b) = 1 - I_{1-x}(b, a) on the other side.
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _beta_series(b, a, 1.0 - x, math.log1p(-x), math.log(x))
    return _beta_series(a, b, x, math.log(x), math.log1p(-x))


def _beta_series(a: int, b: int, x: float, log_x: float, log_1mx: float) -> float:
    # Logs passed in so that 1 - x is never formed for a tiny share, where it would round.
    log_front = a * log_x + b * log_1mx - _log_beta(a, b)
    return math.exp(log_front) * _continued_fraction(a, b, x) / a


def _log_beta(a: int, b: int) -> float:
    small, large = min(a, b), max(a, b)
    if small > _DIRECT_SUM:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    # lgamma(a + b) - lgamma(b) for a huge b and a small a loses digits to cancellation
    # (both are ~1e8 at ten million), which would shift the bound of 0 present; the
    # ratio (a+b-1)! / (b-1)! as a sum of logs is exact to rounding.
    return math.lgamma(small) - math.fsum(math.log(large + i) for i in range(small))


def _continued_fraction(a: float, b: float, x: float) -> float:
    """Of I_x(a, b), by the modified Lentz method."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= d * c
        if abs(d * c - 1.0) < _EPSILON:
            return result
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def reservoir(batches: Iterable[Batch], size: int, rng: random.Random) -> list[str]:
    """A uniform sample of ``size`` (>= 1) IDs in one pass (:class:`Reservoir`)."""
    drawn = Reservoir(size, rng)
    for batch in batches:
        drawn.add(batch.ids)
    return drawn.sample
