"""The input guard: the path checked before a job, the content fingerprint a checkpoint is
bound to (docs/guarantees.md §3), and the watch that stops a run whose input changes (§0)."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bulkdelete.errors import InputChanged, InputError

# Names that are stdin whatever the file system says about them.
_STDIN_NAMES: Final = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})

_PIPE_MESSAGE: Final = (
    "reading from stdin/a pipe is not supported: a pipe cannot be resumed; "
    "save the IDs to a file first"
)

_OPEN_ERRORS: Final = (
    (FileNotFoundError | NotADirectoryError, "input file not found: {}; check the path"),
    (IsADirectoryError, "input {} is a directory; pass the file of IDs"),
    (PermissionError, "cannot read input file {}: permission denied; check its permissions"),
)

HEAD_BYTES: Final = 1 << 20  # hashed at the start and at the end of the file
#: Size of each sampled block between head and tail, and how many there are.
SAMPLE_BYTES: Final = 64 << 10
SAMPLE_COUNT: Final = 16

# Bumped whenever what is hashed changes, so an old checkpoint reads as "another input"
# instead of comparing digests of different things.
_VERSION: Final = "v1"


def open_error(path: Path | str, exc: OSError) -> InputError:
    """One wording, with the fix, for every way opening the input can fail."""
    for kinds, message in _OPEN_ERRORS:
        if isinstance(exc, kinds):
            return InputError(message.format(path))
    return InputError(f"cannot open input file {path}: {exc.strerror}")


def read_error(path: Path | str, exc: OSError) -> InputError:
    return InputError(f"cannot read input file {path}: {exc.strerror}")


def not_gzip(path: Path) -> str:
    # Never the gzip module's own message: it quotes the file's first bytes.
    return (
        f"input {path} is not valid gzip (corrupt, truncated or not compressed); "
        "check the file, or drop the .gz suffix if it is plain text"
    )


def check_input_path(path: Path) -> None:
    """Refuse, saying why and the fix, an input that could not be read or resumed (a pipe)."""
    if str(path) in _STDIN_NAMES:
        raise InputError(_PIPE_MESSAGE)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise open_error(path, exc) from None
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):
        raise InputError(_PIPE_MESSAGE)
    _refuse_irregular(path, info.st_mode)
    fd, _ = open_regular(path)  # opening proves readability (os.access is wrong as root)
    try:
        # Else a .gz that is not gzip fails only once the job has started.
        magic = os.read(fd, 2) if path.name.lower().endswith(".gz") else b""
    except OSError as exc:
        raise read_error(path, exc) from None
    finally:
        os.close(fd)
    if magic and magic != b"\x1f\x8b":
        raise InputError(not_gzip(path))


def open_regular(path: Path) -> tuple[int, int]:
    try:
        # O_NONBLOCK: opening a FIFO (the path swapped since a check) must not wait for a
        # writer; it has no effect on reading a regular file.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise open_error(path, exc) from None
    info = os.fstat(fd)  # the file opened, not whatever the path names a moment later
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        _refuse_irregular(path, info.st_mode)
    return fd, info.st_size


def _refuse_irregular(path: Path | str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise open_error(path, IsADirectoryError())
    if not stat.S_ISREG(mode):
        raise InputError(f"input {path} is not a regular file; save the IDs to a file first")


def sampled_ranges(size: int) -> list[tuple[int, int]]:
    """The ranges hashed: the first and last MiB and 16 blocks evenly between (so a resume
    reads 3 MiB whatever the size), or a small file whole."""
    if size <= 2 * HEAD_BYTES + SAMPLE_COUNT * SAMPLE_BYTES:
        return [(0, size)] if size else []
    first, last = HEAD_BYTES, size - HEAD_BYTES - SAMPLE_BYTES
    starts = (first + (last - first) * index // (SAMPLE_COUNT - 1) for index in range(SAMPLE_COUNT))
    return [(0, HEAD_BYTES), *((start, start + SAMPLE_BYTES) for start in starts),
            (size - HEAD_BYTES, size)]


def fingerprint(path: Path) -> str:
    """``"v1:<size>:<sha256>"`` of the :func:`sampled_ranges`, not the mtime (a copied file
    keeps its checkpoint); of a ``.gz``, the compressed bytes."""
    fd, size = open_regular(path)
    with os.fdopen(fd, "rb") as stream:
        digest = hashlib.sha256(f"{_VERSION}:{size}:".encode())
        for start, end in sampled_ranges(size):
            stream.seek(start)
            try:
                data = stream.read(end - start)  # buffered: short only at the file's end
            except OSError as exc:
                raise read_error(path, exc) from None
            if len(data) < end - start:
                # Shrunk while read: never bind a checkpoint to half a file.
                raise InputError(
                    f"input file {path} changed while being read; wait until it is "
                    "complete and run again"
                )
            digest.update(data)
    return f"{_VERSION}:{size}:{digest.hexdigest()}"


# Which file it is, its size and its times. The change time is in because, unlike the
# modification time, no one can set it back: an edit that restores the mtime (touch -d,
# cp -p, os.utime) still moves it.
FileState = tuple[int, int, int, int, int]


def _state(info: os.stat_result) -> FileState:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def input_changed(path: Path, what: str) -> InputChanged:
    return InputChanged(
        f"input changed during the run: {path} {what}. Nothing read after the change was "
        "sent and progress is saved; restore the original file and run the same command to "
        "resume, or use --restart to start over"
    )


@dataclass(frozen=True, slots=True)
class Watch:
    """The input's state at the start of a run, checked after every block read: a rewritten
    input's new bytes would bypass the pre-count and ``--max-delete``."""

    path: Path
    expected: FileState

    @classmethod
    def start(cls, path: Path) -> Watch:
        try:
            return cls(path, _state(os.stat(path)))
        except OSError as exc:
            raise read_error(path, exc) from None

    def check(self, fd: int) -> None:
        """Raise :class:`InputChanged` unless *fd* and the path are still the file unmodified."""
        try:
            ok = _state(os.stat(self.path)) == self.expected == _state(os.fstat(fd))
        except OSError:
            ok = False  # the path was removed or renamed away: not the input any more
        if not ok:
            raise input_changed(self.path, "was modified, replaced or moved")
