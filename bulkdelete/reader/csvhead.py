"""A CSV's header: which column holds the IDs, and the headers refused rather than guessed at.

Refused (exit 2, before anything is sent): a header that is not CSV, a ``--column`` it
lacks, several columns and none named like the ID type, the ID column named twice, another
candidate delimiter in a sniffed header, and one column headed by what looks like an ID (a
file of bare IDs would lose its first ID to the header).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bulkdelete.errors import InputError
from bulkdelete.reader.dialect import CANDIDATES, check_given, check_header, describe
from bulkdelete.reader.rule import name_list, show, trim

HEADER_LOOKS_LIKE_ID: Final = (
    "the CSV's one column is headed by what looks like an ID, not a column name: read as "
    "CSV, that first ID would be taken for the header and never deleted. "
    "For a file of one ID per line, pass --format lines; if line {line} really is the "
    "header, pass --column with its name"
)


#: A sniffed delimiter's row of one field whose ID holds another candidate: maybe a whole row.
REASON_STRAY_DELIMITER: Final = (
    "holds a delimiter the header does not use (a whole row? pass --delimiter)"
)


#: The header again (two exports joined with cat), never an ID.
REASON_HEADER_AGAIN: Final = "the ID column's own name (a repeated header row?)"


@dataclass(frozen=True, slots=True)
class Header:
    """The trimmed names, the ID column, the delimiter, and the candidates an ID may not
    hold (see :func:`choose`)."""

    names: list[str]
    index: int
    delimiter: str
    strays: str = ""

    @property
    def name(self) -> str:
        return self.names[self.index]

    def stray(self, value: str, fields: int) -> bool:
        """Whether *value*, the ID of a row of *fields* fields, may be a whole row."""
        return bool(self.strays) and (fields == 1 or len(self.names) == 1) and any(
            other in value for other in self.strays)


def looks_like_id(name: str) -> bool:
    """A column name is a word; an ID (a GUID, an e-mail address, a phone number) has
    digits or an @ in it, or no letter at all."""
    return any(c.isdigit() or c == "@" for c in name) or not any(c.isalpha() for c in name)


def choose(row: list[str] | str, line: int, column: str | None, id_type: str,
           delimiter: str, given: bool) -> Header:
    """The :class:`Header` of *row* (a reason when csv could not parse it), or the refusal
    that says what to fix."""
    if isinstance(row, str):
        raise InputError(
            f"the CSV header (line {line}) is unusable: {row}, read as {describe(delimiter)}-"
            "separated; fix the header line, or pass the right --delimiter"
        )
    names = [trim(name) for name in row]
    if not given:
        check_header(names, delimiter, line)
    elif column is None:
        check_given(names, delimiter, line)
    index = _choose_column(names, column, id_type, delimiter)
    if (column is None and len(names) == 1 and names[0].casefold() != id_type.casefold()
            and looks_like_id(names[0])):
        raise InputError(HEADER_LOOKS_LIKE_ID.format(line=line))
    # A sniffed delimiter holds for the header, not necessarily for every row: a row separated
    # by another candidate is read as one field, and under a one-column header the comma is a
    # default, not a finding. Such a row's ID would be the whole row (REASON_STRAY_DELIMITER).
    strays = "" if given else "".join(other for other in CANDIDATES if other != delimiter)
    return Header(names, index, delimiter, strays)


def _choose_column(names: list[str], column: str | None, id_type: str, delimiter: str) -> int:
    """The column asked for, the only one, or the one named *id_type* (any case)."""
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
