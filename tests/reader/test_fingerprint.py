"""The input fingerprint that binds a checkpoint to its file (docs/guarantees.md §3)."""

from __future__ import annotations

import gzip
import itertools
import os
import re
from pathlib import Path

import pytest

from bulkdelete.errors import InputError
from bulkdelete.reader.guard import (
    HEAD_BYTES,
    SAMPLE_BYTES,
    SAMPLE_COUNT,
    fingerprint,
    sampled_ranges,
)

BIG = 9 << 20  # well past head + samples + tail, so sampling is in play


@pytest.fixture(scope="module")
def big_content() -> bytes:
    return os.urandom(BIG)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def flipped(data: bytes, position: int) -> bytes:
    """*data* with the byte at *position* changed."""
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]


def outside_every_range(size: int) -> int:
    """A byte position no sampled range covers."""
    ranges = sampled_ranges(size)
    for (_, end), (start, _) in itertools.pairwise(ranges):
        if start > end:
            return end
    raise AssertionError("the sampled ranges cover the whole file")


def test_format_is_version_size_and_sha256(tmp_path: Path) -> None:
    """The fingerprint reads "v1:<size>:<64 hex digits>"."""
    value = fingerprint(write(tmp_path / "ids.txt", b"abc\n"))
    assert re.fullmatch(r"v1:4:[0-9a-f]{64}", value)


def test_same_content_same_fingerprint(tmp_path: Path, big_content: bytes) -> None:
    """Two files with the same bytes (and different names) fingerprint alike."""
    assert fingerprint(write(tmp_path / "a", big_content)) == fingerprint(
        write(tmp_path / "b", big_content)
    )


def test_empty_file_has_a_fingerprint(tmp_path: Path) -> None:
    """An empty file fingerprints (size 0) without error."""
    assert fingerprint(write(tmp_path / "empty", b"")).startswith("v1:0:")


@pytest.mark.parametrize("where", ["head", "tail", "first sample", "middle sample", "last sample"])
def test_one_byte_changed_in_a_hashed_region_changes_it(
    tmp_path: Path, big_content: bytes, where: str
) -> None:
    """A single changed byte in the head, the tail or any sampled block is noticed."""
    ranges = sampled_ranges(BIG)
    start, end = {
        "head": ranges[0],
        "tail": ranges[-1],
        "first sample": ranges[1],
        "middle sample": ranges[len(ranges) // 2],
        "last sample": ranges[-2],
    }[where]
    position = (start + end) // 2
    original = fingerprint(write(tmp_path / "a", big_content))
    assert fingerprint(write(tmp_path / "b", flipped(big_content, position))) != original


def test_small_file_is_hashed_whole(tmp_path: Path) -> None:
    """A file small enough is covered byte for byte: any change is noticed."""
    data = os.urandom(2 * HEAD_BYTES + SAMPLE_COUNT * SAMPLE_BYTES)
    assert sampled_ranges(len(data)) == [(0, len(data))]
    original = fingerprint(write(tmp_path / "a", data))
    for position in (0, len(data) // 3, len(data) - 1):
        assert fingerprint(write(tmp_path / "b", flipped(data, position))) != original


def test_size_change_changes_it(tmp_path: Path, big_content: bytes) -> None:
    """Appending or removing a byte changes the fingerprint, even with head and tail alike."""
    original = fingerprint(write(tmp_path / "a", big_content))
    assert fingerprint(write(tmp_path / "b", big_content + b"\n")) != original
    assert fingerprint(write(tmp_path / "c", big_content[:-1])) != original


def test_mtime_alone_does_not_change_it(tmp_path: Path, big_content: bytes) -> None:
    """Touching the file (new mtime, same bytes) keeps the fingerprint."""
    path = write(tmp_path / "a", big_content)
    original = fingerprint(path)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    assert fingerprint(path) == original


def test_change_between_samples_goes_unseen(tmp_path: Path, big_content: bytes) -> None:
    """The documented price of a cheap fingerprint: a same-size edit between samples is not
    seen by it."""
    position = outside_every_range(BIG)
    a = write(tmp_path / "a", big_content)
    b = write(tmp_path / "b", flipped(big_content, position))
    assert fingerprint(a) == fingerprint(b)


def test_sampled_ranges_are_bounded_ordered_and_inside_the_file() -> None:
    """Whatever the size, about 3 MiB is read: head, 16 evenly spaced blocks, tail."""
    for size in (BIG, 10**9, 10**12):
        ranges = sampled_ranges(size)
        assert len(ranges) == SAMPLE_COUNT + 2
        assert ranges[0] == (0, HEAD_BYTES)
        assert ranges[-1] == (size - HEAD_BYTES, size)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(ranges))
        assert sum(end - start for start, end in ranges) == 2 * HEAD_BYTES + (
            SAMPLE_COUNT * SAMPLE_BYTES
        )


def test_gz_is_fingerprinted_by_its_compressed_bytes(tmp_path: Path) -> None:
    """For .gz the raw file is fingerprinted, not its decompressed content."""
    compressed = gzip.compress(b"a\nb\n")
    gz = write(tmp_path / "ids.txt.gz", compressed)
    assert fingerprint(gz) == fingerprint(write(tmp_path / "raw.bin", compressed))
    assert fingerprint(gz) != fingerprint(write(tmp_path / "ids.txt", b"a\nb\n"))


def test_unreadable_inputs_raise_input_error(tmp_path: Path) -> None:
    """A missing file, a directory or a FIFO is an InputError, and a FIFO does not hang."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not found"):
        fingerprint(tmp_path / "missing")
    with pytest.raises(InputError, match="directory"):
        fingerprint(tmp_path)
    with pytest.raises(InputError, match="not a regular file"):
        fingerprint(fifo)
