"""Which character separates a CSV's fields: ``--delimiter``, or sniffed from the header.

Read with the wrong delimiter, every row would be one "ID"; so the one candidate the header
holds decides (none: a comma), and a header holding two is refused rather than guessed at.
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
    """``--delimiter``'s one character (``tab`` or ``\\t`` for a tab); None: sniff. A quote,
    a letter or a space could never separate fields."""
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
    # A quoted cell separates nothing; a quote left open runs to the line's end.
    bare = _QUOTED.sub(b"", header_line)
    counts = [bare.count(candidate.encode("ascii")) for candidate in CANDIDATES]
    best = max(counts)
    return CANDIDATES[counts.index(best)] if best else ","


def _other(text: str, delimiter: str) -> str | None:
    """The first candidate but *delimiter* that *text* holds."""
    return next((other for other in CANDIDATES if other != delimiter and other in text), None)


def check_header(names: list[str], delimiter: str, line: int) -> None:
    """Refuse a sniffed header a cell of which holds another candidate: the file may be
    separated by that, and read this way would send whole rows (or the wrong column)."""
    for position, name in enumerate(names, 1):
        if other := _other(name, delimiter):
            # The cell by its position: a header may be an ID (personal data).
            raise InputError(
                f"the CSV header (line {line}) is ambiguous: read as {describe(delimiter)}-"
                f"separated, its cell {position} holds a {_NAMES[other]} too. Pass "
                f"--delimiter to say which separates the fields: {_flag(delimiter)} if "
                f"the header is right as read, or {_flag(other)}"
            )


def check_given(names: list[str], delimiter: str, line: int) -> None:
    """Refuse a given delimiter that leaves the header one column holding a candidate: every
    row would be sent whole (``--column`` naming that header says it is one column)."""
    if len(names) == 1 and (other := _other(names[0], delimiter)):
        raise InputError(
            f"the CSV header (line {line}), read as {describe(delimiter)}-separated by "
            f"--delimiter, is one column that holds a {_NAMES[other]}: the file looks "
            f"separated by that, and every row would be read whole. Pass "
            f"{_flag(other)}, or --column with the header's text if it really is one "
            "column"
        )


def _flag(delimiter: str) -> str:
    """As the operator would type it: ``--delimiter ';'``, ``--delimiter tab``."""
    return f"--delimiter {'tab' if delimiter == chr(9) else repr(delimiter)}"
