"""JSON Lines: the ID field, every bad-input case (docs/guarantees.md §7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bulkdelete.errors import InputError
from bulkdelete.reader.formats import REASON_NOT_OBJECT
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
    assert_private,
    invalid,
    read,
    records,
    values,
    write,
)


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
    """Strings are trimmed; anything else, numbers included, is not a string (an ID is a
    JSON string: ``-0`` is no ID, and never sent as ``"0"``)."""
    lines = [
        '{"guid": "  a  "}',
        '{"guid": 12345}',
        '{"guid": -0}',
        '{"guid": 1.5}',
        '{"guid": true}',
        '{"guid": null}',
        '{"guid": ["x"]}',
        '{"guid": {"x": 1}}',
        '{"guid": ""}',
        '{"guid": "   "}',
    ]
    items = read(write(tmp_path / "ids.jsonl", "\n".join(lines).encode()), "jsonl")
    assert values(items) == ["a"]
    not_string = "field 'guid' is not a string"
    assert invalid(items) == [
        (2, not_string),
        (3, not_string),
        (4, not_string),
        (5, not_string),
        (6, not_string),
        (7, not_string),
        (8, not_string),
    ]
    assert [i.line for i in items if isinstance(i, Blank)] == [9, 10]  # blanks, not invalid


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


@pytest.mark.parametrize("line", [
    '{"guid": "a", "guid": "victim"}',
    '{"guid": "a", "n": 1, "guid": "a"}',
    '{"gu\\u0069d": "victim", "guid": "a"}',
])
def test_jsonl_object_with_the_field_twice_is_invalid(tmp_path: Path, line: str) -> None:
    """The chosen field twice in one object is ambiguous: an invalid line saying so, not
    whichever value the json module keeps (however the second is spelt)."""
    data = ('{"guid": "first"}\n' + line + '\n{"guid": "b", "x": {"guid": "c"}}\n').encode()
    items = read(write(tmp_path / "ids.jsonl", data), "jsonl")
    assert values(items) == ["first", "b"]
    assert invalid(items) == [(2, "field 'guid' appears more than once")]
