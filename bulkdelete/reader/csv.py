"""CSV input: the ID column of each record, with records bounded in memory.

The csv module parses (strict) whole physical lines fed from here. A record that would grow
past :data:`_CSV_RECORD_BYTES`, or that csv refuses, is followed to its true end by
:func:`~bulkdelete.reader.csvscan.follow`, never resumed inside a quoted field.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Final

from bulkdelete.reader.csvhead import (
    REASON_HEADER_AGAIN,
    REASON_STRAY_DELIMITER,
    Header,
    choose,
)
from bulkdelete.reader.csvscan import FIELD_START, QUOTED, Cursor, follow, state_after
from bulkdelete.reader.dialect import parse_delimiter, sniff
from bulkdelete.reader.guard import Watch
from bulkdelete.reader.rule import InvalidLine, Record, check, show, text_value, trim
from bulkdelete.reader.source import (
    MAX_LINE_BYTES,
    REASON_LINE_TOO_LONG,
    Blocks,
    Stream,
    open_stream,
)

REASON_UNBALANCED_QUOTE: Final = "unbalanced quote"
REASON_FIELD_TOO_LONG: Final = "CSV field too long (unbalanced quote?)"
REASON_RECORD_TOO_LONG: Final = (
    f"CSV record longer than {MAX_LINE_BYTES >> 20} MiB (unbalanced quote?)"
)
REASON_MALFORMED_CSV: Final = "malformed CSV"

#: Most bytes of one CSV record held for the csv module (its lines, newlines included).
_CSV_RECORD_BYTES: Final = MAX_LINE_BYTES

#: Blank lines before the header looked through for the line that decides the delimiter.
_BLANK_LINES_AHEAD: Final = 1000


def csv_records(
    path: Path,
    column: str | None,
    id_type: str,
    start_offset: int,
    start_line: int,
    watch: Watch | None,
    delimiter: str | None = None,
) -> Iterator[Record | InvalidLine]:
    """Every record of a CSV file from *start_offset* (the header is read first, always)."""
    stream = open_stream(path)
    try:
        rows, header = _open(stream, path, column, id_type, delimiter, watch)
        if header is None:
            return  # empty file: nothing to delete, and nothing wrong
        index, name, separator = header.index, header.name, header.delimiter
        stray = header.stray
        if start_offset:
            # Resume: the header was needed for the column; now jump to the watermark.
            rows = _rows(Blocks(stream, path, start_offset, watch=watch).pieces(), start_offset,
                         start_line, separator)
        for line, offset, row in rows:
            if isinstance(row, str):
                yield InvalidLine(line, row)
            elif index >= len(row):
                yield InvalidLine(line, f"no column '{show(name)}'",
                                  text_value(separator.join(row)))
            else:
                value = trim(row[index])
                reason = check(value)
                if reason is None and stray(value, len(row)):
                    reason = REASON_STRAY_DELIMITER
                elif value == name:
                    reason = REASON_HEADER_AGAIN
                if reason is None:
                    yield Record(value, line, offset)
                else:
                    yield InvalidLine(line, reason, text_value(row[index]))
    finally:
        stream.close()


def csv_header(stream: Stream, path: Path, column: str | None, id_type: str,
               delimiter: str | None = None) -> Header | None:
    """The header as :func:`csv_records` reads it, or refuses it; None for an empty file."""
    return _open(stream, path, column, id_type, delimiter, None)[1]


def _open(
    stream: Stream, path: Path, column: str | None, id_type: str, delimiter: str | None,
    watch: Watch | None,
) -> tuple[Iterator[tuple[int, int, list[str] | str]], Header | None]:
    """The rows after the header, and the header (None for an empty file)."""
    blocks = Blocks(stream, path, 0, watch=watch)
    pieces = blocks.pieces()
    # The header's first line decides the delimiter; blank lines before it are kept to be
    # read as the rows they are.
    ahead: list[bytes] = []
    for piece in pieces:
        ahead.append(piece)
        if piece.strip() or len(ahead) > _BLANK_LINES_AHEAD:
            break
    given = parse_delimiter(delimiter)
    separator = given or sniff(ahead[-1] if ahead else b"")
    rows = _rows(chain(ahead, pieces), blocks.offset, 1, separator)
    first = next(rows, None)
    if first is None:
        return rows, None
    line, _, row = first
    return rows, choose(row, line, column, id_type, separator, given is not None)


def _feed(pieces: Iterator[bytes], cursor: Cursor) -> Iterator[str]:
    """Decoded physical lines for :func:`csv.reader`. A record that would grow past
    :data:`_CSV_RECORD_BYTES` is followed to its end, and csv gets a stand-in ending its row."""
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
        yield _hand(piece, cursor)
    if held:
        yield _hand(held, cursor)


def _hand(line: bytes, cursor: Cursor) -> str:
    """*line*, decoded for csv, with the cursor moved past it."""
    size = len(line)
    cursor.offset += size
    cursor.line += 1
    cursor.record_bytes += size
    cursor.last = line
    if line.isascii():
        return line.decode("ascii")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        # Keep going: only the ID cell matters, and check() finds the surrogates this
        # leaves in it.
        return line.decode("utf-8", "surrogateescape")


def _rows(
    pieces: Iterator[bytes], offset: int, line: int, delimiter: str
) -> Iterator[tuple[int, int, list[str] | str]]:
    """``(line, offset, row)`` per non-blank CSV record; *row* is a reason when unusable."""
    cursor = Cursor(offset, line, delimiter)
    # strict: a quote where none may be ("ab"c) is an error rather than a guess, and an
    # unterminated quote at end of file is reported instead of silently closed.
    reader = csv.reader(_feed(pieces, cursor), delimiter=delimiter, strict=True)
    while True:
        line, offset = cursor.line, cursor.offset
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
                continue
            # csv gave up on the line it was in and would restart on the next one, which may
            # still be inside a quoted field (a bad quote, then a field that opens and spans
            # lines; a field over csv's limit): find where csv's own rules end the record,
            # from the start of the line csv stopped in, and go on from there.
            # The line started its record when the record holds nothing else.
            start = FIELD_START if cursor.record_bytes == len(cursor.last) else QUOTED
            if (cursor.last.endswith(b"\n")
                    and state_after(cursor.last, start, delimiter) == QUOTED):
                follow(None, pieces, cursor, QUOTED)
            too_long = "field larger than field limit" in message
            yield line, offset, REASON_FIELD_TOO_LONG if too_long else REASON_MALFORMED_CSV
            continue
        if cursor.over_long is not None:
            yield line, offset, cursor.over_long
            continue
        if not row or (len(row) == 1 and not trim(row[0])):
            continue
        yield line, offset, row


