"""Opening the input: checks, gzip, seeking to a resume offset, the BOM, and blocks of lines.

Binary mode, because a resume seeks to a byte offset (docs/guarantees.md §3; in the
decompressed stream for ``.gz``). A line over :data:`MAX_LINE_BYTES` is read through, never
held. After each read the :class:`~bulkdelete.reader.watch.Watch` checks the file.
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, TypeVar

from bulkdelete.errors import InputError
from bulkdelete.reader.watch import Watch

#: Longest physical line held, in bytes (without its newline); generous, for CSV and JSON
#: lines with other columns. A longer line is read through and reported as one invalid line.
MAX_LINE_BYTES: Final = 1 << 20

REASON_LINE_TOO_LONG: Final = f"line longer than {MAX_LINE_BYTES >> 20} MiB"

# Read size: per-block overhead vanishes, and a block plus the longest line stays a few MiB.
_BLOCK_SIZE: Final = 256 << 10

_BOM: Final = b"\xef\xbb\xbf"

#: First bytes of a skipped line kept: enough for the 512 characters invalid.jsonl lists.
_HEAD_BYTES: Final = 2048

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Skipped:
    """A line too long to keep: its byte length, newline included, and its first bytes."""

    length: int
    head: bytes


# Names that are stdin whatever the file system says about them.
_STDIN_NAMES: Final = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})

_PIPE_MESSAGE: Final = (
    "reading from stdin/a pipe is not supported: a pipe cannot be resumed; "
    "save the IDs to a file first"
)


def open_error(path: Path | str, exc: OSError) -> InputError:
    """One wording, with the fix, for every way opening the input can fail."""
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return InputError(f"input file not found: {path}; check the path")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"input {path} is a directory; pass the file of IDs")
    if isinstance(exc, PermissionError):
        return InputError(
            f"cannot read input file {path}: permission denied; check its permissions"
        )
    return InputError(f"cannot open input file {path}: {exc.strerror}")


def not_gzip(path: Path) -> str:
    # Never the gzip module's own message: it quotes the file's first bytes.
    return (
        f"input {path} is not valid gzip (corrupt, truncated or not compressed); "
        "check the file, or drop the .gz suffix if it is plain text"
    )


def check_input_path(path: Path) -> None:
    """Refuse, with the reason and the fix, an input the reader could not use or resume (a
    pipe cannot seek to a checkpoint's offset); for ``.gz``, reads its two magic bytes."""
    text = str(path)
    if text in _STDIN_NAMES:
        raise InputError(_PIPE_MESSAGE)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise open_error(text, exc) from None
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):
        raise InputError(_PIPE_MESSAGE)
    _refuse_irregular(text, info.st_mode)
    fd, _ = open_regular(path)  # opening proves readability (os.access is wrong as root)
    try:
        # Else a .gz that is not gzip fails only once the job has started.
        magic = os.read(fd, 2) if path.name.lower().endswith(".gz") else b""
    except OSError as exc:
        raise InputError(f"cannot read input file {text}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if magic and magic != b"\x1f\x8b":
        raise InputError(not_gzip(path))


def open_regular(path: Path) -> tuple[int, int]:
    """A descriptor open on *path*, and its size; anything but a regular file refused."""
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
        raise InputError(f"input {path} is a directory; pass the file of IDs")
    if not stat.S_ISREG(mode):
        raise InputError(f"input {path} is not a regular file; save the IDs to a file first")


class Stream(Protocol):
    """A plain binary file or a GzipFile."""

    def read(self, size: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def close(self) -> None: ...
    def fileno(self) -> int: ...


def open_stream(path: Path) -> Stream:
    """Open *path* for binary reading, through gzip when it ends in ``.gz``."""
    try:
        if path.name.lower().endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")  # the caller closes it
    except OSError as exc:
        raise open_error(path, exc) from None


@contextmanager
def open_blocks(path: Path, start_offset: int, watch: Watch | None) -> Iterator[Blocks]:
    """*path*'s :class:`Blocks` from *start_offset*, the file closed on leaving."""
    stream = open_stream(path)
    try:
        yield Blocks(stream, path, start_offset, watch=watch)
    finally:
        stream.close()


class Blocks:
    """Whole physical lines from *start_offset*: iterating yields blocks of lines (the
    file's last may lack its newline) or a :class:`Skipped` line over :data:`MAX_LINE_BYTES`,
    the same wherever the reads fell, so a resumed read treats every line as the full read."""

    __slots__ = ("_fd", "_path", "_pending", "_stream", "_watch", "offset")

    def __init__(
        self, stream: Stream, path: Path, start_offset: int = 0, *, watch: Watch | None = None
    ) -> None:
        self._stream = stream
        self._path = path
        self._pending = b""
        self._watch = watch
        # For .gz, the compressed file's descriptor: that is the file that can change.
        self._fd = stream.fileno() if watch is not None else -1
        self.offset = start_offset  # past a BOM at the file's start
        if start_offset:
            self._guarded(stream.seek, start_offset)
        else:
            # Only a BOM at the very start of the file is one; the bytes after it start line 1.
            head = self._read(len(_BOM))
            if head == _BOM:
                self.offset = len(_BOM)
            else:
                self._pending = head

    def _read(self, size: int) -> bytes:
        data: bytes = self._guarded(self._stream.read, size)
        # After the read and before any of its IDs can be batched: a block read from a
        # changed file is never used (an empty read included: a truncated file ends early).
        self._check()
        return data

    def _guarded(self, operation: Callable[[int], T], argument: int) -> T:
        try:
            return operation(argument)
        except (gzip.BadGzipFile, EOFError, zlib.error):
            self._check()  # a .gz cut short by a rewrite: say what really happened
            raise InputError(not_gzip(self._path)) from None
        except OSError as exc:
            raise InputError(f"cannot read input file {self._path}: {exc.strerror}") from None

    def _check(self) -> None:
        if self._watch is not None:
            self._watch.check(self._fd)

    def __iter__(self) -> Iterator[bytes | Skipped]:
        pending = b""  # the start of a line whose end is not read yet
        data = self._pending or self._read(_BLOCK_SIZE)
        while data:
            buf = pending + data if pending else data
            end = buf.rfind(b"\n") + 1
            if end:
                yield from _kept(buf, end)
            pending = buf[end:]
            data = self._read(_BLOCK_SIZE)
            if len(pending) > MAX_LINE_BYTES:
                # Too long to keep: read on to its end without keeping it.
                length, head = len(pending), pending[:_HEAD_BYTES]
                while data and (newline := data.find(b"\n")) < 0:
                    length += len(data)
                    data = self._read(_BLOCK_SIZE)
                if data:
                    length += newline + 1
                    data = data[newline + 1 :] or self._read(_BLOCK_SIZE)
                yield Skipped(length, head)
                pending = b""
        if pending:
            yield pending

    def pieces(self) -> Iterator[bytes]:
        """Each physical line, except that one longer than a read block comes in pieces of
        at least a block. Nothing is skipped: CSV must see every quote (it bounds what it
        keeps)."""
        pending = self._pending
        while data := self._read(_BLOCK_SIZE):
            buf = pending + data if pending else data
            start = 0
            while (newline := buf.find(b"\n", start)) >= 0:
                yield buf[start : newline + 1]
                start = newline + 1
            pending = buf[start:]
            if len(pending) >= _BLOCK_SIZE:
                yield pending
                pending = b""
        if pending:
            yield pending


def _kept(buf: bytes, end: int) -> Iterator[bytes | Skipped]:
    """``buf[:end]`` (whole lines), with every line over the limit a :class:`Skipped`."""
    if end <= MAX_LINE_BYTES:  # no line in it can be over the limit
        yield buf if end == len(buf) else buf[:end]
        return
    start = kept = 0
    while start < end:
        newline = buf.find(b"\n", start, end)
        if newline - start > MAX_LINE_BYTES:
            if kept < start:
                yield buf[kept:start]
            yield Skipped(newline + 1 - start, buf[start : start + _HEAD_BYTES])
            kept = newline + 1
        start = newline + 1
    if kept < end:
        yield buf[kept:end]
