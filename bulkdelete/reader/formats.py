"""One ID per line and JSON Lines: each physical line decoded and decided on its own.

Both read the whole lines :class:`~bulkdelete.reader.source.Blocks` yields and carry
nothing from one block to the next but the offset and line number, so a read resumed at a
record's ``(offset, line)`` yields exactly what the full read yields from there on.

In JSON Lines the ID is a JSON string: a number (``17``, ``-0``) is an invalid value, never
sent as the digits Python would print for it. An object that holds the field twice is an
invalid line rather than one of the two values silently kept (the json module keeps the last).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Final

from bulkdelete.errors import InputError
from bulkdelete.reader.items import InvalidLine, Record, raw_value, text_value
from bulkdelete.reader.rule import REASON_TOO_LONG, REASON_UTF8, check, name_list, show, trim
from bulkdelete.reader.source import REASON_LINE_TOO_LONG, Blocks, Skipped

__all__ = ["REASON_NOT_OBJECT", "jsonl_records", "line_records"]

REASON_NOT_OBJECT: Final = "not a JSON object"


def line_records(blocks: Blocks, line: int) -> Iterator[Record | InvalidLine]:
    """One ID per line: each line decoded, trimmed, skipped when blank, else decided by
    :func:`~bulkdelete.reader.rule.check`."""
    offset = blocks.offset
    for block in blocks:
        if isinstance(block, Skipped):
            # A line too long to keep: it cannot hold a valid ID.
            yield InvalidLine(line, REASON_TOO_LONG, raw_value(block.head))
            offset += block.length
            line += 1
            continue
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()  # the empty string after the last newline is no line
        for raw in lines:
            try:
                value = trim(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield InvalidLine(line, REASON_UTF8, raw_value(raw))
            else:
                if value:  # a blank line is skipped, not reported
                    reason = check(value)
                    if reason is None:
                        yield Record(value, line, offset)
                    else:
                        yield InvalidLine(line, reason, raw_value(raw))
            offset += len(raw) + 1
            line += 1


def jsonl_records(
    blocks: Blocks, line: int, field: str, *, check_first: bool
) -> Iterator[Record | InvalidLine]:
    """Every record of *blocks*, the ID taken from *field*.

    With *check_first*, an object without the field that is the file's first object is taken
    to mean the wrong field name (every line would fail), so it stops the run instead of
    reporting every line. A resume skips that check: the run that made the checkpoint passed it.
    """
    # The decoder's own decode() skips json.loads's argument checks, a good part of its cost.
    loads = json.JSONDecoder().decode
    missing = f"no field '{show(field)}'"
    not_string = f"field '{show(field)}' is not a string"
    twice = f"field '{show(field)}' appears more than once"
    # The field as it appears unescaped: an object may hold it twice only if the line holds
    # this twice, or holds an escape (which could spell it another way).
    quoted = json.dumps(field, ensure_ascii=False).encode("utf-8", "surrogateescape")
    offset = blocks.offset
    for block in blocks:
        if isinstance(block, Skipped):
            yield InvalidLine(line, REASON_LINE_TOO_LONG, raw_value(block.head))
            offset += block.length
            line += 1
            continue
        size = len(block)
        start = 0
        while start < size:
            newline = block.find(b"\n", start)
            end = size if newline < 0 else newline + 1
            raw = block[start:end]
            here = offset
            offset += end - start
            start = end
            number = line
            line += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield InvalidLine(number, REASON_UTF8, raw_value(raw))
                continue
            try:
                obj = loads(text)
            except (ValueError, RecursionError):
                # Blank lines land here too: testing for them only now spares every good
                # line a strip().
                if trim(text):
                    yield InvalidLine(number, REASON_NOT_OBJECT, raw_value(raw))
                continue
            if type(obj) is dict and (b"\\" in raw or raw.count(quoted) > 1) \
                    and _repeats(text, field):
                yield InvalidLine(number, twice, raw_value(raw))
                continue
            if type(obj) is not dict:
                yield InvalidLine(number, REASON_NOT_OBJECT, raw_value(raw))
                continue
            if field not in obj:
                if check_first:
                    raise InputError(
                        f"field '{show(field)}' not found; the first object (line {number}) "
                        f"has: {name_list(list(obj))} (pass the right one with --column)"
                    )
                yield InvalidLine(number, missing, raw_value(raw))
                continue
            check_first = False
            item = obj[field]
            if type(item) is str:
                value = trim(item)
            else:
                yield InvalidLine(number, not_string, raw_value(raw))
                continue
            reason = check(value)
            if reason is None:
                yield Record(value, number, here)
            else:
                yield InvalidLine(number, reason, text_value(value))


class _Pairs(list[tuple[str, object]]):
    """An object's members in order, duplicates kept (``object_pairs_hook``)."""


_PAIRS_DECODE: Final = json.JSONDecoder(object_pairs_hook=_Pairs).decode


def _repeats(text: str, field: str) -> bool:
    """Whether the line's top-level object holds *field* more than once (decoded again,
    keeping every member: only for the rare line that might)."""
    pairs = _PAIRS_DECODE(text)
    return isinstance(pairs, _Pairs) and sum(name == field for name, _ in pairs) > 1
