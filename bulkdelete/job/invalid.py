"""``invalid.jsonl``: every invalid line of the input, in the checkpoint folder
(docs/guarantees.md §7). Listed in a second read once the operator has said yes (bounded
memory), installed whole before the job's first snapshot; a resume rewrites one missing or
short, and removes a crash's temporaries (they hold the lines' values).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from functools import partial
from pathlib import Path
from typing import Final

from bulkdelete.durable import count_lines, replace_private, write_all
from bulkdelete.errors import StorageError
from bulkdelete.outputs import INVALID_NAME
from bulkdelete.reader import InputFormat, InvalidLine, Watch, read_records
from bulkdelete.reader.rule import VALUE_CHARS
from bulkdelete.settings import JobFiles

VALUE_LIMIT: Final = 512  # characters of a value's escaped form kept
_FLUSH_LINES: Final = 1024  # lines gathered per write: bounded memory, few syscalls


def invalid_line_json(item: InvalidLine) -> bytes:
    """One line of the file; backslashreplace keeps it valid JSON whatever the value."""
    value, cut = capped_value(item.value)
    record: dict[str, object] = {"line": item.line, "reason": item.reason, "value": value}
    if cut:
        record["truncated"] = True
    text = json.dumps(record, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace") + b"\n"


def capped_value(value: str) -> tuple[str, bool]:
    """``value`` cut to fit :data:`VALUE_LIMIT` escaped characters, and whether it is (or
    may be: the reader keeps at most :data:`VALUE_CHARS` of a line) cut."""
    cut = len(value) >= VALUE_CHARS
    if _escaped_length(value) <= VALUE_LIMIT:
        return value, cut
    size = kept = 0
    for char in value:
        size += _escaped_length(char)
        if size > VALUE_LIMIT:
            break
        kept += 1
    return value[:kept], True


def _escaped_length(text: str) -> int:
    """Inside a JSON string as written: six for a lone surrogate (``\\udcff``)."""
    escaped = json.dumps(text, ensure_ascii=False)
    return len(escaped) - 2 + 5 * sum(1 for char in text if "\ud800" <= char <= "\udfff")


def remove_stale(directory: Path) -> None:
    for stale in directory.glob(INVALID_NAME + "*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def listed_whole(directory: Path, expected: int) -> bool:
    try:
        with (directory / INVALID_NAME).open("rb") as listed:
            lines = count_lines(listed.fileno())
    except FileNotFoundError:
        return False
    return lines == expected


def write_invalid_lines(directory: Path, files: JobFiles, fmt: InputFormat, id_type: str,
                        watch: Watch | None, expected: int) -> Path:
    path = directory / INVALID_NAME
    remove_stale(directory)  # a killed run's temporary: its name was its own, not ours
    try:
        replace_private(path, partial(_write, files=files, fmt=fmt, id_type=id_type,
                                      watch=watch, expected=expected))
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _write(fd: int, *, files: JobFiles, fmt: InputFormat, id_type: str,
           watch: Watch | None, expected: int) -> None:
    if not expected:
        return
    items = read_records(files.input, fmt, column=files.column, id_type=id_type, watch=watch,
                       delimiter=files.delimiter)
    listed = (invalid_line_json(item) for item in items if type(item) is InvalidLine)
    lines = itertools.islice(listed, expected)  # read no further than the last one
    try:
        while chunk := list(itertools.islice(lines, _FLUSH_LINES)):
            write_all(fd, b"".join(chunk))
    finally:
        close = getattr(items, "close", None)  # a generator: closes the input file now
        if close is not None:
            close()
