"""CSV input: the ID column of each record, bounded in memory. A record too long, or that csv
refuses, is followed to its true end, so the next record never starts inside quotes."""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Final

from bulkdelete.reader.csvhead import (
    REASON_HEADER_AGAIN,
    REASON_STRAY_DELIMITER,
    Header,
    choose,
    parse_delimiter,
    sniff,
)
from bulkdelete.reader.guard import Watch
from bulkdelete.reader.rule import (
    REASON_EMPTY,
    InvalidLine,
    Record,
    Records,
    check,
    show,
    text_value,
    trim,
    undecodable,
    unusable,
)
from bulkdelete.reader.source import (
    MAX_LINE_BYTES,
    REASON_LINE_TOO_LONG,
    Blocks,
    Stream,
    look_ahead,
    open_stream,
)

REASON_UNBALANCED_QUOTE: Final = "unbalanced quote"
REASON_FIELD_TOO_LONG: Final = "CSV field too long (unbalanced quote?)"
REASON_RECORD_TOO_LONG: Final = (
    f"CSV record longer than {MAX_LINE_BYTES >> 20} MiB (unbalanced quote?)"
)
REASON_MALFORMED_CSV: Final = "malformed CSV"

if TYPE_CHECKING:
    from bulkdelete.reader.formats import Input

Rows = Iterator[tuple[int, int, list[str] | str]]


def csv_records(source: Input, start_offset: int, start_line: int) -> Records:
    """Every record of a CSV file from *start_offset* (the header is read first, always)."""
    with closing(open_stream(source.path)) as stream:
        rows, header = _open(stream, source, source.watch)
        if header is None:
            return  # empty file: nothing to delete, and nothing wrong
        index, name, separator = header.index, header.name, header.delimiter
        if start_offset:
            # Resume: the header was needed for the column; now jump to the watermark.
            blocks = Blocks(stream, source.path, start_offset, source.watch)
            rows = _rows(blocks.pieces(), start_offset, start_line, separator, source.encoding)
        bad = undecodable(source.encoding)
        for line, offset, row in rows:
            if isinstance(row, str):
                yield unusable(line, row)  # REASON_EMPTY: a blank line
            elif index >= len(row):
                yield InvalidLine(line, f"no column '{show(name)}'",
                                  text_value(separator.join(row)))
            else:
                value = trim(row[index])
                reason = check(value, bad)
                if reason is None and header.stray(value, len(row)):
                    reason = REASON_STRAY_DELIMITER
                elif value == name:
                    reason = REASON_HEADER_AGAIN
                if reason is None:
                    yield Record(value, line, offset)
                else:
                    yield unusable(line, reason, text_value(row[index]))


def csv_column(source: Input) -> tuple[str | None, str]:
    """The ID column's name (None for an empty file) and the delimiter, as :func:`csv_records`
    reads them."""
    with closing(open_stream(source.path)) as stream:
        header = _open(stream, source, None)[1]
    if header is None:
        return None, parse_delimiter(source.delimiter) or ","
    return header.name, header.delimiter


def _open(stream: Stream, source: Input, watch: Watch | None) -> tuple[Rows, Header | None]:
    blocks = Blocks(stream, source.path, 0, watch, source.tap)
    pieces = blocks.pieces()
    # The header's first line decides the delimiter; blank lines before it are kept to be
    # read as the rows they are.
    ahead = look_ahead(pieces)
    given = parse_delimiter(source.delimiter)
    separator = given or sniff(ahead[-1] if ahead else b"")
    rows = _rows(chain(ahead, pieces), blocks.offset, 1, separator, source.encoding)
    blank_rows = []  # before the header: counted as blank like the others
    first = next(rows, None)
    while first is not None and first[2] == REASON_EMPTY:
        blank_rows.append(first)
        first = next(rows, None)
    if first is None:
        return iter(blank_rows), None
    line, _, row = first
    return chain(blank_rows, rows), choose(row, line, source.column, source.id_type, separator,
                                          given is not None)


