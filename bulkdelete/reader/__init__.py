"""The input: IDs streamed out of a file of IDs, in constant memory.

Lines, CSV or JSON Lines (maybe gzipped) become :class:`Record` (a valid ID with its line and
byte offset, where a resume seeks: docs/guarantees.md §3) and :class:`InvalidLine` (counted,
never a crash, §7). Reasons and messages never hold an ID (personal data).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Final, Literal, cast, get_args

from bulkdelete.errors import InputError, UsageError
from bulkdelete.reader.csv import csv_records
from bulkdelete.reader.formats import jsonl_records, line_records
from bulkdelete.reader.guard import Watch, check_input_path
from bulkdelete.reader.rule import InvalidLine, Record, show
from bulkdelete.reader.source import open_blocks

__all__ = [
    "InputFormat",
    "InvalidLine",
    "Record",
    "Watch",
    "check_input_path",
    "check_lines_guess",
    "check_options",
    "detect_format",
    "read_records",
]

InputFormat = Literal["lines", "csv", "jsonl"]


def detect_format(path: Path, requested: str) -> InputFormat:
    """Resolve ``--format``: ``auto`` picks by extension (after a trailing ``.gz``); the
    guess "lines" is checked by :func:`check_lines_guess`."""
    if requested == "auto":
        name = path.name.lower().removesuffix(".gz")
        if name.endswith(".csv"):
            return "csv"
        if name.endswith((".jsonl", ".ndjson")):
            return "jsonl"
        return "lines"
    if requested in get_args(InputFormat):
        return cast(InputFormat, requested)
    raise UsageError(f"unknown input format {requested!r}; use one of auto, lines, csv, jsonl")


#: Blank lines looked through for the first line, and the bytes of it looked at.
_BLANK_LINES_LOOKED_AT: Final = 1000
_HEAD_BYTES: Final = 64 << 10

#: What may not start the first line of a file read as one ID per line by a guess: a CSV's
#: delimiters anywhere in it, a JSON value's opening at its start.
_STRUCTURED: Final = re.compile(rb"[,;|\t]|^\s*[{\[]")


def check_lines_guess(path: Path) -> None:
    """Refuse a file guessed to be one ID per line whose first line holds a delimiter or
    opens a JSON value: a CSV saved as ``.txt`` would send each whole row as an ID."""
    with open_blocks(path, 0, None) as blocks:
        lines = islice(blocks.pieces(), _BLANK_LINES_LOOKED_AT)
        first = next((line for line in lines if line.strip()), b"")
    if _STRUCTURED.search(first[:_HEAD_BYTES]):
        raise InputError(
            f"{show(path.name)} is read as one ID per line (its name does not end in .csv, "
            ".jsonl or .ndjson), but its first line looks like CSV or JSON, which read that way "
            "would send whole rows as IDs: pass --format csv or --format jsonl (with "
            "--column), or --format lines if every line really is one ID"
        )


def read_records(
    path: Path,
    fmt: InputFormat,
    *,
    column: str | None,
    id_type: str,
    start_offset: int = 0,
    start_line: int = 1,
    watch: Watch | None = None,
    delimiter: str | None = None,
) -> Iterator[Record | InvalidLine]:
    """Every record and invalid line of *path*, in file order, opened on the first
    ``next()``.

    *column* names the CSV column or JSON field (default: CSV's only column or the one named
    *id_type*; JSON's field *id_type*). Resume equals the tail: from a yielded record's
    ``offset`` and ``line`` it yields what the full read yielded from that record on.
    """
    check_options(fmt, column, delimiter)
    if fmt == "csv":
        return csv_records(path, column, id_type, start_offset, start_line, watch, delimiter)
    if fmt == "lines":
        return line_records(path, start_offset, start_line, watch)
    field = column if column is not None else id_type
    return jsonl_records(path, start_offset, start_line, field, watch)


def check_options(fmt: InputFormat, column: str | None, delimiter: str | None) -> None:
    """Refuse an option the format would ignore, rather than ignore it."""
    if column is not None and fmt == "lines":
        raise UsageError(
            "--column applies to CSV and JSON Lines input, but this input is read as one ID "
            "per line (--format lines, or a name not ending in .csv/.jsonl): drop --column, "
            "or pass --format csv or --format jsonl"
        )
    if delimiter is not None and fmt != "csv":
        raise UsageError(
            f"--delimiter applies to CSV input, but this input is read as {fmt}: drop "
            "--delimiter, or pass --format csv"
        )
