"""One ID per line and JSON Lines: each physical line decided on its own.

Nothing is carried between lines but the offset and line number, so a resume at a record's
``(offset, line)`` yields what the full read yields from there. A JSON ID must be a string,
and an object holding the field twice is an invalid line (the json module keeps the last).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from bulkdelete.errors import InputError
from bulkdelete.reader.guard import Watch
from bulkdelete.reader.rule import (
    REASON_TOO_LONG,
    REASON_UTF8,
    TRIMMED,
    InvalidLine,
    Record,
    check,
    name_list,
    raw_value,
    show,
    text_value,
    trim,
)
from bulkdelete.reader.source import REASON_LINE_TOO_LONG, Skipped, open_blocks

REASON_NOT_OBJECT: Final = "not a JSON object"


def line_records(
    path: Path, start_offset: int, line: int, watch: Watch | None
) -> Iterator[Record | InvalidLine]:
    """One ID per line; a blank line is skipped."""
    return _each_line(path, start_offset, line, watch, _id_line, REASON_TOO_LONG)


def jsonl_records(
    path: Path, start_offset: int, line: int, field: str, watch: Watch | None
) -> Iterator[Record | InvalidLine]:
    """Every record from *start_offset*, the ID taken from *field*. A first object without
    the field means the wrong field name: refused (not on a resume, which passed it)."""
    decide = _JsonLine(field, check_first=start_offset == 0)
    return _each_line(path, start_offset, line, watch, decide, REASON_LINE_TOO_LONG)


def _each_line(
    path: Path,
    start_offset: int,
    line: int,
    watch: Watch | None,
    decide: Callable[[bytes, int, int], Record | InvalidLine | None],
    too_long: str,
) -> Iterator[Record | InvalidLine]:
    """What *decide* makes of each physical line (without its newline) from *start_offset*;
    a line too long to keep is invalid for *too_long*."""
    with open_blocks(path, start_offset, watch) as blocks:
        offset = blocks.offset
        for block in blocks:
            if isinstance(block, Skipped):
                # A line too long to keep: it cannot hold a valid ID.
                yield InvalidLine(line, too_long, raw_value(block.head))
                offset += block.length
                line += 1
                continue
            lines = block.split(b"\n")
            if block.endswith(b"\n"):
                lines.pop()  # the empty string after the last newline is no line
            for raw in lines:
                item = decide(raw, line, offset)
                if item is not None:
                    yield item
                offset += len(raw) + 1
                line += 1


def _id_line(raw: bytes, line: int, offset: int) -> Record | InvalidLine | None:
    """What one line of one ID per line holds: a record, an invalid line, or nothing."""
    # An undecodable byte becomes a lone surrogate, which check() reports as not UTF-8.
    value = raw.decode("utf-8", "surrogateescape").strip(TRIMMED)  # trim(), without a call
    if not value:
        return None  # a blank line is skipped, not reported
    reason = check(value)
    if reason is None:
        return Record(value, line, offset)
    return InvalidLine(line, reason, raw_value(raw))


class _JsonLine:
    """What one line of JSON Lines holds: a record, an invalid line, or nothing (blank)."""

    def __init__(self, field: str, *, check_first: bool) -> None:
        self.field = field
        self.check_first = check_first
        # The decoder's own decode() skips json.loads's argument checks.
        self.loads = json.JSONDecoder().decode
        self.missing = f"no field '{show(field)}'"
        self.not_string = f"field '{show(field)}' is not a string"
        self.twice = f"field '{show(field)}' appears more than once"
        # A line can hold the field twice only if it holds this twice, or an escape.
        self.quoted = json.dumps(field, ensure_ascii=False).encode("utf-8", "surrogateescape")

    def __call__(self, raw: bytes, line: int, offset: int) -> Record | InvalidLine | None:
        field = self.field
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return InvalidLine(line, REASON_UTF8, raw_value(raw))
        try:
            obj = self.loads(text)
        except (ValueError, RecursionError):
            # Blank lines land here too: testing for them only now spares every good line
            # a strip().
            return InvalidLine(line, REASON_NOT_OBJECT, raw_value(raw)) if trim(text) else None
        if type(obj) is not dict:
            return InvalidLine(line, REASON_NOT_OBJECT, raw_value(raw))
        if (b"\\" in raw or raw.count(self.quoted) > 1) and _repeats(text, field):
            return InvalidLine(line, self.twice, raw_value(raw))
        if field not in obj:
            if self.check_first:
                raise InputError(
                    f"field '{show(field)}' not found; the first object (line {line}) "
                    f"has: {name_list(list(obj))} (pass the right one with --column)"
                )
            return InvalidLine(line, self.missing, raw_value(raw))
        self.check_first = False
        value = obj[field]
        if type(value) is not str:
            return InvalidLine(line, self.not_string, raw_value(raw))
        value = trim(value)
        reason = check(value)
        if reason is None:
            return Record(value, line, offset)
        return InvalidLine(line, reason, text_value(value))


class _Pairs(list[tuple[str, object]]):
    """An object's members in order, duplicates kept (``object_pairs_hook``)."""


_PAIRS_DECODE: Final = json.JSONDecoder(object_pairs_hook=_Pairs).decode


def _repeats(text: str, field: str) -> bool:
    """Whether the line's top-level object holds *field* more than once."""
    pairs = _PAIRS_DECODE(text)
    return isinstance(pairs, _Pairs) and sum(name == field for name, _ in pairs) > 1
