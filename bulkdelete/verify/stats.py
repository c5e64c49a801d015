"""A verify's statistics, standard library only: the seeded uniform sample, and the exact
one-sided 95 % upper bound on the share still present (Clopper–Pearson, docs/verify.md):
honest for small counts (0 of 1,000 gives about 0.30 %, never 0)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from bulkdelete.batcher import Batch

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
    if checked < 0 or not 0 <= present <= checked:
        raise ValueError(f"need 0 <= present <= checked, got {present} of {checked}")
    if checked == 0 or present == checked:
        return 1.0
    alpha = 1.0 - CONFIDENCE
    # P(X <= present) = 1 - I_p(present + 1, checked - present) falls as the share p grows:
    # the bound is where it crosses alpha. Bisection keeps p strictly inside (0, 1).
    low, high = 0.0, 1.0
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if 1.0 - _regularized_beta(present + 1, checked - present, middle) > alpha:
            low = middle
        else:
            high = middle
    return high


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
    """A uniform sample of ``size`` (>= 1) IDs in one pass and ``size`` memory: Li's
    Algorithm L draws random numbers only for the IDs it takes, so costs little more than
    the read."""
    sample: list[str] = []
    weight = 0.0
    take = 0  # position of the next ID to take into the full sample
    position = 0  # position of the batch's first ID among all the IDs read
    for batch in batches:
        ids = batch.ids
        end = position + len(ids)
        if len(sample) < size:
            filled = min(size - len(sample), len(ids))
            sample += ids[:filled]
            if len(sample) == size:
                weight = _draw(rng, size)
                take = position + filled - 1 + _skip(rng, weight)
        while len(sample) == size and take < end:
            sample[rng.randrange(size)] = ids[take - position]
            weight *= _draw(rng, size)
            take += _skip(rng, weight)
        position = end
    return sample


def _draw(rng: random.Random, size: int) -> float:
    # 1 - random() is in (0, 1]: never log(0).
    return math.exp(math.log(1.0 - rng.random()) / size)


def _skip(rng: random.Random, weight: float) -> int:
    if weight >= 1.0:  # so close to 1 that the sample is not yet full in effect
        return 1
    return math.floor(math.log(1.0 - rng.random()) / math.log1p(-weight)) + 1
