"""The formats: one ID per line, CSV and JSON Lines. Lines and JSON Lines decide each line on
its own, so a resume at a record's ``(offset, line)`` yields what the full read yields."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Literal, cast, get_args

from bulkdelete.errors import InputError, UsageError
from bulkdelete.reader.csv import csv_records
from bulkdelete.reader.guard import Watch
from bulkdelete.reader.rule import (
    REASON_TOO_LONG,
    TRIMMED,
    Blank,
    InvalidLine,
    Record,
    Records,
    check,
    name_list,
    raw_value,
    show,
    text_value,
    trim,
    undecodable,
    unusable,
)
from bulkdelete.reader.source import REASON_LINE_TOO_LONG, Tap, look_ahead, open_blocks

InputFormat = Literal["lines", "csv", "jsonl"]
_EXTENSIONS: Final[tuple[tuple[str, InputFormat], ...]] = (
    (".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"))
Decided = Record | InvalidLine | Blank | None

REASON_NOT_OBJECT: Final = "not a JSON object"

# An object's members in order, duplicates kept.
_PAIRS: Final = json.JSONDecoder(object_pairs_hook=list).decode

#: What may not start the first line of a file read as one ID per line by a guess: a CSV's
#: delimiters anywhere in it, a JSON value's opening at its start.
_STRUCTURED: Final = re.compile(rb"[,;|\t]|^\s*[{\[]")


def detect_format(path: Path, requested: str) -> InputFormat:
    """Resolve ``--format``: ``auto`` picks by extension (after a trailing ``.gz``)."""
    if requested == "auto":
        name = path.name.lower().removesuffix(".gz")
        return next((fmt for ext, fmt in _EXTENSIONS if name.endswith(ext)), "lines")
    if requested in get_args(InputFormat):
        return cast(InputFormat, requested)
    raise UsageError(f"unknown input format {requested!r}; use one of auto, lines, csv, jsonl")


def check_lines_guess(path: Path) -> None:
    """Refuse a file guessed to be one ID per line whose first line holds a delimiter or
    opens a JSON value: a CSV saved as ``.txt`` would send each whole row as an ID."""
    with open_blocks(path, 0, None) as blocks:
        first = (look_ahead(blocks.pieces()) or [b""])[-1]
    if first.strip() and _STRUCTURED.search(first[: 64 << 10]):
        raise InputError(
            f"{show(path.name)} is read as one ID per line (its name does not end in .csv, "
            ".jsonl or .ndjson), but its first line looks like CSV or JSON, which read that way "
            "would send whole rows as IDs: pass --format csv or --format jsonl (with "
            "--column), or --format lines if every line really is one ID"
        )


@dataclass(frozen=True, slots=True)
class Input:
    """The input and how it is read, built once, so every read of a job reads it the same
    way; a run's carries its :class:`Watch`. *column* names the CSV column or JSON field
    (default: the one named *id_type*)."""

    path: Path
    format: InputFormat
    id_type: str
    column: str | None = None
    delimiter: str | None = None
    watch: Watch | None = None
    encoding: str = "utf-8"  # canonical (reader.encoding.resolve_encoding)
    tap: Tap | None = field(default=None, compare=False)  # sees every byte a read from 0 reads

    @property
    def json_field(self) -> str:
        return self.column if self.column is not None else self.id_type

    def watched(self) -> Input:
        """Watched from now on: every read must find the input as it is now."""
        return replace(self, watch=Watch.start(self.path))

    def records(self, offset: int = 0, line: int = 1) -> Records:
        """Every record and invalid line from *offset* (at *line*) in file order, the file
        opened on the first ``next()``."""
        # An option the format would ignore is refused rather than ignored.
        if self.column is not None and self.format == "lines":
            raise UsageError(
                "--column applies to CSV and JSON Lines input, but this input is read as one "
                "ID per line (--format lines, or a name not ending in .csv/.jsonl): drop "
                "--column, or pass --format csv or --format jsonl"
            )
        if self.delimiter is not None and self.format != "csv":
            raise UsageError(
                f"--delimiter applies to CSV input, but this input is read as {self.format}: drop "
                "--delimiter, or pass --format csv"
            )
        if self.format == "csv":
            return csv_records(self, offset, line)
        if self.format == "lines":
            return _each_line(self, offset, line, _id_line(self.encoding), REASON_TOO_LONG)
        # A first object without the field means the wrong field name: refused (not on a
        # resume, which passed it).
        return _each_line(self, offset, line,
                          _json_line(self.json_field, self.encoding, check_first=offset == 0),
                          REASON_LINE_TOO_LONG)


def _each_line(source: Input, start_offset: int, line: int,
               decide: Callable[[bytes, int, int], Decided], too_long: str) -> Records:
    """What *decide* makes of each line (without its newline); one too long is *too_long*."""
    with open_blocks(source.path, start_offset, source.watch, source.tap) as blocks:
        offset = blocks.offset
        for block in blocks.chunks():
            if isinstance(block, tuple):  # a line too long to keep: its length and head
                yield InvalidLine(line, too_long, raw_value(block[1]))
                offset += block[0]
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


def _id_line(encoding: str) -> Callable[[bytes, int, int], Decided]:
    bad = undecodable(encoding)

    def decide(raw: bytes, line: int, offset: int) -> Decided:
        # An undecodable byte becomes a lone surrogate, which check() reports as such.
        value = raw.decode(encoding, "surrogateescape").strip(TRIMMED)  # trim(), no call
        reason = check(value, bad)  # a blank line is a Blank
        if reason is None:
            return Record(value, line, offset)
        return unusable(line, reason, raw_value(raw))

    return decide


def _json_line(field: str, encoding: str, *,
               check_first: bool) -> Callable[[bytes, int, int], Decided]:
    """One JSON line's record, invalid line or nothing (blank). The ID must be a string; a field
    held twice is invalid (the json module keeps the last)."""
    # The decoder's own decode() skips json.loads's argument checks.
    loads = json.JSONDecoder().decode
    shown = show(field)
    # A line can hold the field twice only if it holds this twice, or an escape.
    quoted = json.dumps(field, ensure_ascii=False).encode(encoding, "surrogateescape")
    bad = undecodable(encoding)

    def decide(raw: bytes, line: int, offset: int) -> Decided:
        nonlocal check_first
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            return InvalidLine(line, bad, raw_value(raw))
        try:
            obj = loads(text)
        except (ValueError, RecursionError):
            # Blank lines land here too: testing for them only now spares every good line
            # a strip().
            return InvalidLine(line, REASON_NOT_OBJECT, raw_value(raw)) if trim(text) \
                else Blank(line)
        if type(obj) is not dict:
            return InvalidLine(line, REASON_NOT_OBJECT, raw_value(raw))
        if (b"\\" in raw or raw.count(quoted) > 1) and sum(
                name == field for name, _ in _PAIRS(text)) > 1:  # obj is an object: its pairs
            return InvalidLine(line, f"field '{shown}' appears more than once", raw_value(raw))
        if field not in obj:
            if check_first:
                raise InputError(
                    f"field '{shown}' not found; the first object (line {line}) "
                    f"has: {name_list(list(obj))} (pass the right one with --column)"
                )
            return InvalidLine(line, f"no field '{shown}'", raw_value(raw))
        check_first = False
        value = obj[field]
        if type(value) is not str:
            return InvalidLine(line, f"field '{shown}' is not a string", raw_value(raw))
        value = trim(value)
        reason = check(value, bad)
        if reason is None:
            return Record(value, line, offset)
        return unusable(line, reason, text_value(value))

    return decide
