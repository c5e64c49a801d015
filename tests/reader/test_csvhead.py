"""The CSV delimiter: --delimiter's values, the sniff from the header, the ambiguous header
refused, and records read by any delimiter as the csv module reads them."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bulkdelete.cli.arguments import build_parser, files_from_args
from bulkdelete.errors import InputError, UsageError
from bulkdelete.reader import Input, InvalidLine, Record
from bulkdelete.reader.csvhead import (
    CANDIDATES,
    REASON_HEADER_AGAIN,
    REASON_STRAY_DELIMITER,
    parse_delimiter,
    sniff,
)
from tests.reader.support import BOM, lenient_values, read, values, write


@pytest.mark.parametrize(("text", "expected"), [
    (None, None), (",", ","), (";", ";"), ("|", "|"), ("tab", "\t"), ("TAB", "\t"),
    ("\\t", "\t"), ("\t", "\t"), (":", ":"), ("semicolon", ";"),
])
def test_delimiter_values(text: str | None, expected: str | None) -> None:
    assert parse_delimiter(text) == expected


@pytest.mark.parametrize("text", ["", ";;", '"', " ", "a", "7", "é", "\n"])
def test_delimiter_values_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--delimiter takes one"):
        parse_delimiter(text)


def test_the_command_line_gives_the_delimiter_to_the_job() -> None:
    ns = build_parser().parse_args(
        ["delete", "ids.csv", "--id-type", "guid", "--delimiter", "tab"])
    assert files_from_args(ns).delimiter == "\t"
    ns = build_parser().parse_args(
        ["delete", "ids.csv", "--id-type", "guid"])
    assert files_from_args(ns).delimiter is None


@pytest.mark.parametrize(("header", "expected"), [
    (b"user_id;email;created_at\r\n", ";"), (b"a\tb\n", "\t"), (b"a|b|c\n", "|"),
    (b"a,b\n", ","), (b"guid\n", ","), (b"", ","), (b"a;b;c,d\n", ";"), (b"a;b,c\n", ","),
    # What is quoted is a cell's text, not a separator: only the rest is counted.
    (b'"a;b;c;d",id\n', ","), (b'"x,y,z";a;"p""q,r"\n', ";"), (b'id|"a,b,c\n', "|"),
])
def test_the_sniff_takes_the_commonest_candidate(header: bytes, expected: str) -> None:
    assert sniff(header) == expected


@pytest.mark.parametrize("delimiter", CANDIDATES)
def test_a_file_is_read_by_its_sniffed_delimiter(tmp_path: Path, delimiter: str) -> None:
    """Whatever the candidate, the sniffed file is read by it: BOM, CRLF, blank lines before
    the header, quoted cells holding the delimiter."""
    lines = [f"n{delimiter}email{delimiter}x",
             f'1{delimiter}a@example.com{delimiter}"p{delimiter}q"',
             f"2{delimiter}c@example.com{delimiter}z"]
    data = BOM + b"\r\n\r\n" + "\r\n".join(lines).encode() + b"\r\n"
    path = write(tmp_path / "ids.csv", data)
    assert values(read(path, "csv", column="email")) == ["a@example.com", "c@example.com"]


def test_a_header_holding_another_candidate_is_refused_unless_the_delimiter_is_given(
    tmp_path: Path,
) -> None:
    """Read by ';', a header cell holding a ',' (or a tab, a '|') might mean the file is
    separated by that: refused, by the cell's position, naming --delimiter. Given the
    delimiter, the operator has decided: the file is read by it."""
    path = write(tmp_path / "ids.csv", b"id;email;created, at\nu1;a@example.com;x\n")
    with pytest.raises(InputError, match=r"cell 3 holds a comma.*--delimiter ';' if .* "
                       r"or --delimiter ','"):
        read(path, "csv", column="email")
    items = list(Input(path, "csv", "guid", column="email", delimiter=";").records())
    assert values(items) == ["a@example.com"]


def test_delimiter_and_column_are_refused_where_they_would_be_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "ids.txt", b"a\n")
    with pytest.raises(UsageError, match="--column applies to CSV and JSON Lines"):
        read(path, "lines", column="email")
    with pytest.raises(UsageError, match="--delimiter applies to CSV"):
        list(Input(path, "jsonl", "guid", delimiter=";").records())


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(st.sampled_from(["a", "b7", ",", '"', '""', '"x"y', "\n", "\r\n", " ",
                                      "id-1"]), max_size=40).map("".join),
       delimiter=st.sampled_from(CANDIDATES))
@example(body='"x"y,"\na', delimiter=";")
def test_bad_quotes_never_yield_a_value_the_csv_module_would_not_for_any_delimiter(
    tmp_path: Path, body: str, delimiter: str
) -> None:
    """Bad quotes by any candidate delimiter: every ID read is a value of the chosen column
    of a record the csv module itself reads with that delimiter."""
    data = f"id{delimiter}note\n{body.replace(',', delimiter)}".encode()
    path = write(tmp_path / "ids.csv", data)
    items = list(Input(path, "csv", "guid", column="id").records())
    got = collections.Counter(i.value for i in items if isinstance(i, Record))
    assert not got - lenient_values(data, delimiter=delimiter)


def test_an_id_holding_a_delimiter_the_one_column_header_lacks_is_invalid(
    tmp_path: Path,
) -> None:
    """Under a one-column header the comma is a default, not a finding: a row holding ';'
    or '|' may be a whole row of a file separated by it, so it is an invalid record, never
    sent. A quoted comma is the comma's own CSV; a given delimiter, or a header with several
    columns, settles what separates the fields."""
    data = b'email\nok@example.com\nu1;a@example.com\nu2|b@example.com\n"c,d@example.com"\n'
    path = write(tmp_path / "ids.csv", data)
    items = read(path, "csv")
    assert values(items) == ["ok@example.com", "c,d@example.com"]
    assert [(i.line, i.reason) for i in items if isinstance(i, InvalidLine)] == [
        (3, REASON_STRAY_DELIMITER), (4, REASON_STRAY_DELIMITER)]
    given = list(Input(path, "csv", "guid", delimiter=",").records())
    assert values(given) == ["ok@example.com", "u1;a@example.com", "u2|b@example.com",
                             "c,d@example.com"]
    path = write(tmp_path / "two.csv", b"email,name\nu1;a@example.com,Ann\n")
    assert values(read(path, "csv", column="email")) == ["u1;a@example.com"]


def test_a_one_field_row_under_a_wider_header_holding_another_candidate_is_invalid(
    tmp_path: Path,
) -> None:
    """Header sniffed as ';', a row separated by ',': csv reads it as one field, the whole
    row, which would be the first column's "ID". Invalid, naming --delimiter; a row with its
    fields (or a given delimiter) reads as before."""
    data = b"id;email\nu1;a@example.com\nu2,b@example.com\nu3,x;c@example.com\n"
    path = write(tmp_path / "ids.csv", data)
    items = read(path, "csv", column="id")
    assert values(items) == ["u1", "u3,x"]
    assert [(i.line, i.reason) for i in items if isinstance(i, InvalidLine)] == [
        (3, REASON_STRAY_DELIMITER)]
    given = list(Input(path, "csv", "guid", column="id", delimiter=";").records())
    assert values(given) == ["u1", "u2,b@example.com", "u3,x"]


def test_a_given_delimiter_the_header_lacks_is_refused_when_it_holds_another(
    tmp_path: Path,
) -> None:
    """--delimiter ';' on a comma file: the header is one column, 'id,note', and each row
    would be sent whole. A given delimiter is taken at its word, but not when it leaves a
    one-column header holding another candidate: refused, unless --column names that
    header (then the operator has said it is one column)."""
    path = write(tmp_path / "ids.csv", b"id,note\nx1,a\n")
    with pytest.raises(InputError, match=r"read as ';'.*one column.*holds a comma"):
        list(Input(path, "csv", "guid", delimiter=";").records())
    items = list(Input(path, "csv", "guid", column="id,note", delimiter=";").records())
    assert values(items) == ["x1,a"]


def test_a_repeated_header_row_is_not_read_as_a_record(tmp_path: Path) -> None:
    """Two exports joined with cat: the second's header (with its byte-order mark) is a row
    of the first's. Its ID cell is the column's own name, never an ID: an invalid record,
    not sent as the identity 'email'."""
    one = b"\xef\xbb\xbfuser_id;email\r\nu1;a@example.com\r\n"
    two = b"\xef\xbb\xbfuser_id;email\r\nu2;b@example.com\r\n"
    path = write(tmp_path / "ids.csv", one + two)
    items = read(path, "csv", column="email")
    assert values(items) == ["a@example.com", "b@example.com"]
    assert [(i.line, i.reason) for i in items if isinstance(i, InvalidLine)] == [
        (3, REASON_HEADER_AGAIN)]
