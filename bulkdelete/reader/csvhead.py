"""A CSV's header and delimiter: the ID column, or a refusal (exit 2) rather than a guess. Read
with the wrong delimiter, every row would be one "ID"; so ``--delimiter`` or the header decides."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bulkdelete.errors import InputError, UsageError
from bulkdelete.reader.rule import name_list, show, trim

#: The delimiters sniffed from a header, in order of preference on a tie.
CANDIDATES: Final = (",", ";", "\t", "|")

_QUOTED: Final = re.compile(rb'"[^"]*(?:"|$)')
_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_ALIASES: Final = {"\\t": "\t", **{name: each for each, name in _NAMES.items()}}

#: A sniffed delimiter's row of one field whose ID holds another candidate: maybe a whole row.
REASON_STRAY_DELIMITER: Final = (
    "holds a delimiter the header does not use (a whole row? pass --delimiter)"
)

#: The header again (two exports joined with cat), never an ID.
REASON_HEADER_AGAIN: Final = "the ID column's own name (a repeated header row?)"


def parse_delimiter(text: str | None) -> str | None:
    """``--delimiter``'s one character (``tab`` or ``\\t`` for a tab), None to sniff;
    never a quote, a letter or a space."""
    if text is None:
        return None
    value = _ALIASES.get(text.lower(), text)
    if len(value) == 1 and (value == "\t" or (value.isascii() and value.isprintable()
                                              and not value.isalnum() and value not in '" ')):
        return value
    raise UsageError(
        f"--delimiter takes one punctuation character or 'tab' (e.g. ';' or '|'), got {text!r}"
    )


def describe(delimiter: str) -> str:
    """For the plan and messages: ``';' (semicolon)``, ``tab``."""
    if delimiter == "\t":
        return "tab"
    name = _NAMES.get(delimiter)
    return f"'{delimiter}' ({name})" if name else f"'{delimiter}'"


def _flag(delimiter: str) -> str:
    return f"--delimiter {'tab' if delimiter == chr(9) else repr(delimiter)}"


def sniff(header_line: bytes) -> str:
    """The candidate the header holds most often outside quotes (first on a tie), else a comma."""
    # A quoted cell separates nothing; a quote left open runs to the line's end.
    bare = _QUOTED.sub(b"", header_line)
    counts = [bare.count(candidate.encode("ascii")) for candidate in CANDIDATES]
    best = max(counts)
    return CANDIDATES[counts.index(best)] if best else ","


def _other(text: str, delimiter: str) -> str | None:
    return next((other for other in CANDIDATES if other != delimiter and other in text), None)


@dataclass(frozen=True, slots=True)
class Header:
    """The trimmed names, the ID column, the delimiter, and whether it was sniffed."""

    names: list[str]
    index: int
    delimiter: str
    sniffed: bool

    @property
    def name(self) -> str:
        return self.names[self.index]

    def stray(self, value: str, fields: int) -> bool:
        """Whether *value*, the ID of a row of *fields* fields, may be a whole row."""
        return self.sniffed and (fields == 1 or len(self.names) == 1) and bool(
            _other(value, self.delimiter))


def looks_like_id(name: str) -> bool:
    """A column name is a word; an ID (GUID, e-mail, phone) has a digit, an @, or no letter."""
    return any(c.isdigit() or c == "@" for c in name) or not any(c.isalpha() for c in name)


def choose(row: list[str] | str, line: int, column: str | None, id_type: str,
           delimiter: str, given: bool) -> Header:
    """The :class:`Header` of *row* (a reason when csv failed), or the refusal that says why."""
    if isinstance(row, str):
        raise InputError(
            f"the CSV header (line {line}) is unusable: {row}, read as {describe(delimiter)}-"
            "separated; fix the header line, or pass the right --delimiter"
        )
    names = [trim(name) for name in row]
    if not given:
        # A cell holding another candidate: the file may be separated by that, and read
        # this way would send whole rows (or the wrong column).
        for position, name in enumerate(names, 1):
            if other := _other(name, delimiter):
                # The cell by its position: a header may be an ID (personal data).
                raise InputError(
                    f"the CSV header (line {line}) is ambiguous: read as {describe(delimiter)}"
                    f"-separated, its cell {position} holds a {_NAMES[other]} too. Pass "
                    f"--delimiter to say which separates the fields: {_flag(delimiter)} if "
                    f"the header is right as read, or {_flag(other)}"
                )
    elif column is None and len(names) == 1 and (other := _other(names[0], delimiter)):
        # Every row would be sent whole (--column naming the header says it is one column).
        raise InputError(
            f"the CSV header (line {line}), read as {describe(delimiter)}-separated by "
            f"--delimiter, is one column that holds a {_NAMES[other]}: the file looks "
            f"separated by that, and every row would be read whole. Pass "
            f"{_flag(other)}, or --column with the header's text if it really is one "
            "column"
        )
    index = _choose_column(names, column, id_type, delimiter)
    if (column is None and len(names) == 1 and names[0].casefold() != id_type.casefold()
            and looks_like_id(names[0])):
        raise InputError(
            "the CSV's one column is headed by what looks like an ID, not a column name: read "
            "as CSV, that first ID would be taken for the header and never deleted. For a file "
            f"of one ID per line, pass --format lines; if line {line} really is the header, "
            "pass --column with its name"
        )
    # A sniffed delimiter holds for the header, not necessarily for every row: a row separated
    # by another candidate is read as one field, and under a one-column header the comma is a
    # default, not a finding. Such a row's ID would be the whole row (REASON_STRAY_DELIMITER).
    return Header(names, index, delimiter, sniffed=not given)


def _choose_column(names: list[str], column: str | None, id_type: str, delimiter: str) -> int:
    if column is not None:
        matches = [index for index, name in enumerate(names) if name == column]
        if not matches:
            raise InputError(
                f"column '{show(column)}' not found; the header, read as "
                f"{describe(delimiter)}-separated, has: {name_list(names)} (pass one of them "
                "with --column, or the right --delimiter)"
            )
    elif len(names) == 1:
        return 0
    else:
        wanted = id_type.casefold()
        matches = [index for index, name in enumerate(names) if name.casefold() == wanted]
        if not matches:
            raise InputError(
                f"the CSV header has several columns ({describe(delimiter)}-separated) and "
                f"none is named '{show(id_type)}': {name_list(names)}; pass --column NAME to "
                "choose the one with the IDs"
            )
    if len(matches) > 1:
        first, second = (index + 1 for index in matches[:2])
        raise InputError(
            f"the CSV header names the ID column '{show(names[matches[0]])}' more than once "
            f"(columns {first} and {second}): which one holds the IDs is not clear. Rename "
            "the other column in the header"
        )
    return matches[0]
