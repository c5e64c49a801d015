"""Which column or field holds the IDs, and a CSV's delimiter, for the plan to name. The
reader chooses (and refuses, docs/guarantees.md §7); this only reads its choice."""

from __future__ import annotations

from dataclasses import dataclass

from bulkdelete.reader import InputFormat
from bulkdelete.reader.csv import csv_header
from bulkdelete.reader.csvhead import describe, parse_delimiter
from bulkdelete.reader.rule import show
from bulkdelete.reader.source import open_stream
from bulkdelete.settings import JobFiles


@dataclass(frozen=True, slots=True)
class IdColumn:
    name: str | None = None
    kind: str = "column"  # or "field" (JSON Lines)
    delimiter: str | None = None

    def describe(self) -> str:
        """For the plan: ``column 'email', ';' (semicolon)-separated``."""
        if self.name is None:
            return ""
        what = f"{self.kind} '{show(self.name)}'"
        return f"{what}, {describe(self.delimiter)}-separated" if self.delimiter else what


def id_column(files: JobFiles, fmt: InputFormat, id_type: str) -> IdColumn:
    if fmt == "lines":
        return IdColumn()
    if fmt == "jsonl":
        return IdColumn(files.column if files.column is not None else id_type, kind="field")
    name, delimiter = csv_column(files, id_type)
    return IdColumn(name, delimiter=delimiter)


def csv_column(files: JobFiles, id_type: str) -> tuple[str | None, str]:
    stream = open_stream(files.input)
    try:
        header = csv_header(stream, files.input, files.column, id_type, files.delimiter)
    finally:
        stream.close()
    if header is None:
        return None, parse_delimiter(files.delimiter) or ","
    return header.name, header.delimiter
