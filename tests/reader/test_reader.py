"""The reader's public API: format detection, gzip, exact resumes from any record in every
format, and reasons that never hold an ID."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkdelete.errors import InputError, UsageError
from bulkdelete.reader import Input, InputFormat, Record, detect_format, source
from tests.reader.support import (
    BOM,
    SECRET,
    Item,
    assert_private,
    assert_resumable,
    guids,
    input_error,
    invalid,
    read,
    write,
)
from tests.strategies import (
    BLOCKS,
    SIZES,
    resume_content,
    resume_pieces,
    structured_content,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ids.txt", "lines"),
        ("ids", "lines"),
        ("ids.json", "lines"),
        ("ids.csv", "csv"),
        ("IDS.CSV", "csv"),
        ("ids.csv.gz", "csv"),
        ("ids.jsonl", "jsonl"),
        ("ids.ndjson", "jsonl"),
        ("ids.jsonl.gz", "jsonl"),
        ("ids.txt.gz", "lines"),
        ("ids.gz", "lines"),
    ],
)
def test_detect_format_auto_goes_by_extension_after_gz(name: str, expected: str) -> None:
    """auto strips a trailing .gz, then .csv is CSV, .jsonl/.ndjson JSON Lines, else lines."""
    assert detect_format(Path(name), "auto") == expected


@pytest.mark.parametrize("fmt", ["lines", "csv", "jsonl"])
def test_detect_format_explicit_format_wins_over_extension(fmt: str) -> None:
    """An explicit --format is used whatever the file is called."""
    assert detect_format(Path("ids.csv"), fmt) == fmt


def test_detect_format_rejects_unknown_format() -> None:
    """An unknown --format value is a usage error naming the valid ones."""
    with pytest.raises(UsageError, match="auto, lines, csv, jsonl"):
        detect_format(Path("ids.txt"), "xml")


@pytest.mark.parametrize(
    ("name", "fmt", "data"),
    [
        ("ids.txt", "lines", BOM + b"a\r\n\n b \nc"),
        ("ids.csv", "csv", b'guid,n\ng1,"x\ny"\ng2,1\n'),
        ("ids.jsonl", "jsonl", b'{"guid": "a"}\n\n{"guid": "b"}\n'),
    ],
)
def test_gz_is_read_transparently_with_decompressed_offsets(
    tmp_path: Path, name: str, fmt: InputFormat, data: bytes
) -> None:
    """A .gz file yields exactly what the plain file does, offsets included."""
    plain = read(write(tmp_path / name, data), fmt)
    assert plain
    assert read(write(tmp_path / f"{name}.gz", data), fmt) == plain


def test_gz_that_is_not_gzip_raises_input_error(tmp_path: Path) -> None:
    """Plain text named .gz is an InputError saying it is not valid gzip, quoting nothing."""
    path = tmp_path / "ids.txt.gz"
    path.write_bytes(f"{SECRET}\n".encode())
    with pytest.raises(InputError, match="not valid gzip") as caught:
        read(path)
    assert "SE" not in str(caught.value).replace(str(path), "")


def test_truncated_gz_raises_input_error(tmp_path: Path) -> None:
    """A gzip file cut short fails with InputError, not an EOFError traceback."""
    path = tmp_path / "ids.txt.gz"
    path.write_bytes(gzip.compress(b"".join(b"id%d\n" % i for i in range(50_000)))[:-100])
    with pytest.raises(InputError, match="not valid gzip"):
        read(path)


def test_resume_lines_from_an_offset(tmp_path: Path) -> None:
    """Resuming from a record's (offset, line) yields exactly the rest of the file."""
    path = write(tmp_path / "ids.txt", b"a\n\nb\nc\n")
    full = read(path)
    third = full[2]  # after "a" and the blank line 2
    assert isinstance(third, Record)
    assert read(path, start_offset=third.offset, start_line=third.line) == full[2:]


def test_resume_csv_rereads_header(tmp_path: Path) -> None:
    """A CSV resume re-reads the header (for the column) and then seeks."""
    path = write(tmp_path / "ids.csv", b"n,guid\n1,a\n2,b\n3,c\n")
    full = read(path, "csv")
    second = full[1]
    assert isinstance(second, Record)
    resumed = read(path, "csv", start_offset=second.offset, start_line=second.line)
    assert resumed == full[1:]


def test_resume_jsonl_does_not_recheck_first_object(tmp_path: Path) -> None:
    """A JSON Lines resume treats a missing field as one invalid line, not a wrong field."""
    path = write(tmp_path / "ids.jsonl", b'{"guid": "a"}\n{"guid": "b"}\n{"x": 1}\n')
    full = read(path, "jsonl")
    second = full[1]
    assert isinstance(second, Record)
    resumed = read(path, "jsonl", start_offset=second.offset, start_line=second.line)
    assert resumed == full[1:]
    assert invalid(resumed) == [(3, "no field 'guid'")]


def _check_resume(path: Path, fmt: InputFormat, full: list[Item]) -> None:
    for index, item in enumerate(full):
        if isinstance(item, Record):
            tail = read(path, fmt, start_offset=item.offset, start_line=item.line)
            assert tail == full[index:]


