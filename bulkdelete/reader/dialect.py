"""Which character separates a CSV's fields: given with ``--delimiter``, or sniffed from the
header among the usual ones.

A file read with the wrong delimiter is read whole-row: an Excel export separated by ``;``
read as ``,`` has one column, ``user_id;email;created_at``, and every row would be one "ID".
So the header decides: the one candidate it holds is the delimiter (none: a comma, one
column), and a header that holds two candidates is refused rather than guessed at. Once a
delimiter is chosen without ``--delimiter``, no header cell may hold another candidate; a
given one may not leave the header one column holding another (:func:`check_given`).
"""

from __future__ import annotations

import re
from typing import Final

from bulkdelete.errors import InputError, UsageError

#: The delimiters sniffed from a header, in order of preference on a tie.
CANDIDATES: Final = (",", ";", "\t", "|")

_QUOTED: Final = re.compile(rb'"[^"]*(?:"|$)')
_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_ALIASES: Final = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def parse_delimiter(text: str | None) -> str | None:
    """``--delimiter``'s value as the one character it names (``tab`` or ``\\t`` for a tab);
    None stays None (sniff). One ASCII punctuation character or a tab: the reader follows
    records byte by byte, and a quote, a letter or a space could never separate fields."""
    if text is None:
        return None
    value = _ALIASES.get(text.lower(), text)
    if len(value) == 1 and (value == "\t" or (value.isascii() and value.isprintable()
                                              and not value.isalnum() and value not in '" ')):
        return value
    raise UsageError(
        f"--delimiter takes one punctuation character or 'tab' (e.g. ';' or '|'), got "
        f"{text!r}"
    )


def describe(delimiter: str) -> str:
    """For the plan and messages: ``';' (semicolon)``, ``tab``."""
    if delimiter == "\t":
        return "tab"
    name = _NAMES.get(delimiter)
    return f"'{delimiter}' ({name})" if name else f"'{delimiter}'"


def sniff(header_line: bytes) -> str:
    """The candidate the header's first line holds most often outside quotes (a tie goes to
    the first in :data:`CANDIDATES`); a comma when it holds none (one column)."""
    # A quoted cell's text separates nothing: '"a;b;c",id' is comma-separated. (A quote left
    # open runs to the line's end, as a cell that spans lines does.)
    bare = _QUOTED.sub(b"", header_line)
    counts = [bare.count(candidate.encode("ascii")) for candidate in CANDIDATES]
    best = max(counts)
    return CANDIDATES[counts.index(best)] if best else ","


def check_header(names: list[str], delimiter: str, line: int) -> None:
    """Refuse a sniffed header one of whose cells holds another candidate delimiter: the
    file may be separated by that one, and reading it the other way would send whole rows
    (or the wrong column) as IDs."""
    for position, name in enumerate(names, 1):
        for other in CANDIDATES:
            if other != delimiter and other in name:
                # The cell by its position: a header may be an ID (personal data).
                raise InputError(
                    f"the CSV header (line {line}) is ambiguous: read as {describe(delimiter)}-"
                    f"separated, its cell {position} holds a {_NAMES[other]} too. Pass "
                    f"--delimiter to say which separates the fields: {_flag(delimiter)} if "
                    f"the header is right as read, or {_flag(other)}"
                )


def check_given(names: list[str], delimiter: str, line: int) -> None:
    """Refuse a given delimiter that leaves the header one column holding a candidate: the
    file is separated by that one (``--delimiter ';'`` on a comma file), and every row would
    be sent whole. (``--column`` naming that header says it really is one column.)"""
    if len(names) == 1:
        held = [other for other in CANDIDATES if other != delimiter and other in names[0]]
        if held:
            raise InputError(
                f"the CSV header (line {line}), read as {describe(delimiter)}-separated by "
                f"--delimiter, is one column that holds a {_NAMES[held[0]]}: the file looks "
                f"separated by that, and every row would be read whole. Pass "
                f"{_flag(held[0])}, or --column with the header's text if it really is one "
                "column"
            )


def _flag(delimiter: str) -> str:
    """``--delimiter ';'``, ``--delimiter tab``: as the operator would type it."""
    return f"--delimiter {'tab' if delimiter == chr(9) else repr(delimiter)}"
