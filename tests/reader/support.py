"""Helpers the reader's tests share: writing inputs, reading them, and checking that a
resumed read is the tail of the full one."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from bulkdelete.batcher import make_batches, summarize
from bulkdelete.errors import InputError
from bulkdelete.reader import Blank, Input, InputFormat, InvalidLine, Record

BOM = b"\xef\xbb\xbf"
# Stands for personal data: it must never reach a reason or an error message.
SECRET = "SECRET-ID-4711"

Item = Record | InvalidLine | Blank


def write(path: Path, data: bytes) -> Path:
    """Write *data* to *path* (gzip-compressed when the name ends in .gz) and return it."""
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def read(
    path: Path,
    fmt: InputFormat = "lines",
    *,
    column: str | None = None,
    id_type: str = "guid",
    start_offset: int = 0,
    start_line: int = 1,
) -> list[Item]:
    return list(
        Input(path, fmt, id_type, column=column).records(start_offset, start_line)
    )


def values(items: list[Item]) -> list[str]:
    return [item.value for item in items if isinstance(item, Record)]


def invalid(items: list[Item]) -> list[tuple[int, str]]:
    return [(item.line, item.reason) for item in items if isinstance(item, InvalidLine)]


def records(items: list[Item]) -> list[tuple[str, int, int]]:
    return [(item.value, item.line, item.offset) for item in items if isinstance(item, Record)]


def assert_private(items: list[Item]) -> None:
    for item in items:
        if isinstance(item, InvalidLine):
            assert SECRET not in item.reason


def assert_offsets(data: bytes, items: list[Item]) -> None:
    """Each record's offset is the start of a physical line holding its value."""
    for item in items:
        if isinstance(item, Record):
            assert (
                item.offset == 0
                or data[item.offset - 1 : item.offset] == b"\n"
                or (item.offset == len(BOM) and data.startswith(BOM))
            )
            assert item.value.encode() in data[item.offset :].split(b"\n", 1)[0] or (
                b"\n" in item.value.encode()
            )


def assert_resumable(path: Path, fmt: InputFormat, size: int) -> None:
    """Resume equals the tail: from any batch's (offset, line), the batches from it on;
    from any record's, the records from it on."""
    reference = read(path, fmt)
    batches = list(make_batches(reference, size))
    assert summarize(reference, size).batches_total == len(batches)
    for index, batch in enumerate(batches):
        tail = Input(path, fmt, "guid").records(batch.offset, batch.line)
        assert list(make_batches(tail, size, first_seq=batch.seq)) == batches[index:]
    for index, item in enumerate(reference):
        if isinstance(item, Record) and index % 3 == 0:
            resumed = read(path, fmt, start_offset=item.offset, start_line=item.line)
            assert resumed == reference[index:]


def guids(count: int) -> list[str]:
    return [f"{n:032x}" for n in range(7, 7 + count)]


def input_error(items: Iterable[object]) -> str:
    with pytest.raises(InputError) as caught:
        list(items)
    return str(caught.value)


def lenient_values(data: bytes, column: int = 0, delimiter: str = ",") -> Counter[str]:
    """The ID column's values per the csv module's own record parsing (its default, lenient
    rules, no field limit), a record it cannot parse skipped as csv skips it; the header
    left out. The reference every CSV property test holds the reader to."""
    lines = [part + b"\n" for part in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    saved = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        rows = csv.reader((line.decode() for line in lines if line), delimiter=delimiter)
        out: Counter[str] = Counter()
        first = True
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return out
            except csv.Error:
                continue
            if not first and column < len(row):
                out[row[column].strip()] += 1
            first = False
    finally:
        csv.field_size_limit(saved)
