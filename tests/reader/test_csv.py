"""CSV: column choice and every bad-input case (docs/guarantees.md §7). How records end,
however long or badly quoted, is in test_csv_records.py."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bulkdelete.errors import InputError
from bulkdelete.reader.csv import (
    REASON_FIELD_TOO_LONG,
    REASON_MALFORMED_CSV,
    REASON_UNBALANCED_QUOTE,
)
from bulkdelete.reader.rule import (
    MAX_ID_LENGTH,
    REASON_CONTROL,
    REASON_TOO_LONG,
    REASON_UTF8,
    Blank,
)
from bulkdelete.reader.source import REASON_LINE_TOO_LONG
from tests.reader.support import (
    BOM,
    SECRET,
    assert_offsets,
    assert_private,
    invalid,
    read,
    records,
    values,
    write,
)


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
    """An unknown --column is refused with the header's columns listed, and the delimiter
    they were read by (a wrong one would be why the column is not there)."""
    path = write(tmp_path / "ids.csv", b"a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match=r"column 'x' not found; the header, read as ',' "
                       r"\(comma\)-separated, has: a, b, c"):
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


def test_csv_blank_lines_and_empty_cells_are_blanks_not_invalid(tmp_path: Path) -> None:
    """Blank lines (before the header too) and rows whose ID cell is empty are blanks, each
    with its line; none is an invalid line."""
    data = b"\nguid,n\n\ng1,1\n   \n,2\n  ,3\ng2,4\n"
    items = read(write(tmp_path / "ids.csv", data), "csv")
    assert [(value, line) for value, line, _ in records(items)] == [("g1", 4), ("g2", 8)]
    assert invalid(items) == []
    assert [i.line for i in items if isinstance(i, Blank)] == [1, 3, 5, 6, 7]


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
    """A header that does not parse stops the run with the line to fix, and the delimiter it
    was read by: a header that parses by another one is read with --delimiter."""
    with pytest.raises(InputError, match=r"CSV header \(line 1\) is unusable"):
        read(write(tmp_path / "ids.csv", b'"guid\n'), "csv")
    path = write(tmp_path / "semi.csv", b'guid;"a"b;c\ng1;x;y\n')
    with pytest.raises(InputError, match=r"read as ';' \(semicolon\)-separated.*--delimiter"):
        read(path, "csv")
