"""``invalid.jsonl``: every invalid line of the input, listed once per job in its
checkpoint folder (docs/checkpoint.md, docs/guarantees.md §7).

The pre-count only counts invalid lines (and keeps the first few for people), so a new job
lists them all in a second read when its checkpoint is created: nothing is written before
the operator says yes, memory stays bounded however many lines are invalid, and the read
stops at the last invalid line the pre-count saw (a file with none is not read again).
One JSON object per line: ``{"line": N, "reason": "...", "value": "..."}``, the value cut to
512 characters with undecodable bytes escaped, so a plain JSON parser reads every line.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Final

from bulkdelete.durable import fsync_dir, open_private, write_all
from bulkdelete.errors import StorageError
from bulkdelete.reader import InputFormat, InvalidLine, Watch, tally_runs
from bulkdelete.settings import JobFiles

INVALID_NAME: Final = "invalid.jsonl"
_FLUSH_LINES: Final = 1024  # lines gathered per write: bounded memory, few syscalls


def invalid_line_json(item: InvalidLine) -> bytes:
    """One line of the file; backslashreplace keeps it valid JSON whatever the value."""
    text = json.dumps({"line": item.line, "reason": item.reason, "value": item.value},
                      ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace") + b"\n"


def write_invalid_lines(directory: Path, files: JobFiles, fmt: InputFormat, id_type: str,
                        watch: Watch | None, expected: int) -> Path:
    """Write ``directory/invalid.jsonl`` (0600, replaced whole) listing the input's
    ``expected`` invalid lines; returns its path. A write failure is a StorageError."""
    path = directory / INVALID_NAME
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            _write(fd, files, fmt, id_type, watch, expected)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def _write(fd: int, files: JobFiles, fmt: InputFormat, id_type: str, watch: Watch | None,
           expected: int) -> None:
    if not expected:
        return
    pending: list[bytes] = []
    seen = 0
    items = tally_runs(files.input, fmt, column=files.column, id_type=id_type, watch=watch,
                       delimiter=files.delimiter)
    try:
        for item in items:
            if type(item) is not InvalidLine:
                continue
            pending.append(invalid_line_json(item))
            seen += 1
            if seen >= expected:
                break
            if len(pending) >= _FLUSH_LINES:
                write_all(fd, b"".join(pending))
                pending.clear()
    finally:
        close = getattr(items, "close", None)  # a generator: closes the input file now
        if close is not None:
            close()
    write_all(fd, b"".join(pending))
