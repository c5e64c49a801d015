"""What the reader yields: fast-built records are plain Records, grouped runs are capped."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkdelete.reader import (
    InputFormat,
    InvalidLine,
    Record,
    Run,
)
from bulkdelete.reader import items as reader_items
from bulkdelete.reader.items import VALUE_CHARS, raw_value, text_value
from tests.reader.support import (
    expand,
    read,
    runs,
    write,
)


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


def test_grouped_runs_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV and JSON Lines runs hold at most _RUN_MAX_IDS IDs (their memory stays bounded)."""
    monkeypatch.setattr(reader_items, "RUN_MAX_IDS", 4)
    path = write(tmp_path / "ids.jsonl", b"".join(b'{"guid": "%d"}\n' % n for n in range(10)))
    grouped = runs(path, "jsonl")
    assert [len(run.values) for run in grouped if isinstance(run, Run)] == [4, 4, 2]
    assert expand(grouped) == read(path, "jsonl")


@pytest.mark.parametrize(("raw", "expected"), [
    (b"abc\r", "abc"),
    (b"  bad-\xff\xfe-bytes ", "  bad-\\xff\\xfe-bytes "),
    (b"x" * 5000, "x" * VALUE_CHARS),
    ("é".encode() * 600, "é" * VALUE_CHARS),
    ("€".encode() * 600, "€" * VALUE_CHARS),
])
def test_raw_value_is_cut_text_with_undecodable_bytes_escaped(raw: bytes, expected: str) -> None:
    """An invalid line's bytes become text that always encodes, cut to 512 characters."""
    value = raw_value(raw)
    assert value == expected
    value.encode("utf-8")


@pytest.mark.parametrize(("text", "expected"), [
    ("plain", "plain"),
    ("a\udcffb", "a\\xffb"),  # an undecodable CSV byte, as surrogateescape left it
    ("a\ud800b", "a\\ud800b"),  # a lone surrogate from a JSON escape
    ("y" * 600, "y" * VALUE_CHARS),
])
def test_text_value_is_cut_and_always_encodes(text: str, expected: str) -> None:
    value = text_value(text)
    assert value == expected
    value.encode("utf-8")


def test_invalid_lines_compare_by_line_and_reason_only() -> None:
    """Two reads agree on an invalid line by its number and reason; the value rides along
    for invalid.jsonl only."""
    assert InvalidLine(3, "empty value", "x") == InvalidLine(3, "empty value")
    assert "x" not in repr(InvalidLine(3, "empty value", "secret-x"))
