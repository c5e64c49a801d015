"""Watches the open input, so a run only ever sends IDs of the file as the job found it.

An input rewritten mid-run would have its new bytes read as IDs, bypassing the pre-count and
``--max-delete``; so after each block read, before any of its IDs is batched, the open file
and the path must still be the file seen at the start (else exit 2, progress saved).
"""

from __future__ import annotations

import os
from pathlib import Path

from bulkdelete.errors import InputChanged, InputError

# Which file it is, its size and its times. The change time is in because, unlike the
# modification time, no one can set it back: an edit that restores the mtime (touch -d,
# cp -p, os.utime) still moves it.
FileState = tuple[int, int, int, int, int]


def _state(info: os.stat_result) -> FileState:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def input_changed(path: Path, what: str) -> InputChanged:
    """The one wording for every way the input can change under a run."""
    return InputChanged(
        f"input changed during the run: {path} {what}. Nothing read after the change was "
        "sent and progress is saved; restore the original file and run the same command to "
        "resume, or use --restart to start over"
    )


class Watch:
    """The input's state at the start of a run, checked after every read."""

    __slots__ = ("expected", "path")

    def __init__(self, path: Path, expected: FileState) -> None:
        self.path = path
        self.expected = expected

    @classmethod
    def start(cls, path: Path) -> Watch:
        """Take the state of *path* now: what every later read must still find."""
        try:
            return cls(path, _state(os.stat(path)))
        except OSError as exc:
            raise InputError(f"cannot read input file {path}: {exc.strerror}") from None

    def check(self, fd: int) -> None:
        """Raise :class:`InputChanged` unless the open file *fd*, and the file the path now
        names, are both still the one the run started with, unmodified."""
        try:
            ok = _state(os.stat(self.path)) == self.expected == _state(os.fstat(fd))
        except OSError:
            ok = False  # the path was removed or renamed away: not the input any more
        if not ok:
            raise input_changed(self.path, "was modified, replaced or moved")
