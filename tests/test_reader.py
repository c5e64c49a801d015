"""The reader: every bad-input case of spec 4.7 for each format, gzip, and exact resumes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkdelete import reader
from bulkdelete.errors import InputError, UsageError
from bulkdelete.reader import (
    MAX_ID_LENGTH,
    REASON_CONTROL,
    REASON_EMPTY,
    REASON_FIELD_TOO_LONG,
    REASON_LINE_TOO_LONG,
    REASON_MALFORMED_CSV,
    REASON_NOT_OBJECT,
    REASON_TOO_LONG,
    REASON_UNBALANCED_QUOTE,
    REASON_UTF8,
    InputFormat,
    InvalidLine,
    Record,
    check_input_path,
    detect_format,
    read_records,
)

BOM = b"\xef\xbb\xbf"
# Stands for personal data: it must never reach a reason or an error message.
SECRET = "SECRET-ID-4711"

Item = Record | InvalidLine


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
        read_records(
            path,
            fmt,
            column=column,
            id_type=id_type,
            start_offset=start_offset,
            start_line=start_line,
        )
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


# --------------------------------------------------------------------------- detect_format


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


# --------------------------------------------------------------------------- check_input_path


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_check_input_path_refuses_stdin(name: str) -> None:
    """stdin is refused with the reason: a pipe cannot be resumed."""
    with pytest.raises(InputError, match="a pipe cannot be resumed; save the IDs to a file"):
        check_input_path(Path(name))


def test_check_input_path_refuses_fifo_without_blocking(tmp_path: Path) -> None:
    """A FIFO is refused like stdin, and checking it does not wait for a writer."""
    fifo = tmp_path / "ids.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="a pipe cannot be resumed"):
        check_input_path(fifo)


def test_check_input_path_refuses_missing_file(tmp_path: Path) -> None:
    """A missing file says so and names the path."""
    with pytest.raises(InputError, match=r"not found: .*nope\.txt; check the path"):
        check_input_path(tmp_path / "nope.txt")


def test_check_input_path_refuses_directory(tmp_path: Path) -> None:
    """A directory is refused with the hint to pass the file."""
    with pytest.raises(InputError, match="is a directory; pass the file of IDs"):
        check_input_path(tmp_path)


def test_check_input_path_refuses_device() -> None:
    """A character device is not a regular file."""
    with pytest.raises(InputError, match="not a regular file"):
        check_input_path(Path("/dev/null"))


def test_check_input_path_refuses_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that cannot be opened for reading is refused with the permission problem.

    (The open is faked: the tests may run as root, who can read anything.)
    """
    path = write(tmp_path / "ids.txt", b"a\n")

    def deny(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(InputError, match="permission denied; check its permissions"):
        check_input_path(path)


def test_check_input_path_accepts_regular_and_empty_gz(tmp_path: Path) -> None:
    """A regular file passes, and so does an empty .gz (an empty input)."""
    check_input_path(write(tmp_path / "ids.txt", b"a\n"))
    check_input_path(write(tmp_path / "ids.txt.gz", b"a\n"))
    (tmp_path / "empty.gz").write_bytes(b"")
    check_input_path(tmp_path / "empty.gz")


def test_check_input_path_refuses_gz_that_is_not_gzip(tmp_path: Path) -> None:
    """A .gz holding plain text is caught before the job starts, without quoting it."""
    path = tmp_path / "ids.txt.gz"
    path.write_bytes(f"{SECRET}\n".encode())
    with pytest.raises(InputError, match="not valid gzip") as caught:
        check_input_path(path)
    assert SECRET[:2] not in str(caught.value).split(str(path))[1]


def test_read_records_missing_file_and_directory_raise_input_error(tmp_path: Path) -> None:
    """The reader itself also turns a missing file or a directory into InputError."""
    with pytest.raises(InputError, match="not found"):
        read(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="directory"):
        read(tmp_path)


# --------------------------------------------------------------------------- lines


def test_lines_basic_values_lines_and_offsets(tmp_path: Path) -> None:
    """Each line is one ID, with its 1-based line number and the byte offset of its line."""
    data = b"alpha\nbeta\ngamma"
    items = read(write(tmp_path / "ids.txt", data))
    assert records(items) == [("alpha", 1, 0), ("beta", 2, 6), ("gamma", 3, 11)]


def test_lines_blank_lines_are_skipped_silently(tmp_path: Path) -> None:
    """Empty and whitespace-only lines are neither IDs nor invalid; numbering goes on."""
    items = read(write(tmp_path / "ids.txt", b"\n  \n\t\na\n\n\r\nb\n\n"))
    assert records(items) == [("a", 4, 6), ("b", 7, 11)]
    assert invalid(items) == []


def test_lines_surrounding_whitespace_is_trimmed(tmp_path: Path) -> None:
    """Spaces and tabs around an ID are dropped; the offset is the line's start."""
    items = read(write(tmp_path / "ids.txt", b"  a b  \n\t c\t\n"))
    assert records(items) == [("a b", 1, 0), ("c", 2, 8)]


def test_lines_crlf_endings(tmp_path: Path) -> None:
    """CRLF line endings leave no \\r in the IDs and offsets count the \\r."""
    items = read(write(tmp_path / "ids.txt", b"a\r\nbb\r\nc\r\n"))
    assert records(items) == [("a", 1, 0), ("bb", 2, 3), ("c", 3, 7)]


def test_lines_bom_is_skipped_and_first_offset_is_3(tmp_path: Path) -> None:
    """A UTF-8 BOM at the start of the file is not part of the first ID."""
    items = read(write(tmp_path / "ids.txt", BOM + b"a\nb\n"))
    assert records(items) == [("a", 1, 3), ("b", 2, 5)]


def test_lines_bom_only_file_is_empty(tmp_path: Path) -> None:
    """A file holding only a BOM yields nothing."""
    assert read(write(tmp_path / "ids.txt", BOM)) == []


def test_lines_undecodable_bytes_are_invalid(tmp_path: Path) -> None:
    """A line that is not UTF-8 is reported by number; its neighbours are fine."""
    data = b"a\n" + SECRET.encode() + b"\xff\xfe\nb\n"
    items = read(write(tmp_path / "ids.txt", data))
    assert records(items) == [("a", 1, 0), ("b", 3, len(data) - 2)]
    assert invalid(items) == [(2, REASON_UTF8)]
    assert_private(items)


def test_lines_non_ascii_ids_have_byte_offsets(tmp_path: Path) -> None:
    """UTF-8 IDs are accepted; offsets count bytes, not characters."""
    data = "josé\nü\nx\n".encode()
    items = read(write(tmp_path / "ids.txt", data))
    assert records(items) == [("josé", 1, 0), ("ü", 2, 6), ("x", 3, 9)]
    assert_offsets(data, items)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\t", "\r", "\x0b"])
def test_lines_control_character_inside_is_invalid(tmp_path: Path, char: str) -> None:
    """A C0 control character or DEL inside the trimmed ID makes the line invalid."""
    data = f"a\n{SECRET}{char}x\nb\n".encode()
    items = read(write(tmp_path / "ids.txt", data))
    assert values(items) == ["a", "b"]
    assert invalid(items) == [(2, REASON_CONTROL)]
    assert_private(items)


def test_lines_control_character_inside_non_ascii_id_is_invalid(tmp_path: Path) -> None:
    """The control-character check also holds on the non-ASCII path."""
    items = read(write(tmp_path / "ids.txt", "é\x01x\né\n".encode()))
    assert invalid(items) == [(1, REASON_CONTROL)]
    assert values(items) == ["é"]


def test_lines_length_limit_is_512_characters(tmp_path: Path) -> None:
    """512 characters is accepted, 513 is not; characters count, not bytes."""
    ok, too_long, wide = "a" * MAX_ID_LENGTH, "b" * (MAX_ID_LENGTH + 1), "é" * MAX_ID_LENGTH
    items = read(write(tmp_path / "ids.txt", f"{ok}\n{too_long}\n{wide}\n".encode()))
    assert values(items) == [ok, wide]
    assert invalid(items) == [(2, REASON_TOO_LONG)]


def test_lines_huge_single_line_is_one_invalid_line(tmp_path: Path) -> None:
    """A 5 MB line is one invalid line; the lines around it are read normally."""
    data = b"a\n" + b"x" * 5_000_000 + b"\nb\n"
    items = read(write(tmp_path / "ids.txt", data))
    assert records(items) == [("a", 1, 0), ("b", 3, len(data) - 2)]
    assert invalid(items) == [(2, REASON_TOO_LONG)]


def test_lines_huge_last_line_without_newline(tmp_path: Path) -> None:
    """An over-long last line without a newline is still one invalid line."""
    items = read(write(tmp_path / "ids.txt", b"a\n" + b"x" * 3_000_000))
    assert values(items) == ["a"]
    assert invalid(items) == [(2, REASON_TOO_LONG)]


def test_lines_huge_line_is_read_in_constant_memory(tmp_path: Path) -> None:
    """A 32 MB line never sits in memory: peak allocation stays a few MiB."""
    path = tmp_path / "ids.txt"
    with path.open("wb") as out:
        out.write(b"a\n")
        for _ in range(32):
            out.write(b"y" * (1 << 20))
        out.write(b"\nb\n")
    tracemalloc.start()
    try:
        items = read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert values(items) == ["a", "b"]
    assert peak < 8 << 20


def test_lines_empty_file_yields_nothing(tmp_path: Path) -> None:
    """An empty file is an empty input, not an error."""
    assert read(write(tmp_path / "ids.txt", b"")) == []


def test_lines_last_line_without_newline(tmp_path: Path) -> None:
    """The last line counts even without a trailing newline."""
    assert records(read(write(tmp_path / "ids.txt", b"a\nb"))) == [("a", 1, 0), ("b", 2, 2)]


@pytest.mark.parametrize(
    ("name", "fmt", "data"),
    [("ids.txt", "lines", b"abc\n"), ("ids.jsonl", "jsonl", b'{"guid": "abc"}\n')],
)
def test_fast_built_records_are_plain_records(
    tmp_path: Path, name: str, fmt: InputFormat, data: bytes
) -> None:
    """Records built by the fast path are ordinary, equal, hashable, frozen Records."""
    (item,) = read(write(tmp_path / name, data), fmt)
    assert type(item) is Record
    assert item == Record("abc", 1, 0)
    assert hash(item) == hash(Record("abc", 1, 0))
    with pytest.raises(AttributeError):
        item.value = "x"  # type: ignore[misc]


def test_lines_reader_closes_file_when_abandoned(tmp_path: Path) -> None:
    """Stopping early and closing the iterator closes the file (no ResourceWarning)."""
    path = write(tmp_path / "ids.txt.gz", b"a\nb\nc\n")
    items = read_records(path, "lines", column=None, id_type="guid")
    assert next(items) == Record("a", 1, 0)
    items.close()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- CSV


def test_csv_single_column_is_used_whatever_its_name(tmp_path: Path) -> None:
    """With one column, it is the ID column; rows carry their line and offset."""
    data = b"Id\na\nb\n"
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert records(items) == [("a", 2, 3), ("b", 3, 5)]


def test_csv_column_named_like_id_type_case_insensitively(tmp_path: Path) -> None:
    """Without --column, the column named like the ID type (any case) is chosen."""
    data = b"name,GUID,age\nann,g1,3\nbob,g2,4\n"
    assert values(read(write(tmp_path / "ids.csv", data), "csv")) == ["g1", "g2"]


def test_csv_explicit_column(tmp_path: Path) -> None:
    """--column picks the named column."""
    data = b"guid,email\ng1,e1\ng2,e2\n"
    path = write(tmp_path / "ids.csv", data)
    assert values(read(path, "csv", column="email", id_type="identity")) == ["e1", "e2"]


def test_csv_missing_column_names_existing_columns(tmp_path: Path) -> None:
    """An unknown --column is refused with the header's columns listed."""
    path = write(tmp_path / "ids.csv", b"a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match=r"column 'x' not found; the header has: a, b, c"):
        read(path, "csv", column="x")


def test_csv_no_column_and_no_match_asks_for_column(tmp_path: Path) -> None:
    """Several columns and none named like the ID type: list them, ask for --column."""
    path = write(tmp_path / "ids.csv", b"name,email\n1,2\n")
    with pytest.raises(InputError, match=r"name, email; pass --column NAME"):
        read(path, "csv")


def test_csv_missing_column_on_header_only_file_is_still_an_error(tmp_path: Path) -> None:
    """The column is checked against the header even when no rows follow."""
    with pytest.raises(InputError, match="column 'x' not found"):
        read(write(tmp_path / "ids.csv", b"a,b\n"), "csv", column="x")


def test_csv_empty_and_header_only_files_yield_nothing(tmp_path: Path) -> None:
    """An empty CSV and a header-only CSV are empty inputs, not errors."""
    assert read(write(tmp_path / "empty.csv", b""), "csv") == []
    assert read(write(tmp_path / "header.csv", b"guid\r\n"), "csv") == []
    assert read(write(tmp_path / "blank.csv", b"\n\n"), "csv") == []


def test_csv_quoted_fields_with_commas_and_newlines(tmp_path: Path) -> None:
    """Quoted fields may hold commas, quotes and newlines; line numbers stay physical."""
    rows = [["guid", "note"], ["g1", "one, two"], ["g,2", 'multi\nline\n"quoted"'], ["g3", "x"]]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = buffer.getvalue().encode()
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert [(value, line) for value, line, _ in records(items)] == [
        ("g1", 2),
        ("g,2", 3),
        ("g3", 6),
    ]
    assert_offsets(data, items)
    assert data[records(items)[2][2] :] == b"g3,x\n"


def test_csv_id_with_embedded_newline_is_invalid(tmp_path: Path) -> None:
    """A newline inside the ID cell is a control character."""
    data = f'guid\n"{SECRET}\nx"\nb\n'.encode()
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert invalid(items) == [(2, REASON_CONTROL)]
    assert records(items) == [("b", 4, len(data) - 2)]
    assert_private(items)


def test_csv_blank_lines_skipped_empty_cells_invalid(tmp_path: Path) -> None:
    """Blank lines are skipped; a row whose ID cell is empty is an invalid 'empty value'."""
    data = b"guid,n\n\ng1,1\n   \n,2\n  ,3\ng2,4\n"
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert [(value, line) for value, line, _ in records(items)] == [("g1", 3), ("g2", 7)]
    assert invalid(items) == [(5, REASON_EMPTY), (6, REASON_EMPTY)]


def test_csv_short_row_is_invalid(tmp_path: Path) -> None:
    """A row without the chosen column is invalid, naming the column."""
    items = read(write(tmp_path / "ids.csv", b"n,guid\n1\n2,g\n"), "csv")
    assert invalid(items) == [(2, "no column 'guid'")]
    assert values(items) == ["g"]


def test_csv_whitespace_crlf_and_bom(tmp_path: Path) -> None:
    """Cells are trimmed, CRLF is handled and a BOM before the header is skipped."""
    data = BOM + b"guid ,n\r\n  g1 ,1\r\ng2,2\r\n"
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert records(items) == [("g1", 2, 12), ("g2", 3, 21)]


def test_csv_undecodable_bytes(tmp_path: Path) -> None:
    """Bad UTF-8 in the ID cell is invalid; bad UTF-8 in another cell does not matter."""
    data = b"guid,n\n" + SECRET.encode() + b"\xff,1\ng2,\xff\xfe\n"
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert invalid(items) == [(2, REASON_UTF8)]
    assert values(items) == ["g2"]
    assert_private(items)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x7f", "\t"])
def test_csv_control_character(tmp_path: Path, char: str) -> None:
    """A control character inside the ID cell makes the row invalid."""
    data = f"guid\n{SECRET}{char}x\ng\n".encode()
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert invalid(items) == [(2, REASON_CONTROL)]
    assert values(items) == ["g"]
    assert_private(items)


def test_csv_length_limit(tmp_path: Path) -> None:
    """512 characters is accepted in a cell, 513 is not."""
    ok, too_long = "a" * MAX_ID_LENGTH, "b" * (MAX_ID_LENGTH + 1)
    items = read(write(tmp_path / "ids.csv", f"guid,n\n{ok},1\n{too_long},2\n".encode()), "csv")
    assert values(items) == [ok]
    assert invalid(items) == [(3, REASON_TOO_LONG)]


def test_csv_huge_single_line_is_invalid(tmp_path: Path) -> None:
    """A 5 MB line is one invalid row; the rows around it are read."""
    data = b"guid,n\ng1,1\n" + b"x" * 5_000_000 + b"\ng2,2\n"
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert values(items) == ["g1", "g2"]
    assert invalid(items) == [(3, REASON_LINE_TOO_LONG)]


def test_csv_field_over_csv_limit_is_invalid(tmp_path: Path) -> None:
    """A field beyond the csv module's limit (128 Ki characters) is one invalid row."""
    data = b"guid,n\ng1," + b"x" * 200_000 + b"\ng2,2\n"
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert values(items) == ["g2"]
    assert invalid(items) == [(2, REASON_FIELD_TOO_LONG)]


def test_csv_unbalanced_quote_at_end(tmp_path: Path) -> None:
    """A quote never closed is reported at the line where its record starts."""
    data = f'guid\ng1\n"{SECRET}\nmore\n'.encode()
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert values(items) == ["g1"]
    assert invalid(items) == [(3, REASON_UNBALANCED_QUOTE)]
    assert_private(items)


def test_csv_malformed_quote_is_invalid_and_reading_goes_on(tmp_path: Path) -> None:
    """Text after a closing quote is malformed CSV; the next line is read normally."""
    data = b'guid,n\n"g1"x,1\ng2,2\n'
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert invalid(items) == [(2, REASON_MALFORMED_CSV)]
    assert values(items) == ["g2"]


def test_csv_bad_header_is_input_error(tmp_path: Path) -> None:
    """A header that does not parse stops the run with the line to fix."""
    with pytest.raises(InputError, match=r"CSV header \(line 1\) is unusable"):
        read(write(tmp_path / "ids.csv", b'"guid\n'), "csv")


# --------------------------------------------------------------------------- JSON Lines


def test_jsonl_field_is_id_type_by_default_and_column_overrides(tmp_path: Path) -> None:
    """The ID is under the ID type's name unless --column names another field."""
    data = b'{"guid": "g1", "email": "e1"}\n{"guid": "g2", "email": "e2"}\n'
    path = write(tmp_path / "ids.jsonl", data)
    assert records(read(path, "jsonl")) == [("g1", 1, 0), ("g2", 2, 30)]
    assert values(read(path, "jsonl", column="email")) == ["e1", "e2"]


def test_jsonl_blank_lines_skipped(tmp_path: Path) -> None:
    """Blank and whitespace-only lines are skipped silently."""
    data = b'\n{"guid":"a"}\n  \r\n{"guid":"b"}\n\n'
    items = read(write(tmp_path / "ids.jsonl", data), "jsonl")
    assert records(items) == [("a", 2, 1), ("b", 4, 18)]
    assert invalid(items) == []


@pytest.mark.parametrize(
    "line",
    [b"{not json", b"[1, 2]", b'"just a string"', b"42", b"null", b'{"guid": "a"'],
)
def test_jsonl_not_an_object_is_invalid(tmp_path: Path, line: bytes) -> None:
    """Lines that are not JSON, or are JSON but not an object, are invalid."""
    data = b'{"guid": "a"}\n' + line + b'\n{"guid": "b"}\n'
    items = read(write(tmp_path / "ids.jsonl", data), "jsonl")
    assert values(items) == ["a", "b"]
    assert invalid(items) == [(2, REASON_NOT_OBJECT)]


def test_jsonl_first_object_without_field_is_input_error(tmp_path: Path) -> None:
    """If the first object lacks the field, the field name is wrong: name the ones it has."""
    data = f'\n{{"id": "{SECRET}", "email": "x"}}\n'.encode()
    with pytest.raises(InputError, match=r"field 'guid' not found; the first object") as caught:
        read(write(tmp_path / "ids.jsonl", data), "jsonl")
    assert "has: id, email" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_jsonl_later_object_without_field_is_invalid(tmp_path: Path) -> None:
    """After a first object with the field, an object without it is one invalid line."""
    data = b'{"guid": "a"}\n{"id": "x"}\n{"guid": "b"}\n'
    items = read(write(tmp_path / "ids.jsonl", data), "jsonl")
    assert values(items) == ["a", "b"]
    assert invalid(items) == [(2, "no field 'guid'")]


def test_jsonl_value_types(tmp_path: Path) -> None:
    """Strings are trimmed, integers become text, anything else is not a string."""
    lines = [
        '{"guid": "  a  "}',
        '{"guid": 12345}',
        '{"guid": -7}',
        '{"guid": 1.5}',
        '{"guid": true}',
        '{"guid": null}',
        '{"guid": ["x"]}',
        '{"guid": {"x": 1}}',
        '{"guid": ""}',
        '{"guid": "   "}',
    ]
    items = read(write(tmp_path / "ids.jsonl", "\n".join(lines).encode()), "jsonl")
    assert values(items) == ["a", "12345", "-7"]
    not_string = "field 'guid' is not a string"
    assert invalid(items) == [
        (4, not_string),
        (5, not_string),
        (6, not_string),
        (7, not_string),
        (8, not_string),
        (9, REASON_EMPTY),
        (10, REASON_EMPTY),
    ]


def test_jsonl_bad_utf8_control_characters_and_length(tmp_path: Path) -> None:
    """Undecodable bytes, lone surrogates, control characters and 513 chars are invalid."""
    ok = "a" * MAX_ID_LENGTH
    lines = [
        json.dumps({"guid": ok}).encode(),
        b'{"guid": "' + SECRET.encode() + b'\xff"}',
        b'{"guid": "x\\ud800"}',
        json.dumps({"guid": SECRET + "\x01"}).encode(),
        json.dumps({"guid": SECRET + "\nx"}).encode(),
        json.dumps({"guid": "b" * (MAX_ID_LENGTH + 1)}).encode(),
        json.dumps({"guid": "é"}, ensure_ascii=False).encode(),
    ]
    items = read(write(tmp_path / "ids.jsonl", b"\n".join(lines)), "jsonl")
    assert values(items) == [ok, "é"]
    assert invalid(items) == [
        (2, REASON_UTF8),
        (3, REASON_UTF8),
        (4, REASON_CONTROL),
        (5, REASON_CONTROL),
        (6, REASON_TOO_LONG),
    ]
    assert_private(items)


def test_jsonl_bom_and_crlf(tmp_path: Path) -> None:
    """A BOM at the start is skipped and CRLF endings are fine."""
    data = BOM + b'{"guid": "a"}\r\n{"guid": "b"}\r\n'
    assert records(read(write(tmp_path / "ids.jsonl", data), "jsonl")) == [
        ("a", 1, 3),
        ("b", 2, 18),
    ]


def test_jsonl_huge_single_line_is_invalid(tmp_path: Path) -> None:
    """A 5 MB line is one invalid line; the lines around it are read."""
    data = b'{"guid": "a"}\n{"guid": "' + b"x" * 5_000_000 + b'"}\n{"guid": "b"}\n'
    items = read(write(tmp_path / "ids.jsonl", data), "jsonl")
    assert values(items) == ["a", "b"]
    assert invalid(items) == [(2, REASON_LINE_TOO_LONG)]


def test_jsonl_empty_file_yields_nothing(tmp_path: Path) -> None:
    """An empty JSON Lines file is an empty input."""
    assert read(write(tmp_path / "ids.jsonl", b""), "jsonl") == []


# --------------------------------------------------------------------------- gzip


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


# --------------------------------------------------------------------------- resume


def test_resume_lines_from_an_offset(tmp_path: Path) -> None:
    """Resuming from a record's (offset, line) yields exactly the rest of the file."""
    path = write(tmp_path / "ids.txt", b"a\n\nb\nc\n")
    full = read(path)
    third = full[1]
    assert isinstance(third, Record)
    assert read(path, start_offset=third.offset, start_line=third.line) == full[1:]


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


_LINE_PIECES = [
    b"a",
    b"Zq9",
    b"\xc3\xa9",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\n",
    b"\r\n",
    b"\xff",
    b"\x01",
    BOM,
    b"x" * 30,
]
_CSV_PIECES = [b"a", b"b7", b",", b'"', b'""', b"\n", b"\n", b"\r\n", b" ", b"\xff", b"\xc3\xa9"]
_JSON_LINES = [
    b'{"guid": "a"}',
    b'{"guid": " b\\u00e9 "}',
    b'{"guid": 17}',
    b'{"guid": ""}',
    b'{"guid": "\\u0001"}',
    b'{"other": "x"}',
    b'{"guid": null}',
    b"[1]",
    b"{broken",
    b"",
    b"   ",
    b'{"guid": "\xff"}',
    b'{"guid": "' + b"y" * 40 + b'"}',
]


def _content(fmt: InputFormat, pieces: list[bytes]) -> bytes:
    if fmt == "lines":
        return b"".join(pieces)
    if fmt == "csv":
        return b"n,guid\n" + b"".join(pieces)
    # JSON Lines: the first object must have the field, or the whole read is an InputError.
    return b"\n".join([b'{"guid": "first"}', *pieces])


def _pieces(fmt: InputFormat) -> st.SearchStrategy[list[bytes]]:
    choices = {"lines": _LINE_PIECES, "csv": _CSV_PIECES, "jsonl": _JSON_LINES}[fmt]
    return st.lists(st.sampled_from(choices), max_size=60)


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
    pieces = data.draw(_pieces(fmt), label="pieces")
    block = data.draw(st.sampled_from([1, 2, 3, 7, 16, 4096]), label="block")
    path = write(tmp_path / f"ids.{fmt}{'.gz' if compressed else ''}", _content(fmt, pieces))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "MAX_LINE_BYTES", 48)
        patch.setattr(reader, "_BLOCK_SIZE", 4096)
        reference = read(path, fmt)
        patch.setattr(reader, "_BLOCK_SIZE", block)
        full = read(path, fmt)
        assert full == reference
        _check_resume(path, fmt, full)


# --------------------------------------------------------------------------- privacy


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
