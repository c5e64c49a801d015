"""Writes the job relies on, checked whole (the guarantees: crash safety).

Every file the tool depends on to resume — the checkpoint, the failed file — is written
through these helpers: a write either lands completely or is a failure the caller sees,
a replaced file is installed only once fully on disk, and a line-oriented file is cut
back to its last complete line so an append never glues onto half a line.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path


def open_private(path: Path, flags: int) -> int:
    """os.open with owner-only permissions, also tightening a file that already exists."""
    fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)
    return fd


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` or raise. A write that makes no progress is a full
    disk in all but name (a short write is how ENOSPC first shows), so it raises ENOSPC
    rather than looping or returning with part of the data written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def write_private_atomic(path: Path, data: bytes, *, tag: str = "") -> None:
    """Replace ``path`` atomically and durably: temp file, every byte written and its
    length checked, fsync, rename, fsync of the directory. On any failure the temp file
    is removed and ``path`` is left as it was, so a good file is never replaced by a
    short one. ``tag`` makes the temp name unique when two writers could overlap."""
    tmp = path.with_name(f"{path.name}{tag}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        try:
            write_all(fd, data)
            size = os.fstat(fd).st_size
            if size != len(data):
                raise OSError(errno.EIO, f"wrote {size} of {len(data)} bytes")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def cut_to_last_line(fd: int) -> int:
    """Truncate the file open on ``fd`` after its last newline (to empty if it has none),
    dropping a line a failed write or a crash left half written; returns the new size.
    Reads backwards in blocks, so a large file costs only its torn tail."""
    size = os.fstat(fd).st_size
    end = size
    block = 64 * 1024
    while end > 0:
        start = max(0, end - block)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        end = start
    else:
        keep = 0
    if keep != size:
        os.ftruncate(fd, keep)
    return keep
