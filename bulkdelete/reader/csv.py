"""CSV input: the ID column of each record, with records bounded in memory.

The csv module parses; this module feeds it whole physical lines, picks the ID column from the
header, and bounds what one record may hold. A record that would grow past
:data:`_CSV_RECORD_BYTES` is not handed over: it is followed to its true end by
:func:`~bulkdelete.reader.csvscan.follow`, without being kept, so the next record starts where
csv itself would start it, never inside a quoted field.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from bulkdelete.errors import InputError
from bulkdelete.reader.csvscan import FIELD_START, QUOTED, Cursor, follow, state_after
from bulkdelete.reader.items import InvalidLine, Record, new_record, text_value
from bulkdelete.reader.rule import check, name_list, show
from bulkdelete.reader.source import (
    MAX_LINE_BYTES,
    REASON_LINE_TOO_LONG,
    Blocks,
    Stream,
    seek,
)
from bulkdelete.reader.watch import Watch

__all__ = [
    "REASON_FIELD_TOO_LONG",
    "REASON_MALFORMED_CSV",
    "REASON_RECORD_TOO_LONG",
    "REASON_UNBALANCED_QUOTE",
    "csv_header",
    "csv_records",
]

REASON_UNBALANCED_QUOTE: Final = "unbalanced quote"
REASON_FIELD_TOO_LONG: Final = "CSV field too long (unbalanced quote?)"
REASON_RECORD_TOO_LONG: Final = (
    f"CSV record longer than {MAX_LINE_BYTES >> 20} MiB (unbalanced quote?)"
)
REASON_MALFORMED_CSV: Final = "malformed CSV"

#: Most bytes of one CSV record held for the csv module (its lines, newlines included). A
#: longer record is one invalid record, followed to its true end without being kept.
_CSV_RECORD_BYTES: Final = MAX_LINE_BYTES


def csv_records(
    stream: Stream,
    path: Path,
    column: str | None,
    id_type: str,
    start_offset: int,
    start_line: int,
    watch: Watch | None,
) -> Iterator[Record | InvalidLine]:
    """Every record of a CSV file, from *start_offset* (the header is read first, always)."""
    blocks = Blocks(stream, path, 0, watch=watch)
    rows = _rows(blocks, blocks.offset, 1)
    header = _header(rows, column, id_type)
    if header is None:
        return  # empty file: nothing to delete, and nothing wrong
    names, index = header
    name = names[index]
    if start_offset:
        # Resume: the header was needed for the column; now jump to the watermark.
        seek(stream, path, start_offset)
        rows = _rows(Blocks(stream, path, start_offset, watch=watch), start_offset, start_line)
    for line, offset, row in rows:
        if isinstance(row, str):
            yield InvalidLine(line, row)
        elif index >= len(row):
            yield InvalidLine(line, f"no column '{show(name)}'", text_value(",".join(row)))
        else:
            value = row[index].strip()
            reason = check(value)
            if reason is None:
                yield new_record(value, line, offset)
            else:
                yield InvalidLine(line, reason, text_value(row[index]))


def csv_header(stream: Stream, path: Path, column: str | None,
               id_type: str) -> tuple[list[str], int] | None:
    """The header's names (trimmed) and the index of the ID column, chosen as
    :func:`csv_records` chooses it; None for an empty file."""
    blocks = Blocks(stream, path, 0)
    return _header(_rows(blocks, blocks.offset, 1), column, id_type)


def _header(rows: Iterator[tuple[int, int, list[str] | str]], column: str | None,
            id_type: str) -> tuple[list[str], int] | None:
    header = next(rows, None)
    if header is None:
        return None
    header_line, _, names = header
    if isinstance(names, str):
        raise InputError(
            f"the CSV header (line {header_line}) is unusable: {names}; fix the header line"
        )
    trimmed = [name.strip() for name in names]
    return trimmed, _choose_column(trimmed, column, id_type)


def _choose_column(names: list[str], column: str | None, id_type: str) -> int:
    """Index of the ID column: the one asked for, the only one, or the one named *id_type*."""
    if column is not None:
        if column in names:
            return names.index(column)
        raise InputError(
            f"column '{show(column)}' not found; the header has: {name_list(names)} "
            "(pass one of them with --column)"
        )
    if len(names) == 1:
        return 0
    wanted = id_type.casefold()
    for index, name in enumerate(names):
        if name.casefold() == wanted:
            return index
    raise InputError(
        f"the CSV header has several columns and none is named '{show(id_type)}': "
        f"{name_list(names)}; pass --column NAME to choose the one with the IDs"
    )
def _feed(pieces: Iterator[bytes], cursor: Cursor) -> Iterator[str]:
    """Decoded physical lines (newline kept, as csv needs) for :func:`csv.reader`.

    A record that would grow past :data:`_CSV_RECORD_BYTES` is not handed over: it is
    followed to its true end by :func:`~bulkdelete.reader.csvscan.follow`, without being kept, and
    csv gets a stand-in that ends its row there (so the row is reported invalid and the next
    record starts where csv itself would start it, never inside a quoted field).
    """
    limit = _CSV_RECORD_BYTES
    held = b""  # the start of a line longer than a read block, while the record may fit
    for piece in pieces:
        if held:
            piece, held = held + piece, b""
        starts = not cursor.record_bytes
        if cursor.record_bytes + len(piece) > limit:
            cursor.over_long = REASON_LINE_TOO_LONG if starts else REASON_RECORD_TOO_LONG
            ended = follow(piece, pieces, cursor, FIELD_START if starts else QUOTED)
            if starts:
                yield "\n"  # an empty row in place of the whole record
            elif ended:
                yield '"\n'  # closes the quote csv is in, and the row
            # (Else the file ended inside the quotes: csv reports the unbalanced quote.)
            continue
        if not piece.endswith(b"\n"):
            held = piece  # a fragment of a long line, or the file's last line
            continue
        yield _hand(piece, starts, cursor)
    if held:
        yield _hand(held, not cursor.record_bytes, cursor)


def _hand(line: bytes, starts: bool, cursor: Cursor) -> str:
    """*line*, decoded for csv, with the cursor moved past it."""
    size = len(line)
    cursor.offset += size
    cursor.line += 1
    cursor.record_bytes += size
    cursor.last, cursor.last_starts = line, starts
    if line.isascii():
        return line.decode("ascii")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        # Keep going: only the ID cell matters, and it is checked for the surrogates this
        # leaves once the row is parsed.
        cursor.bad_utf8 = True
        return line.decode("utf-8", "surrogateescape")


def _rows(
    blocks: Blocks, offset: int, line: int
) -> Iterator[tuple[int, int, list[str] | str]]:
    """``(line, offset, row)`` per CSV record; *row* is a reason string when unusable.

    Blank lines are skipped here.
    """
    cursor = Cursor(offset, line)
    pieces = blocks.pieces()
    # strict: a quote where none may be ("ab"c) is an error rather than a guess, and an
    # unterminated quote at end of file is reported instead of silently closed.
    reader = csv.reader(_feed(pieces, cursor), strict=True)
    while True:
        line, offset = cursor.line, cursor.offset
        cursor.bad_utf8 = False
        cursor.over_long = None
        cursor.record_bytes = 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "unexpected end of data" in message:
                yield line, offset, REASON_UNBALANCED_QUOTE
            elif "field larger than field limit" in message:
                # csv gave up inside the field and would restart on the next line, which
                # may still be inside the field's quotes, where no record may start: find
                # the record's true end first, from the start of the line csv stopped in.
                start = FIELD_START if cursor.last_starts else QUOTED
                if state_after(cursor.last, start) == QUOTED and cursor.last.endswith(b"\n"):
                    follow(None, pieces, cursor, QUOTED)
                yield line, offset, REASON_FIELD_TOO_LONG
            else:
                yield line, offset, REASON_MALFORMED_CSV
            continue
        if cursor.over_long is not None:
            yield line, offset, cursor.over_long
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield line, offset, row


