"""The column and delimiter the plan names, and the refusal of a one-column CSV whose header
looks like an ID (docs/guarantees.md §7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkdelete.errors import InputError
from bulkdelete.lifecycle.plan import id_column
from bulkdelete.reader import Input
from bulkdelete.reader.csvhead import looks_like_id


@pytest.mark.parametrize("name", ["3f2a9c1e-7b6d-4e2a-9f1b-0c8d7e6a5b4c", "ann@example.com",
                                  "+4915112345678", "----", "user7"])
def test_ids_look_like_ids(name: str) -> None:
    assert looks_like_id(name)


@pytest.mark.parametrize("name", ["email", "identity", "user_id", "Customer ID", "guid"])
def test_column_names_do_not(name: str) -> None:
    assert not looks_like_id(name)


@pytest.mark.parametrize(("text", "column", "expected"), [
    ("email\nann@example.com\n", None, "column 'email', ',' (comma)-separated"),
    ("guid\n8e1f0a2b-1c3d\n", None, "column 'guid', ',' (comma)-separated"),
    # --column names the header: the operator has said it is a header.
    ("3f2a9c1e-7b6d\n8e1f0a2b-1c3d\n", "3f2a9c1e-7b6d",
     "column '3f2a9c1e-7b6d', ',' (comma)-separated"),
    ("name,guid\nAnn,8e1f\n", None, "column 'guid', ',' (comma)-separated"),
    ("name;guid\nAnn;8e1f\n", None, "column 'guid', ';' (semicolon)-separated"),
    ("name\tguid\nAnn\t8e1f\n", None, "column 'guid', tab-separated"),
    ("", None, ""),
])
def test_the_csv_column_and_delimiter_the_plan_names(
    tmp_path: Path, text: str, column: str | None, expected: str,
) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(text)
    assert id_column(Input(path, "csv", "guid", column)).describe() == expected


def test_a_one_column_header_that_looks_like_an_id_is_refused(tmp_path: Path) -> None:
    """A file of bare IDs read as CSV would lose its first ID to the header: refused, with
    the way on, and without the would-be header (an ID) in the message."""
    path = tmp_path / "ids.csv"
    path.write_text("3f2a9c1e-7b6d\n8e1f0a2b-1c3d\n")
    with pytest.raises(InputError, match="--format lines") as caught:
        id_column(Input(path, "csv", "guid"))
    assert "--column" in str(caught.value)
    assert "3f2a" not in str(caught.value)


def test_lines_have_no_column_and_jsonl_names_its_field(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    path.write_text('{"guid": "a"}\n')
    assert id_column(Input(path, "lines", "guid")).describe() == ""
    assert id_column(Input(path, "jsonl", "guid")).describe() == "field 'guid'"
    assert id_column(Input(path, "jsonl", "guid", "uid")).name == "uid"
