"""The column the plan names, and the warning for a one-column CSV whose header looks like
an ID (docs/guarantees.md §7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkdelete.job.column import id_column, looks_like_id
from bulkdelete.settings import JobFiles


@pytest.mark.parametrize("name", ["3f2a9c1e-7b6d-4e2a-9f1b-0c8d7e6a5b4c", "ann@example.com",
                                  "+4915112345678", "----", "user7"])
def test_ids_look_like_ids(name: str) -> None:
    assert looks_like_id(name)


@pytest.mark.parametrize("name", ["email", "identity", "user_id", "Customer ID", "guid"])
def test_column_names_do_not(name: str) -> None:
    assert not looks_like_id(name)


@pytest.mark.parametrize(("text", "column", "expected"), [
    ("3f2a9c1e-7b6d\n8e1f0a2b-1c3d\n", None, ("3f2a9c1e-7b6d", True)),
    ("email\nann@example.com\n", None, ("email", False)),
    ("guid\n8e1f0a2b-1c3d\n", None, ("guid", False)),
    # --column names the header: the operator has said it is a header.
    ("3f2a9c1e-7b6d\n8e1f0a2b-1c3d\n", "3f2a9c1e-7b6d", ("3f2a9c1e-7b6d", False)),
    ("name,guid\nAnn,8e1f\n", None, ("guid", False)),
    ("", None, (None, False)),
])
def test_the_csv_column_chosen_and_whether_its_header_looks_like_an_id(
    tmp_path: Path, text: str, column: str | None, expected: tuple[str | None, bool],
) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(text)
    chosen = id_column(JobFiles(input=path, column=column), "csv", "guid")
    assert (chosen.name, chosen.header_looks_like_id) == expected
    if chosen.header_looks_like_id:
        assert "3f2a" not in chosen.describe()  # never the value itself: it may be an ID


def test_lines_have_no_column_and_jsonl_names_its_field(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    path.write_text('{"guid": "a"}\n')
    assert id_column(JobFiles(input=path), "lines", "guid").describe() == ""
    assert id_column(JobFiles(input=path), "jsonl", "guid").describe() == "field 'guid'"
    assert id_column(JobFiles(input=path, column="uid"), "jsonl", "guid").name == "uid"
