"""``invalid.jsonl``: every invalid line of the input, in the checkpoint folder
(docs/guarantees.md §7), listed in a second read (bounded memory) and installed whole."""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Final

import structlog

from bulkdelete.durable import count_lines, write_all, write_private_atomic
from bulkdelete.errors import StorageError
from bulkdelete.outputs import INVALID_NAME
from bulkdelete.reader import Input, InvalidLine
from bulkdelete.reader.rule import VALUE_CHARS

log = structlog.get_logger("bulkdelete")

VALUE_LIMIT: Final = 512  # characters of a value's escaped form kept
_FLUSH_LINES: Final = 1024  # lines gathered per write: bounded memory, few syscalls


def invalid_line_json(item: InvalidLine) -> bytes:
    """One line of the file, its value cut to :data:`VALUE_LIMIT` escaped characters and
    "truncated" when it is (or may be: the reader keeps at most :data:`VALUE_CHARS` of a
    line); backslashreplace keeps it valid JSON whatever the value."""
    value, cut = item.value, len(item.value) >= VALUE_CHARS
    if _escaped_length(value) > VALUE_LIMIT:
        sizes = itertools.accumulate(map(_escaped_length, value))  # of each prefix
        kept = sum(1 for _ in itertools.takewhile(lambda size: size <= VALUE_LIMIT, sizes))
        value, cut = value[:kept], True
    record: dict[str, object] = {"line": item.line, "reason": item.reason, "value": value}
    if cut:
        record["truncated"] = True
    text = json.dumps(record, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace") + b"\n"


def _escaped_length(text: str) -> int:
    """Inside a JSON string as written: six for a lone surrogate (``\\udcff``)."""
    escaped = json.dumps(text, ensure_ascii=False)
    return len(escaped) - 2 + 5 * sum(1 for char in text if "\ud800" <= char <= "\udfff")


def write_invalid_lines(directory: Path, source: Input, expected: int, *,
                        resumed: bool = False) -> Path:
    """The list of ``expected`` lines, written whole (on a resume: only when missing or
    short) once a crash's temporaries are gone: they hold the lines' values."""
    path = directory / INVALID_NAME
    for stale in directory.glob(INVALID_NAME + "*.tmp"):  # a killed run's: not ours
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    if resumed:
        with contextlib.suppress(FileNotFoundError), path.open("rb") as listed:
            if count_lines(listed.fileno()) == expected:
                return path
        log.info("invalid_list_rewritten", lines_invalid=expected)

    def write(fd: int) -> None:
        if not expected:
            return
        with contextlib.closing(source.records()) as items:  # the input file closed now
            listed = (invalid_line_json(item) for item in items if type(item) is InvalidLine)
            lines = itertools.islice(listed, expected)  # read no further than the last one
            while chunk := list(itertools.islice(lines, _FLUSH_LINES)):
                write_all(fd, b"".join(chunk))

    try:
        write_private_atomic(path, write)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