@dataclass(slots=True)
class Cursor:
    """Where the next physical line starts (csv never reads ahead, so where the next row does),
    and the bytes of the record csv is parsing (0: the next line starts one)."""

    offset: int
    line: int
    delimiter: str = ","
    encoding: str = "utf-8"
    over_long: str | None = None  # why the row was replaced by a stand-in
    record_bytes: int = 0
    last: bytes = b""  # the last line handed to csv


def _feed(pieces: Iterator[bytes], cursor: Cursor) -> Iterator[str]:
    """Decoded lines for csv; a record too long is followed to its end, csv gets a stand-in."""
    limit = MAX_LINE_BYTES  # most bytes of one record held for csv, newlines included
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
    size = len(line)
    cursor.offset += size
    cursor.line += 1
    cursor.record_bytes += size
    cursor.last = line
    # Only the ID cell matters, and check() finds the surrogates an undecodable byte leaves.
    return line.decode(cursor.encoding, "surrogateescape")


def _rows(pieces: Iterator[bytes], offset: int, line: int, delimiter: str,
          encoding: str = "utf-8") -> Rows:
    """``(line, offset, row)`` per non-blank CSV record; *row* is a reason when unusable."""
    cursor = Cursor(offset, line, delimiter, encoding)
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
            yield line, offset, REASON_EMPTY  # a blank line
            continue
        yield line, offset, row


# The csv parser's states that decide where a record ends. BROKEN: after an error, csv drops
# the rest of the line and starts the next record on the next line.
FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED, LINE_END, BROKEN = range(6)


@functools.cache
def _outside(delimiter: str) -> re.Pattern[bytes]:
    """Outside quotes, the next byte that matters: a line end, or a quote opening a field."""
    return re.compile(rb"[\r\n]|(?<=" + re.escape(delimiter.encode("ascii")) + rb')"')


def state_after(data: bytes, state: int, delimiter: str = ",") -> int:
    """The csv parser's state after *data* (part of one line) from *state*: ``_csv.c``'s
    ``parse_process_char`` reduced to what ends a record, by csv's non-strict rules."""
    separator = ord(delimiter)
    outside = _outside(delimiter)
    # After a quote in quotes: a doubled quote (still inside), the field's end, the line's, or
    # else text (strict csv: "',' expected after '\"'").
    after_quote = {0x22: QUOTED, separator: FIELD_START, 0x0A: LINE_END, 0x0D: LINE_END}
    pos, size = 0, len(data)
    while pos < size:
        if state == QUOTED:
            pos = data.find(b'"', pos) + 1
            if not pos:
                return QUOTED
            state = QUOTE_IN_QUOTED
            continue
        byte = data[pos]
        if state == QUOTE_IN_QUOTED:
            state = after_quote.get(byte, UNQUOTED)
            pos += 1
        elif state == LINE_END:
            if byte not in (0x0A, 0x0D):
                return BROKEN  # "new-line character seen in unquoted field"
            pos += 1
        elif state == FIELD_START and byte == 0x22:
            state = QUOTED
            pos += 1
        else:
            # Outside quotes (a quote inside an unquoted field is an ordinary character).
            found = outside.search(data, pos)
            if found is None:
                return FIELD_START if data[-1] == separator else UNQUOTED
            state = QUOTED if found.group() == b'"' else LINE_END
            pos = found.end()
    return state


def follow(data: bytes | None, pieces: Iterator[bytes], cursor: Cursor, state: int) -> bool:
    """Follow a record from *state* through *data* (the rest of its line) and *pieces* to its
    end, keeping nothing, the cursor left there; False when the file ends inside quotes."""
    mid_line = False  # bytes of a line were passed, not yet its newline
    for piece in chain(() if data is None else (data,), pieces):
        if state != BROKEN:
            state = state_after(piece, state, cursor.delimiter)
        cursor.offset += len(piece)
        mid_line = not piece.endswith(b"\n")
        if not mid_line:
            cursor.line += 1
            if state != QUOTED:
                return True  # csv ends a record at a line end outside quotes, or an error
    if mid_line:
        cursor.line += 1  # the file's last line, without a newline
    return state != QUOTED
