"""How many IDs repeat an earlier one (docs/report.md), in bounded memory: hashes keyed per
process (no ID recoverable), bucketed, spilled to an unnamed file; exact but for collisions."""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Sequence
from contextlib import ExitStack
from typing import IO, Final

_SHIFT: Final = 56  # a hash's top 8 bits pick its bucket
_BUCKETS: Final = 256  # h >> _SHIFT is -128..127: a negative index picks from the end
_SPILL_AT: Final = 1 << 19  # hashes held in the buckets (8 bytes each) before going to disk


class RepeatCounter(ExitStack):
    """:meth:`add` every valid ID, :meth:`count` the repeats; a context manager for the file."""

    def __init__(self) -> None:
        super().__init__()
        self._buckets = [array("q") for _ in range(_BUCKETS)]
        self._spilled: IO[bytes] | None = None  # one file: each spill appends every bucket
        # Per bucket, where its spilled runs lie in that file: (first hash, count).
        self._segments: list[list[tuple[int, int]]] = [[] for _ in range(_BUCKETS)]

    def add(self, ids: Sequence[str]) -> None:
        buckets = self._buckets
        for h in map(hash, ids):
            buckets[h >> _SHIFT].append(h)
        if sum(map(len, buckets)) >= _SPILL_AT:
            self._spill()

    def count(self) -> int:
        """The repeats over everything added; the counter is spent and its file closed."""
        repeats = 0
        for index, bucket in enumerate(self._buckets):
            for first, size in self._segments[index]:
                spilled = self._file()
                spilled.seek(first * 8)
                bucket.fromfile(spilled, size)
            repeats += len(bucket) - len(set(bucket))
            self._buckets[index] = array("q")
        self.close()
        return repeats

    def _file(self) -> IO[bytes]:
        if self._spilled is None:
            self._spilled = self.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        return self._spilled

    def _spill(self) -> None:
        spilled = self._file()
        end = spilled.seek(0, os.SEEK_END) // 8
        for index, bucket in enumerate(self._buckets):
            if bucket:
                self._segments[index].append((end, len(bucket)))
                end += len(bucket)
                bucket.tofile(spilled)
                self._buckets[index] = array("q")
