"""A cheap content fingerprint that binds a checkpoint to its input file (docs/guarantees.md §3).

A resume must start within a second, so 3 MiB is read whatever the size (the first and last
MiB, 16 blocks between). Not the mtime: copying or touching a file must not orphan its
checkpoint. For ``.gz`` the compressed bytes: a recompressed file is another input.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO, Final

from bulkdelete.errors import InputError
from bulkdelete.reader.source import open_regular

#: Bytes hashed at the start and at the end of the file.
HEAD_BYTES: Final = 1 << 20
#: Size of each sampled block between head and tail, and how many there are.
SAMPLE_BYTES: Final = 64 << 10
SAMPLE_COUNT: Final = 16

# Bumped whenever what is hashed changes, so an old checkpoint reads as "another input"
# instead of comparing digests of different things.
_VERSION: Final = "v1"


def sampled_ranges(size: int) -> list[tuple[int, int]]:
    """The ``(start, end)`` ranges hashed, by the size alone (a small file whole)."""
    if size <= 2 * HEAD_BYTES + SAMPLE_COUNT * SAMPLE_BYTES:
        return [(0, size)] if size else []
    ranges = [(0, HEAD_BYTES)]
    # Evenly over the middle, from right after the head to right before the tail.
    first, last = HEAD_BYTES, size - HEAD_BYTES - SAMPLE_BYTES
    for index in range(SAMPLE_COUNT):
        start = first + (last - first) * index // (SAMPLE_COUNT - 1)
        ranges.append((start, start + SAMPLE_BYTES))
    ranges.append((size - HEAD_BYTES, size))
    return ranges


def fingerprint(path: Path) -> str:
    """``"v1:<size>:<sha256 hex>"`` over the size and :func:`sampled_ranges` of *path*."""
    fd, size = open_regular(path)
    with os.fdopen(fd, "rb") as stream:
        digest = hashlib.sha256(f"{_VERSION}:{size}:".encode())
        for start, end in sampled_ranges(size):
            stream.seek(start)
            remaining = end - start
            while remaining:
                data = _read(stream, path, min(remaining, HEAD_BYTES))
                if not data:
                    # Shrunk while read: never bind a checkpoint to half a file.
                    raise InputError(
                        f"input file {path} changed while being read; wait until it is "
                        "complete and run again"
                    )
                digest.update(data)
                remaining -= len(data)
    return f"{_VERSION}:{size}:{digest.hexdigest()}"


def _read(stream: BinaryIO, path: Path, size: int) -> bytes:
    try:
        return stream.read(size)
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror}") from None
