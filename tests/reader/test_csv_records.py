"""CSV records end where the csv module ends them, however long they are, and whatever
bad quotes they hold (docs/guarantees.md §0): the IDs read are exactly the ID column's
values, a record too long to hold is one invalid record, and reading never restarts
inside a quoted field."""

from __future__ import annotations

import collections
import csv
import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bulkdelete.reader import Blank, Input, InvalidLine, Record, source
from bulkdelete.reader import csv as csv_reader
from bulkdelete.reader.csv import (
    REASON_FIELD_TOO_LONG,
    REASON_MALFORMED_CSV,
    REASON_RECORD_TOO_LONG,
    REASON_UNBALANCED_QUOTE,
)
from bulkdelete.reader.source import REASON_LINE_TOO_LONG
from tests.reader.support import (
    lenient_values,
    read,
    values,
    write,
)
from tests.strategies import (
    csv_bodies,
)

HEADER = b"id,note\n"


Expected = tuple[str, int, int]  # value, line, offset


@contextmanager
def limits(*, record: int, field: int, block: int) -> Iterator[None]:
    """Small bounds, so short inputs exercise the over-long paths and read-block edges."""
    saved = csv.field_size_limit()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_reader, "MAX_LINE_BYTES", record)
        patch.setattr(source, "_BLOCK_SIZE", block)
        csv.field_size_limit(field)
        try:
            yield
        finally:
            csv.field_size_limit(saved)


