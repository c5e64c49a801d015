"""A seeded uniform sample of a stream of IDs in one pass and ``size`` memory (Li's
Algorithm L), fed a few IDs at a time: by the pre-count as it reads the input (the baseline's
sample, docs/verify.md) and by verify's sample of the deleted IDs. It draws random numbers
only for the IDs it takes, so costs little more than the read; where the chunks fall never
changes what it draws."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


class Reservoir:
    __slots__ = ("_position", "_rng", "_take", "_weight", "sample", "size")

    def __init__(self, size: int, rng: random.Random) -> None:
        if size < 1:
            raise ValueError(f"a sample holds at least 1 ID, got {size}")
        self.size = size
        self.sample: list[str] = []
        self._rng = rng
        self._weight = 0.0
        self._take = 0  # position of the next ID to take into the full sample
        self._position = 0  # position of the next chunk's first ID among all the IDs read

    def add(self, ids: Sequence[str]) -> None:
        sample, size, rng = self.sample, self.size, self._rng
        position = self._position
        end = position + len(ids)
        if len(sample) < size:
            filled = min(size - len(sample), len(ids))
            sample += ids[:filled]
            if len(sample) == size:
                self._weight = _draw(rng, size)
                self._take = position + filled - 1 + _skip(rng, self._weight)
        while len(sample) == size and self._take < end:
            sample[rng.randrange(size)] = ids[self._take - position]
            self._weight *= _draw(rng, size)
            self._take += _skip(rng, self._weight)
        self._position = end


def _draw(rng: random.Random, size: int) -> float:
    # 1 - random() is in (0, 1]: never log(0).
    return math.exp(math.log(1.0 - rng.random()) / size)


def _skip(rng: random.Random, weight: float) -> int:
    if weight >= 1.0:  # so close to 1 that the sample is not yet full in effect
        return 1
    return math.floor(math.log(1.0 - rng.random()) / math.log1p(-weight)) + 1
