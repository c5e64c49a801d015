"""What a valid ID is: the reasons :func:`check` gives, the same in every format; and what the
reader yields: invalid lines' values cut and always encodable, compared by line and reason
only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bulkdelete.job.ids import item_value
from bulkdelete.reader import Input, InputFormat, InvalidLine, Record, rule
from bulkdelete.reader.rule import (
    MAX_ID_LENGTH,
    REASON_CONTROL,
    REASON_EMPTY,
    REASON_SPACE,
    REASON_TOO_LONG,
    REASON_UTF8,
    VALUE_CHARS,
    check,
    name_list,
    raw_value,
    show,
    text_value,
    trim,
)
from tests.reader.support import write

# What may stand at a value's edges: ordinary whitespace (trimmed) and what only looks like it.
_EDGES = ["", " ", "\t", "\r", " \t", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
          "\u2028", "\u3000", "\x00", "\ufeff"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a", None),
        ("user@example.com", None),
        ("é", None),
        ("a b", None),  # inner spaces are part of the ID
        ("x" * MAX_ID_LENGTH, None),
        ("", REASON_EMPTY),
        ("x" * (MAX_ID_LENGTH + 1), REASON_TOO_LONG),
        ("é" * (MAX_ID_LENGTH + 1), REASON_TOO_LONG),  # characters, not bytes
        ("a\x00b", REASON_CONTROL),
        ("a\x1fb", REASON_CONTROL),
        ("a\x7fb", REASON_CONTROL),
        ("a\tb", REASON_CONTROL),
        ("a\udcffb", REASON_UTF8),  # a lone surrogate: undecodable bytes, a bad \\u escape
    ],
)
def test_check_gives_the_reason(value: str, reason: str | None) -> None:
    assert check(value) == reason


def test_no_printable_character_breaks_the_rule() -> None:
    """check accepts a printable value without looking further: that is sound because no
    printable character is a control character, other whitespace or a lone surrogate."""
    for code in range(0x110000):
        char = chr(code)
        if char.isprintable():
            assert not rule._CONTROL.search(char), hex(code)
            assert not rule._SPACE.search(char), hex(code)
            assert not 0xD800 <= code <= 0xDFFF


def test_names_in_messages_are_made_safe_and_short() -> None:
    """Control characters and lone surrogates never reach a message; long names are cut."""
    assert show("a\x1bb\udcff") == "a?b?"
    assert show("n" * 50) == "n" * 39 + "…"
    assert name_list([]) == "(nothing)"
    assert name_list([f"c{n}" for n in range(22)]).endswith(", c19, … (2 more)")


@pytest.mark.parametrize("char", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85",
                                  "\x9f"])
@pytest.mark.parametrize("fmt", ["lines", "csv", "jsonl"])
def test_a_control_character_makes_a_value_invalid_at_its_edges_as_inside(
    tmp_path: Path, char: str, fmt: InputFormat,
) -> None:
    """One rule: a control character is never trimmed away as whitespace; at either edge
    of a value, as inside it, it makes the value invalid. Ordinary whitespace (space, tab,
    CR) at the edges is trimmed."""
    values = [f"{char}a1", f"a1{char}", f"a{char}1", " \ta2\r "]
    text = _file(fmt, values)
    items = list(Input(write(tmp_path / f"ids.{fmt}", text), fmt, "guid").records())
    assert [(i.line, i.reason) for i in items if isinstance(i, InvalidLine)] == [
        (line, REASON_CONTROL) for line in (2, 3, 4)]
    assert [i.value for i in items if isinstance(i, Record)][-1:] == ["a2"]


@pytest.mark.parametrize("char", ["\xa0", "\u2028", "\u3000", "\ufeff", "\u200b", "\u2060",
                                  "\u180e"])
def test_other_whitespace_makes_a_value_invalid_at_its_edges_as_inside(
    tmp_path: Path, char: str,
) -> None:
    """Whitespace other than the ordinary kinds (a no-break space, a line separator, the
    zero-width ones: a byte-order mark, a zero-width space, a word joiner) is not trimmed
    either: an ID is never sent other than as the file holds it, so it is invalid wherever
    it stands, with its own reason."""
    for value in (f"{char}a1", f"a1{char}", f"a{char}1"):
        assert check(trim(value)) == REASON_SPACE


def _file(fmt: str, values: list[str]) -> bytes:
    """*values* on lines 2 on, in *fmt*."""
    if fmt == "lines":
        return "".join(f"{v}\n" for v in ["first", *values]).encode()
    if fmt == "csv":
        return ("guid\n" + "".join(f'"{v}"\n' for v in values)).encode()
    return "".join(json.dumps({"guid": v}) + "\n" for v in ["first", *values]).encode()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=12) | st.tuples(st.sampled_from(_EDGES), st.text(max_size=4),
                                   st.sampled_from(_EDGES)).map("".join))
@example(text="guid")  # the column's own name: CSV refuses it as a repeated header row
def test_every_entry_point_trims_and_decides_alike(tmp_path: Path, text: str) -> None:
    """One rule for a line, a CSV cell, a JSON string and a library item: each sends the
    same value, or none (a blank line or blank CSV row is skipped, a blank item counted)."""
    value, reason = item_value(text)
    expected = value if reason is None else None
    if "\n" not in text and "\r" not in text:  # a line cannot hold a line break
        assert _sent("lines", b"first\n" + text.encode() + b"\n", tmp_path) == expected
    cell = '"' + text.replace('"', '""') + '"'
    # A CSV value equal to its column's name is a repeated header row, never an ID.
    in_csv = None if value == "guid" else expected
    assert _sent("csv", f"guid,n\nfirst,1\n{cell},2\n".encode(), tmp_path) == in_csv
    lines = [json.dumps({"guid": "first"}), json.dumps({"guid": text}), ""]
    assert _sent("jsonl", "\n".join(lines).encode(), tmp_path) == expected


def _sent(fmt: InputFormat, data: bytes, tmp_path: Path) -> str | None:
    """The value *data* yields in *fmt* after its first ID, ``first`` (so a value is never
    at the file's start, where a byte-order mark is the file's own), or None."""
    items = list(Input(write(tmp_path / f"one.{fmt}", data), fmt, "guid").records())
    assert isinstance(items[0], Record)
    assert items[0].value == "first"
    assert len(items) <= 2
    return items[1].value if items[1:] and isinstance(items[1], Record) else None


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
