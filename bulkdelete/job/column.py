"""Which column or field of the input holds the IDs, for the plan to name, and the warning
a one-column CSV earns when its header looks like an ID (docs/guarantees.md §7): a file of
IDs without a header would silently lose its first ID to the header."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from bulkdelete.reader import InputFormat
from bulkdelete.reader.csv import csv_header
from bulkdelete.reader.rule import show
from bulkdelete.reader.source import open_stream
from bulkdelete.settings import JobFiles

log = structlog.get_logger("bulkdelete")

HEADER_WARNING = (
    "the CSV's one column is headed by what looks like an ID, not a name: a file without "
    "a header loses its first ID to it. Feed a file of one ID per line as --format lines, "
    "or name the column with --column to confirm the header"
)


@dataclass(frozen=True, slots=True)
class IdColumn:
    """The CSV column or JSON field read (None for one ID per line)."""

    name: str | None = None
    header_looks_like_id: bool = False
    kind: str = "column"  # or "field" (JSON Lines)

    def describe(self) -> str:
        """For the plan: never the header itself when it may be an ID (personal data)."""
        if self.header_looks_like_id:
            return "column 1, whose header looks like an ID"
        return f"{self.kind} '{show(self.name)}'" if self.name is not None else ""


def looks_like_id(name: str) -> bool:
    """A column name is a word; an ID (a GUID, an e-mail address, a phone number) has
    digits or an @ in it, or no letter at all."""
    return any(c.isdigit() or c == "@" for c in name) or not any(c.isalpha() for c in name)


def id_column(files: JobFiles, fmt: InputFormat, id_type: str) -> IdColumn:
    """The column the reader will take, chosen by the reader's own rule; logs the warning."""
    if fmt == "lines":
        return IdColumn()
    if fmt == "jsonl":
        return IdColumn(files.column if files.column is not None else id_type, kind="field")
    stream = open_stream(files.input)
    try:
        header = csv_header(stream, files.input, files.column, id_type)
    finally:
        stream.close()
    if header is None:
        return IdColumn()
    names, index = header
    name = names[index]
    suspicious = (files.column is None and len(names) == 1
                  and name.casefold() != id_type.casefold() and looks_like_id(name))
    if suspicious:
        log.warning("csv_header_looks_like_id", line=1, hint=HEADER_WARNING)
    return IdColumn(name, suspicious)
