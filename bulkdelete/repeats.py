"""How many IDs of an input repeat an earlier one (docs/report.md), in bounded memory: each ID's
hash (keyed per process: no ID can be recovered) goes to a bucket by its top bits, spilled to
an unnamed file, each bucket counted with a set. Exact but for hash collisions (one chance in
300,000 at ten million distinct IDs)."""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Sequence
from typing import IO, Final

_SHIFT: Final = 56  # a hash's top 8 bits pick its bucket
_BUCKETS: Final = 256  # h >> _SHIFT is -128..127: a negative index picks from the end
_SPILL_AT: Final = 1 << 19  # hashes held in the buckets (8 bytes each) before going to disk


class RepeatCounter:
    """:meth:`add` every valid ID, :meth:`count` the repeats; a context manager for the file."""

    def __init__(self) -> None:
        self._buckets = [array("q") for _ in range(_BUCKETS)]
        self._held = 0
        self._spilled: IO[bytes] | None = None  # one file: each spill appends every bucket
        # Per bucket, where its spilled runs lie in that file: (first hash, count).
        self._segments: list[list[tuple[int, int]]] = [[] for _ in range(_BUCKETS)]

    def __enter__(self) -> RepeatCounter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def add(self, ids: Sequence[str]) -> None:
        buckets = self._buckets
        for h in map(hash, ids):
            buckets[h >> _SHIFT].append(h)
        self._held += len(ids)
        if self._held >= _SPILL_AT:
            self._spill()

    def count(self) -> int:
        repeats = 0
        for index, bucket in enumerate(self._buckets):
            if self._spilled is not None:
                for first, size in self._segments[index]:
                    self._spilled.seek(first * 8)
                    bucket.fromfile(self._spilled, size)
                self._segments[index] = []
            repeats += len(bucket) - len(set(bucket))
            self._buckets[index] = array("q")
        self._held = 0
        self.close()
        return repeats

    def close(self) -> None:
        if self._spilled is not None:
            self._spilled.close()
            self._spilled = None

    def _spill(self) -> None:
        if self._spilled is None:
            self._spilled = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        end = self._spilled.seek(0, os.SEEK_END) // 8
        for index, bucket in enumerate(self._buckets):
            if bucket:
                self._segments[index].append((end, len(bucket)))
                end += len(bucket)
                bucket.tofile(self._spilled)
                self._buckets[index] = array("q")
        self._held = 0
