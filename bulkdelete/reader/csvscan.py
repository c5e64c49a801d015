"""Where a CSV record ends, exactly as the csv module would end it, without keeping it.

A record too long to hold, or refused by csv, is followed through csv's own state machine
(reduced to what ends a record) so the next record never starts inside a quoted field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class Cursor:
    """Where the next physical line starts, and what is known of the record csv is parsing.

    csv never reads ahead, so the position just before asking for a row is where that row
    starts; ``record_bytes`` (0 before each row) says whether a line starts a record.
    """

    offset: int
    line: int
    delimiter: str = ","
    over_long: str | None = None  # why the row was replaced by a stand-in
    record_bytes: int = 0
    last: bytes = b""  # the last line handed to csv


# The csv parser's states that decide where a record ends. BROKEN: after an error, csv drops
# the rest of the line and starts the next record on the next line.
FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED, LINE_END, BROKEN = range(6)


@functools.cache
def _outside(delimiter: str) -> re.Pattern[bytes]:
    """Outside quotes, the next byte that matters: a line end, or a quote opening a field."""
    return re.compile(rb"[\r\n]|(?<=" + re.escape(delimiter.encode("ascii")) + rb')"')


def state_after(data: bytes, state: int, delimiter: str = ",") -> int:
    """The csv parser's state after *data* (part of one physical line), from *state*.

    ``Modules/_csv.c``'s ``parse_process_char`` reduced to what ends a record. A quote then
    anything but a delimiter or line end makes the rest of the field unquoted text (csv's
    non-strict rule: the reader reports the record malformed but ends it where csv would).
    """
    separator = ord(delimiter)
    outside = _outside(delimiter)
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
            if byte == 0x22:  # a doubled quote: still inside
                state = QUOTED
            elif byte == separator:
                state = FIELD_START
            elif byte in (0x0A, 0x0D):
                state = LINE_END
            else:
                state = UNQUOTED  # strict csv: "',' expected after '\"'"
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
    """Follow a record to its true end, keeping nothing, from *state* through *data* (the
    rest of its line, if any) and *pieces*; the cursor is left where the next record starts.
    False when the file ends inside its quotes."""
    mid_line = False  # bytes of a line were passed, not yet its newline
    while True:
        if data is None:
            data = next(pieces, None)
            if data is None:
                if mid_line:
                    cursor.line += 1  # the file's last line, without a newline
                return state != QUOTED
        if state != BROKEN:
            state = state_after(data, state, cursor.delimiter)
        cursor.offset += len(data)
        mid_line = not data.endswith(b"\n")
        if not mid_line:
            cursor.line += 1
            if state != QUOTED:
                return True  # csv ends a record at a line end outside quotes, or an error
        data = None
