"""What the reader yields: invalid lines' values cut and always encodable, compared by line
and reason only."""

from __future__ import annotations

import pytest

from bulkdelete.reader import InvalidLine
from bulkdelete.reader.rule import VALUE_CHARS, raw_value, text_value


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
