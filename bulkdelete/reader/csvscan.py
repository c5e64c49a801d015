"""Where a CSV record ends, exactly as the csv module would end it, without keeping it.

The reader hands the csv module whole lines, and bounds how much of one record it holds.
A record longer than that must still end where csv would end it: starting the next record
anywhere else (inside a quoted field, say) would read a note's text as IDs. So such a record,
and a record the csv module refuses (a bad quote), is followed, byte by byte in effect but
with C loops doing the scanning, through the csv module's own state machine, reduced to what
decides where a record ends.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class Cursor:
    """Where the next physical line starts, plus what the reader knows of the record the csv
    module is parsing.

    The csv module pulls lines one at a time and never reads ahead, so the cursor's position
    just before asking it for a row is exactly where that row starts. ``record_bytes`` (set
    to 0 before each row) says whether the next line starts a record or continues one: the
    csv module only asks for another line of the same record from inside a quoted field.
    """

    offset: int
    line: int
    delimiter: str = ","
    over_long: str | None = None  # why the row was replaced by a stand-in
    record_bytes: int = 0
    last: bytes = b""  # the last line handed to csv, and whether it started its record
    last_starts: bool = True


# The states of the csv module's parser that decide where a record ends: at a field start
# (after a delimiter, or a record's start), in an unquoted field, in a quoted field, just
# after a quote in one, after a CR or LF outside quotes, and after an error (csv drops the
# rest of that line and starts the next record on the next line).
FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED, LINE_END, BROKEN = range(6)


@functools.cache
def _outside(delimiter: str) -> re.Pattern[bytes]:
    """Outside quotes, the next byte that matters: a line end, or a quote opening a field."""
    return re.compile(rb"[\r\n]|(?<=" + re.escape(delimiter.encode("ascii")) + rb')"')


def state_after(data: bytes, state: int, delimiter: str = ",") -> int:
    """The csv parser's state after *data* (part of one physical line), from *state*.

    The csv module's own state machine (``Modules/_csv.c``: ``parse_process_char``) with its
    default rules, reduced to what decides where a record ends: a quote followed by anything
    but a delimiter or a line end makes the rest of the field unquoted text (as csv does
    unless ``strict``, where it raises; the reader reports such a record as malformed but
    ends it here all the same, never inside what csv would read as a quoted field). So a
    record too long to hold, or refused, is followed to the very byte where csv ends it.
    Quoted stretches and unquoted fields are skipped by C loops (``find``, a regex).
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
    """Follow a record csv cannot hold to its true end, keeping nothing: from *state*, through
    *data* (the rest of its current line, if any) and on through *pieces*. Returns False when
    the file ends inside its quotes. The cursor is left where the next record starts."""
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
