"""Opening the input: gzip, the BOM, blocks of whole lines; binary, because a resume seeks to
a byte offset (docs/guarantees.md §3; of the decompressed stream for ``.gz``)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from functools import partial
from io import BufferedReader
from pathlib import Path
from typing import Final

from bulkdelete.errors import InputError
from bulkdelete.reader.guard import Watch, not_gzip, open_error, read_error

#: Longest physical line held, in bytes (without its newline); generous, for CSV and JSON
#: lines with other columns. A longer line is read through and reported as one invalid line.
MAX_LINE_BYTES: Final = 1 << 20

REASON_LINE_TOO_LONG: Final = f"line longer than {MAX_LINE_BYTES >> 20} MiB"

# Read size: per-block overhead vanishes, and a block plus the longest line stays a few MiB.
_BLOCK_SIZE: Final = 256 << 10

_BOM: Final = b"\xef\xbb\xbf"

#: First bytes of a skipped line kept: enough for the 512 characters invalid.jsonl lists.
_HEAD_BYTES: Final = 2048

#: Blank lines looked through for a file's first line (a CSV's header, a guessed format's).
BLANK_LINES_AHEAD: Final = 1000


Stream = BufferedReader | gzip.GzipFile
#: A line too long to keep: its byte length, newline included, and its first bytes.
Skipped = tuple[int, bytes]
#: Handed the bytes of every read (the pre-count's SHA-256 of the input, docs/report.md).
Tap = Callable[[bytes], object]


def open_stream(path: Path) -> Stream:
    try:
        if path.name.lower().endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")  # the caller closes it
    except OSError as exc:
        raise open_error(path, exc) from None


def look_ahead(pieces: Iterator[bytes]) -> list[bytes]:
    """The pieces up to the first non-blank one, or past :data:`BLANK_LINES_AHEAD` blank ones."""
    ahead: list[bytes] = []
    for piece in pieces:
        ahead.append(piece)
        if piece.strip() or len(ahead) > BLANK_LINES_AHEAD:
            break
    return ahead


@contextmanager
def open_blocks(path: Path, start_offset: int, watch: Watch | None,
                tap: Tap | None = None) -> Iterator[Blocks]:
    with closing(open_stream(path)) as stream:
        yield Blocks(stream, path, start_offset, watch, tap)


class Blocks:
    """Whole lines from *start_offset*, the same wherever the reads fell (so a resume too);
    the :class:`~bulkdelete.reader.guard.Watch` checks after each read."""

    def __init__(self, stream: Stream, path: Path, start_offset: int, watch: Watch | None,
                 tap: Tap | None = None) -> None:
        self._stream = stream
        # Every byte read, once, in order: only a read from the start sees the whole input.
        self._tap = tap if not start_offset else None
        self._path = path
        self._pending = b""
        # For .gz, the compressed file's descriptor: that is the file that can change.
        self._check: Callable[[], None] = (
            partial(watch.check, stream.fileno()) if watch is not None else lambda: None)
        self.offset = start_offset  # past a BOM at the file's start
        if start_offset:
            with self._reading():
                stream.seek(start_offset)
        else:
            # Only a BOM at the very start of the file is one; the bytes after it start line 1.
            head = self._read(len(_BOM))
            if head == _BOM:
                self.offset = len(_BOM)
            else:
                self._pending = head

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except (gzip.BadGzipFile, EOFError, zlib.error):
            self._check()  # a .gz cut short by a rewrite: say what really happened
            raise InputError(not_gzip(self._path)) from None
        except OSError as exc:
            raise read_error(self._path, exc) from None

    def _read(self, size: int) -> bytes:
        with self._reading():
            data = self._stream.read(size)
        # After the read and before any of its IDs can be batched: a block read from a
        # changed file is never used (an empty read included: a truncated file ends early).
        self._check()
        if self._tap is not None:
            self._tap(data)
        return data

    def pieces(self) -> Iterator[bytes]:
        """Each line, in pieces when longer than a block; nothing skipped: CSV sees every quote."""
        for block in self.chunks(skip=False):
            assert isinstance(block, bytes)
            start = 0
            while (newline := block.find(b"\n", start)) >= 0:
                yield block[start : newline + 1]
                start = newline + 1
            if start < len(block):
                yield block[start:]  # a piece of a long line, or the file's last line

    def chunks(self, *, skip: bool = True) -> Iterator[bytes | Skipped]:
        """Blocks of lines (the file's last may lack its newline); a line held past
        :data:`MAX_LINE_BYTES` a :class:`Skipped` or, unless *skip*, pieces of a block."""
        pending = b""  # the start of a line whose end is not read yet
        data = self._pending or self._read(_BLOCK_SIZE)
        while data:
            buf = pending + data if pending else data
            end = buf.rfind(b"\n") + 1
            if skip and end > MAX_LINE_BYTES:  # only then can a line in it be over the limit
                for line in buf[: end - 1].split(b"\n"):
                    too_long = len(line) > MAX_LINE_BYTES
                    yield (len(line) + 1, line[:_HEAD_BYTES]) if too_long else line + b"\n"
            elif end:
                yield buf if end == len(buf) else buf[:end]
            pending = buf[end:]
            if not skip and len(pending) >= _BLOCK_SIZE:
                yield pending
                pending = b""
            data = self._read(_BLOCK_SIZE)
            if skip and len(pending) > MAX_LINE_BYTES:
                # Too long to keep: read on to its end without keeping it.
                length, head = len(pending), pending[:_HEAD_BYTES]
                while data and (newline := data.find(b"\n")) < 0:
                    length += len(data)
                    data = self._read(_BLOCK_SIZE)
                if data:
                    length += newline + 1
                    data = data[newline + 1 :] or self._read(_BLOCK_SIZE)
                yield length, head
                pending = b""
        if pending:
            yield pending

