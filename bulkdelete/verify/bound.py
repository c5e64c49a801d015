"""Placeholder for the exact 95 % upper bound on the share still present (docs/verify.md);
replaced by the real implementation."""

from __future__ import annotations

import math


def present_upper_95(present: int, checked: int) -> float:
    """One-sided 95 % upper confidence bound on the share present, from ``present`` of
    ``checked``; 1.0 when nothing was checked."""
    if checked <= 0:
        return 1.0
    if present <= 0:
        return 1 - math.pow(0.05, 1 / checked)
    if present >= checked:
        return 1.0
    low, high = present / checked, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if _cdf(present, checked, mid) > 0.05:
            low = mid
        else:
            high = mid
    return high


def _cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    lp, lq = math.log(p), math.log1p(-p)
    return sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                        + i * lp + (n - i) * lq) for i in range(k + 1))