@pytest.mark.parametrize("fmt", ["lines", "csv", "jsonl"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_resume_from_any_record_yields_the_tail_whatever_the_block_size(
    tmp_path: Path, fmt: InputFormat, compressed: bool, data: st.DataObject
) -> None:
    """For any content: resuming from any record's (offset, line) yields exactly the tail of
    a full read, and a full read is the same whatever size the read blocks are.

    Blocks and the line limit are shrunk to a few bytes so that block boundaries, lines
    spanning blocks and over-long lines all occur in small files.
    """
    pieces = data.draw(resume_pieces(fmt), label="pieces")
    block = data.draw(st.sampled_from([1, 2, 3, 7, 16, 4096]), label="block")
    path = write(tmp_path / f"ids.{fmt}{'.gz' if compressed else ''}", resume_content(fmt, pieces))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source, "MAX_LINE_BYTES", 48)
        patch.setattr(source, "_BLOCK_SIZE", 4096)
        reference = read(path, fmt)
        patch.setattr(source, "_BLOCK_SIZE", block)
        full = read(path, fmt)
        assert full == reference
        _check_resume(path, fmt, full)


def _bad_inputs() -> Iterator[tuple[str, InputFormat, bytes]]:
    secret = SECRET.encode()
    yield "ids.txt", "lines", secret + b"\xff\n" + secret + b"\x01\n" + secret * 40 + b"\n"
    yield "ids.csv", "csv", b"guid\n" + secret + b"\xff\n" + secret + b'\x01\n"' + secret
    yield "ids.jsonl", "jsonl", b'{"guid": "a"}\n' + secret + b"\n" + b'{"x": "' + secret + b'"}'


@pytest.mark.parametrize(("name", "fmt", "data"), list(_bad_inputs()))
def test_reasons_never_contain_ids(
    tmp_path: Path, name: str, fmt: InputFormat, data: bytes
) -> None:
    """Whatever the bad line holds, its reason holds none of it."""
    items = read(write(tmp_path / name, data), fmt)
    assert invalid(items)
    assert_private(items)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), block=BLOCKS, size=SIZES)
def test_csv_and_jsonl_batches_resume_as_the_tail(
    tmp_path: Path,
    fmt: InputFormat,
    compressed: bool,
    data: st.DataObject,
    block: int,
    size: int,
) -> None:
    """CSV and JSON Lines: reading from any batch's (offset, line) regenerates exactly the
    batches from it on."""
    content = data.draw(structured_content(fmt), label="content")
    path = write(tmp_path / f"ids.{fmt}{'.gz' if compressed else ''}", content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source, "MAX_LINE_BYTES", 48)
        patch.setattr(source, "_BLOCK_SIZE", block)
        assert_resumable(path, fmt, size)


def test_empty_and_bom_only_files_yield_nothing(tmp_path: Path) -> None:
    assert read(write(tmp_path / "empty.txt", b"")) == []
    assert read(write(tmp_path / "bom.txt", BOM)) == []
    assert read(write(tmp_path / "empty.csv", b""), "csv") == []


@pytest.mark.parametrize(
    ("name", "fmt", "data", "expected"),
    [
        ("ids.csv", "csv", b"a,b\n1,2\n", "none is named 'guid'"),
        ("ids.jsonl", "jsonl", b'{"id": "a"}\n', "field 'guid' not found"),
        ("ids.txt.gz", "lines", b"not gzip at all", "not valid gzip"),
    ],
)
def test_unusable_files_are_input_errors(
    tmp_path: Path, name: str, fmt: InputFormat, data: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert expected in input_error(Input(path, fmt, "guid").records())


def test_missing_file_raises_input_error(tmp_path: Path) -> None:
    missing = Input(tmp_path / "no.txt", "lines", "g").records()
    assert "not found" in input_error(missing)


def test_truncated_gz_yields_what_it_can_before_failing(tmp_path: Path) -> None:
    """A gz cut short yields the records before the cut, then an InputError."""
    ids = guids(200_000)
    data = gzip.compress(b"".join(i.encode() + b"\n" for i in ids))
    path = tmp_path / "ids.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    got: list[Item] = []
    with pytest.raises(InputError, match="not valid gzip"):
        got.extend(Input(path, "lines", "guid").records())
    assert got
    assert [item.value for item in got if isinstance(item, Record)] == ids[: len(got)]


@pytest.mark.parametrize(
    ("name", "fmt", "data"),
    [
        ("ids.txt.gz", "lines", b"a\nb\nc\n"),
        ("ids.csv", "csv", b"guid\na\nb\n"),
        ("ids.jsonl", "jsonl", b'{"guid": "a"}\n\n{"guid": "b"}\n'),
    ],
)
def test_abandoned_reader_closes_its_file(
    tmp_path: Path, name: str, fmt: InputFormat, data: bytes
) -> None:
    """Stopping early and closing the iterator closes the file (no ResourceWarning)."""
    items = Input(write(tmp_path / name, data), fmt, "guid").records()
    first = next(items)
    assert isinstance(first, Record)
    assert first.value == "a"
    items.close()