def reference(data: bytes, *, record_limit: int, field_limit: int) -> list[Expected] | None:
    """The ID column's values per the csv module itself (no field limit), with where each
    record starts; records over either bound are left out. None when csv cannot parse."""
    # Physical lines as the reader sees them: split on LF only.
    lines = [part + b"\n" for part in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    saved = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        rows = csv.reader((line.decode() for line in lines), strict=True)
        out: list[Expected] = []
        done = 0  # lines consumed by the records before this one
        offset = 0
        try:
            for row in rows:
                size = sum(map(len, lines[done:rows.line_num]))
                start_line = done + 1
                start_offset = offset
                done, offset = rows.line_num, offset + size
                if start_line == 1 or not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if size > record_limit or max(map(len, row)) > field_limit or not row[0]:
                    continue
                value = row[0].strip()
                if value and value.isprintable():
                    out.append((value, start_line, start_offset))
        except csv.Error:
            return None
        return out
    finally:
        csv.field_size_limit(saved)


def got(path: Path, start_offset: int = 0, start_line: int = 1) -> list[Expected]:
    return [(item.value, item.line, item.offset)
            for item in Input(path, "csv", "guid", column="id").records(start_offset, start_line)
            if isinstance(item, Record)]


@settings(deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=csv_bodies(), record_limit=st.integers(8, 300), field_limit=st.integers(4, 120),
       block=st.integers(1, 64), gz=st.booleans())
def test_ids_read_are_exactly_the_column_values(
    tmp_path: Path, body: bytes, record_limit: int, field_limit: int, block: int, gz: bool
) -> None:
    """For any CSV the csv module parses, the reader yields exactly the ID column's values
    (those within the bounds), at their records' starts; so does a resume from any of them,
    and the pre-count counts as many."""
    data = HEADER + body
    expected = reference(data, record_limit=record_limit, field_limit=field_limit)
    if expected is None:
        return  # not CSV the csv module parses
    path = tmp_path / ("ids.csv.gz" if gz else "ids.csv")
    path.write_bytes(gzip.compress(data) if gz else data)
    with limits(record=record_limit, field=field_limit, block=block):
        assert got(path) == expected
        for index in {0, len(expected) // 2, len(expected) - 1} if expected else ():
            _, line, offset = expected[index]
            assert got(path, start_offset=offset, start_line=line) == expected[index:]


def _items(path: Path) -> list[Record | InvalidLine | Blank]:
    return list(Input(path, "csv", "guid", column="id").records())


def test_field_over_the_csv_limit_does_not_restart_inside_its_quotes(tmp_path: Path) -> None:
    """The adversarial case: a 140,000-character quoted note holding ID-like lines. Its
    record is invalid; the lines inside the quotes are never read as records."""
    data = (HEADER + b'keep-1,"' + b"A" * 140_000 + b"\nvictim-1,x\nvictim-2,x\"\nkeep-2,ok\n")
    path = tmp_path / "ids.csv"
    path.write_bytes(data)
    items = _items(path)
    assert items == [InvalidLine(2, REASON_FIELD_TOO_LONG),
                     Record("keep-2", 5, len(data) - len(b"keep-2,ok\n"))]


def test_record_over_the_bound_is_one_invalid_record(tmp_path: Path) -> None:
    """A record of quoted fields over many lines, each field within csv's limit but over
    1 MiB in all, is followed to its end; a single line over 1 MiB is one invalid line."""
    notes = b",".join([b'"\nvictim-%d,x' % n + b"B" * 100_000 + b'"' for n in range(12)])
    data = HEADER + b"keep-1," + notes + b"\nkeep-2,ok\n" + b'x,"' + b"C" * 2_000_000
    path = tmp_path / "ids.csv"
    data += b'\nvictim-3"\nkeep-3,ok\n'
    path.write_bytes(data)
    items = _items(path)
    assert [i for i in items if isinstance(i, Record)] == [
        Record("keep-2", 15, data.index(b"keep-2")),
        Record("keep-3", 18, data.index(b"keep-3")),
    ]
    assert [i for i in items if isinstance(i, InvalidLine)] == [
        InvalidLine(2, REASON_RECORD_TOO_LONG), InvalidLine(16, REASON_LINE_TOO_LONG)]


def test_over_long_record_unclosed_at_end_of_file(tmp_path: Path) -> None:
    """A quote opened in a record too long to hold and never closed swallows the rest of the
    file, as the csv module would: nothing after it is read as an ID."""
    path = tmp_path / "ids.csv"
    path.write_bytes(HEADER + b"a," + b'"v\n",' * 250_000 + b'"x\nvictim,y\nvictim')
    items = _items(path)
    assert items == [InvalidLine(2, REASON_UNBALANCED_QUOTE)]
    path.write_bytes(HEADER + b'a,"' + b"x" * 2_000_000 + b"\nvictim,y\nvictim")
    assert _items(path) == [InvalidLine(2, REASON_LINE_TOO_LONG)]


def test_a_bad_quote_does_not_restart_reading_inside_an_open_quoted_field(
    tmp_path: Path,
) -> None:
    """A bad quote, then a quoted field opened on the same line and spanning the next ones:
    the record is invalid and ends where the csv module ends it, so the lines inside the
    still-open field are never read as records."""
    data = (b"email,note,body\n"
            b'alice@example.com,"VIP "gold" tier","Forwarded message\n'
            b"victim@example.com,foo,bar\n"
            b'end of forwarded text"\n'
            b"carol@example.com,a,b\n")
    path = write(tmp_path / "ids.csv", data)
    items = read(path, "csv", column="email")
    assert items == [InvalidLine(2, REASON_MALFORMED_CSV),
                     Record("carol@example.com", 5, data.index(b"carol"))]
    assert set(values(items)) <= set(lenient_values(data))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(st.sampled_from(['a', 'b7', ',', '"', '""', '"x"y', '\n', '\r\n', ' ',
                                      '\r', 'id-1']), max_size=40).map("".join),
       field_limit=st.sampled_from([8, 1 << 17]))
@example(body='"x"y,"\na', field_limit=1 << 17)  # the shape, in small
def test_bad_quotes_never_yield_a_value_the_csv_module_would_not(
    tmp_path: Path, body: str, field_limit: int
) -> None:
    """On any CSV, bad quotes included, every ID the reader yields is a value of the chosen
    column of a record the csv module itself parses: after an error, reading resumes where
    csv's own state machine ends the record, never inside a quoted field."""
    data = HEADER + body.encode()
    path = write(tmp_path / "ids.csv", data)
    saved = csv.field_size_limit()
    csv.field_size_limit(field_limit)
    try:
        got_values = collections.Counter(values(read(path, "csv", column="id")))
    finally:
        csv.field_size_limit(saved)
    assert not got_values - lenient_values(data)
