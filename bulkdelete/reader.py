"""Stage 1 of the pipeline: stream IDs out of the input file, in constant memory.

The reader turns a file of IDs (plain lines, CSV or JSON Lines, optionally gzip-compressed)
into a stream of :class:`Record` (a valid ID with where it came from) and :class:`InvalidLine`
(a line that cannot be used, with a short reason). It never stops on bad content: spec 4.7
says bad input is counted and reported, never a crash. It stops with :class:`InputError` only
when the file as a whole is unusable (missing, a pipe, not gzip, no such column).

Why it works the way it does:

* **Byte offsets.** Each record carries the byte offset where it starts, so a resumed job
  seeks straight to its checkpoint's watermark instead of re-reading 10 million lines
  (spec 4.3). That is why the file is read in binary mode and split on ``\\n`` by hand: a text
  stream cannot say where a line starts. For ``.gz`` the offsets are in the decompressed
  stream; seeking there decompresses and discards, which spec 4.3 accepts.
* **Constant memory.** The file is read in fixed-size blocks; a physical line longer than
  :data:`MAX_LINE_BYTES` is skipped through in blocks and reported as one invalid line, so a
  1 GB line without a newline never sits in memory. A CSV record is bounded as a whole
  (:data:`_CSV_RECORD_BYTES`, its fields by the csv module's limit); one that is longer is
  followed to its true end without being kept, so a record never starts inside quotes.
* **Resume equals the tail.** Reading from a record's ``(offset, line)`` yields exactly what a
  full read yields after that record, because every decision depends only on the bytes from
  a record's start onwards, never on where a read block happened to end.
* **Personal data.** Reasons and error messages hold line numbers, column and field names and
  short reasons, never an ID or a line's content.
* **Blocks, not records.** :func:`read_runs` yields the same content as :func:`read_records`
  but as :class:`Run` s, lists of IDs on consecutive lines, so the per-ID Python work
  disappears for plain-lines files (LF or CRLF, plain or ``.gz``): each block is decoded,
  split, checked and offset-counted at once, by C loops, fastest for printable ASCII. Only bad
  lines, and blocks with a line that is not UTF-8, go through :func:`read_records`'s per-line
  code.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import stat
import zlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, compress, count, repeat
from operator import add, not_
from pathlib import Path
from typing import BinaryIO, Final, Literal, Protocol

from bulkdelete.csvscan import FIELD_START, QUOTED, Cursor, follow, state_after
from bulkdelete.errors import InputError, UsageError
from bulkdelete.watch import Watch

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_LINE_BYTES",
    "REASON_CONTROL",
    "REASON_EMPTY",
    "REASON_FIELD_TOO_LONG",
    "REASON_LINE_TOO_LONG",
    "REASON_MALFORMED_CSV",
    "REASON_NOT_OBJECT",
    "REASON_RECORD_TOO_LONG",
    "REASON_TOO_LONG",
    "REASON_UNBALANCED_QUOTE",
    "REASON_UTF8",
    "InputFormat",
    "InvalidLine",
    "Record",
    "Run",
    "check_input_path",
    "detect_format",
    "read_records",
    "read_runs",
    "tally_runs",
]

InputFormat = Literal["lines", "csv", "jsonl"]

#: Longest ID accepted, in characters (after trimming surrounding whitespace).
MAX_ID_LENGTH: Final = 512

#: Longest physical line held in memory, in bytes (without its newline). Longer lines are
#: skipped through in blocks and reported as one invalid line. Generous, because CSV and JSON
#: lines may carry other columns or fields besides the ID.
MAX_LINE_BYTES: Final = 1 << 20

#: Most bytes of one CSV record held for the csv module (its lines, newlines included). A
#: longer record is one invalid record, followed to its true end without being kept.
_CSV_RECORD_BYTES: Final = MAX_LINE_BYTES

# Read size. Big enough that per-block Python overhead vanishes, small enough that the block
# plus the longest line kept stays a few MiB.
_BLOCK_SIZE: Final = 256 << 10

_BOM: Final = b"\xef\xbb\xbf"

# Reasons, kept short: they are counted, printed and stored in the report.
REASON_UTF8: Final = "not valid UTF-8"
REASON_TOO_LONG: Final = f"longer than {MAX_ID_LENGTH} characters"
REASON_LINE_TOO_LONG: Final = f"line longer than {MAX_LINE_BYTES >> 20} MiB"
REASON_CONTROL: Final = "control character"
REASON_EMPTY: Final = "empty value"
REASON_NOT_OBJECT: Final = "not a JSON object"
REASON_UNBALANCED_QUOTE: Final = "unbalanced quote"
REASON_FIELD_TOO_LONG: Final = "CSV field too long (unbalanced quote?)"
REASON_RECORD_TOO_LONG: Final = (
    f"CSV record longer than {MAX_LINE_BYTES >> 20} MiB (unbalanced quote?)"
)
REASON_MALFORMED_CSV: Final = "malformed CSV"

# A C0 control character or DEL anywhere in a (trimmed) value.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Names that are stdin whatever the file system says about them.
_STDIN_NAMES: Final = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})

_PIPE_MESSAGE: Final = (
    "reading from stdin/a pipe is not supported: a pipe cannot be resumed; "
    "save the IDs to a file first"
)


@dataclass(frozen=True, slots=True)
class Record:
    """One valid ID and where it starts in the input."""

    value: str
    """The ID, with surrounding whitespace trimmed."""
    line: int
    """1-based physical line number where the record starts."""
    offset: int
    """Byte offset where the record starts (in the decompressed stream for ``.gz``)."""


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive valid IDs on consecutive physical lines, as :func:`read_runs` yields them.

    ``values[j]`` is the ID :func:`read_records` would yield as
    ``Record(values[j], line + j, offsets[j])``. A run is never empty, and holds at most a
    read block's worth of IDs (or :data:`_RUN_MAX_IDS`), so memory stays bounded. The lists
    belong to the run: consumers may slice them, but must not change them.
    """

    values: list[str]
    """The IDs, trimmed, in file order."""
    offsets: Sequence[int]
    """``offsets[j]``: byte offset where ``values[j]``'s record starts (decompressed for gz).

    A list, or a ``range`` when the lines are all as long (index it, don't compare it)."""
    line: int
    """1-based physical line of ``values[0]``; ``values[j]`` is on line ``line + j``."""
    distinct: bool = field(default=False, compare=False)
    """True when ``values`` are known to hold no duplicate (False: not known). Checked for a
    whole clean block right after it is split, while its strings are fresh in the CPU's
    cache: ~50 ns an ID there against ~80 ns per batch later, where the pipeline would
    otherwise check each batch for the in-batch duplicates it sends once."""


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A line (or CSV record) that holds no usable ID. Carries no content: IDs are personal."""

    line: int
    reason: str


def detect_format(path: Path, requested: str) -> InputFormat:
    """Resolve ``--format``: ``auto`` picks by extension (after a trailing ``.gz``).

    ``.csv`` is CSV, ``.jsonl`` and ``.ndjson`` are JSON Lines, anything else is one ID per
    line: the safest guess, as a CSV or JSON file read as lines yields invalid lines, not
    wrong IDs.
    """
    if requested == "auto":
        name = path.name.lower()
        name = name.removesuffix(".gz")
        if name.endswith(".csv"):
            return "csv"
        if name.endswith((".jsonl", ".ndjson")):
            return "jsonl"
        return "lines"
    if requested == "lines":
        return "lines"
    if requested == "csv":
        return "csv"
    if requested == "jsonl":
        return "jsonl"
    raise UsageError(f"unknown input format {requested!r}; use one of auto, lines, csv, jsonl")


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


def check_input_path(path: Path) -> None:
    """Refuse, with the reason and the fix, an input the reader could not use or resume.

    Checks the kind of file, that it can be opened and, for ``.gz``, its two magic bytes;
    reads nothing else. A pipe (or stdin) is refused because a resumed run must seek to its
    checkpoint's offset.
    """
    text = str(path)
    if text in _STDIN_NAMES:
        raise InputError(_PIPE_MESSAGE)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise open_error(text, exc) from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"input {text} is a directory; pass the file of IDs")
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        raise InputError(_PIPE_MESSAGE)
    if not stat.S_ISREG(mode):
        raise InputError(f"input {text} is not a regular file; save the IDs to a file first")
    # Opening proves readability (os.access is wrong under root or ACLs).
    # O_NONBLOCK guards against the path being swapped for a FIFO since the stat.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise open_error(text, exc) from None
    try:
        # A .gz that is not gzip would otherwise only fail once the job has started; its
        # two magic bytes are all it takes to tell (an empty file is an empty input).
        magic = os.read(fd, 2) if path.name.lower().endswith(".gz") else b""
    except OSError as exc:
        raise InputError(f"cannot read input file {text}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if magic and magic != b"\x1f\x8b":
        raise InputError(_not_gzip(path))


def read_records(
    path: Path,
    fmt: InputFormat,
    *,
    column: str | None,
    id_type: str,
    start_offset: int = 0,
    start_line: int = 1,
    watch: Watch | None = None,
) -> Iterator[Record | InvalidLine]:
    """Yield every record and invalid line of *path*, in file order.

    *column* names the CSV column or JSON field holding the IDs (ignored for ``lines``);
    without it, CSV uses its only column or the one named like *id_type*, JSON uses the field
    *id_type*. To resume, pass a previously yielded record's ``offset`` and ``line`` as
    *start_offset* and *start_line*: the file is opened there (CSV re-reads its header first)
    and yields exactly what the full read yielded from that record on.

    Lazy: the file is opened on the first ``next()``. Raises :class:`InputError` when the file
    cannot be read, is not valid gzip (possibly after some records), or has no such column or
    field.
    """
    stream = _open(path)
    try:
        if fmt == "lines":
            chunks = _start(stream, path, start_offset, watch)
            yield from _lines(chunks, _first_offset(start_offset, chunks), start_line)
        else:
            yield from _structured(stream, path, fmt, column, id_type, start_offset,
                                   start_line, watch)
    finally:
        # Also runs when the consumer stops early and the generator is closed.
        stream.close()


def _structured(
    stream: _Stream, path: Path, fmt: InputFormat, column: str | None, id_type: str,
    start_offset: int, start_line: int, watch: Watch | None,
) -> Iterator[Record | InvalidLine]:
    """CSV or JSON Lines, record by record (both readers share this)."""
    if fmt == "csv":
        yield from _csv(stream, path, column, id_type, start_offset, start_line, watch)
        return
    chunks = _start(stream, path, start_offset, watch)
    field = column if column is not None else id_type
    yield from _jsonl(
        chunks, _first_offset(start_offset, chunks), start_line, field,
        check_first=start_offset == 0,
    )


def read_runs(
    path: Path,
    fmt: InputFormat,
    *,
    column: str | None,
    id_type: str,
    start_offset: int = 0,
    start_line: int = 1,
    watch: Watch | None = None,
) -> Iterator[Run | InvalidLine]:
    """Yield what :func:`read_records` yields for the same arguments, grouped into runs.

    Expanding each :class:`Run` into its records gives exactly :func:`read_records`'s stream:
    same IDs, line numbers, offsets, invalid lines and reasons, in the same order, and the
    same errors. Resuming works the same way: pass any record's offset and line (e.g.
    ``run.offsets[j]`` and ``run.line + j``). Consecutive records may be split across runs
    anywhere (at read-block edges, blank lines, ...): consumers must not rely on where.

    Plain-lines input (gzip-compressed or not) is read a block at a time, with per-line Python
    work only for bad lines; CSV and JSON Lines are read record by record and grouped, which
    is no faster than :func:`read_records` but lets callers use one API.
    """
    stream = _open(path)
    try:
        if fmt == "lines":
            chunks = _start(stream, path, start_offset, watch)
            yield from _line_runs(chunks, _first_offset(start_offset, chunks), start_line)
        else:
            yield from _group(
                _structured(stream, path, fmt, column, id_type, start_offset, start_line,
                            watch)
            )
    finally:
        stream.close()


def tally_runs(
    path: Path, fmt: InputFormat, *, column: str | None, id_type: str,
    watch: Watch | None = None,
) -> Iterator[int | InvalidLine]:
    """What :func:`read_runs` yields for the whole file, each run replaced by its length:
    for the pre-count, which needs how many IDs there are, not which.

    A plain-lines block whose lines are all as long as the first (GUIDs and other
    fixed-width IDs, the common case) is counted from its bytes, without building a string
    per line; that is most of the pre-count's cost. Every other block, and CSV and JSON
    Lines, go through :func:`read_runs` itself, so the counts cannot drift from what the
    send pass reads.
    """
    if fmt != "lines":
        for item in read_runs(path, fmt, column=column, id_type=id_type, watch=watch):
            yield len(item.values) if isinstance(item, Run) else item
        return
    stream = _open(path)
    try:
        chunks = _start(stream, path, 0, watch)
        offset, line = _first_offset(0, chunks), 1
        for chunk in chunks:
            if isinstance(chunk, int):
                yield InvalidLine(line, REASON_TOO_LONG)  # as _line_runs does
                offset += chunk
                line += 1
                continue
            size = _fixed_width_lines(chunk)
            if size:
                yield size
            else:
                runs = _block_runs(chunk, offset, line)
                while True:
                    try:
                        item = next(runs)
                    except StopIteration as end:
                        size = end.value
                        break
                    yield len(item.values) if isinstance(item, Run) else item
            line += size
            offset += len(chunk)
    finally:
        stream.close()


def _fixed_width_lines(chunk: bytes) -> int:
    """How many lines *chunk* holds if they are clean fixed-width LF lines (ASCII; no byte
    but printable non-space characters and newlines; every line as long as the first, which
    is 1 to :data:`MAX_ID_LENGTH` long, but maybe a last one without a newline); else 0.
    Decided on the bytes, so the pre-count needs no string per line; :func:`_block_runs`
    makes each such block one run."""
    if not chunk.isascii() or chunk.translate(None, _PLAIN).strip(b"\n"):
        return 0
    newlines = chunk.count(b"\n")
    first = chunk.find(b"\n") if newlines else len(chunk)
    if not 0 < first <= MAX_ID_LENGTH:
        return 0
    ends_in_newline = chunk.endswith(b"\n")
    body = len(chunk) - ends_in_newline  # the last line ends here
    last = body - (chunk.rfind(b"\n", 0, body) + 1)
    stride = first + 1
    if last > MAX_ID_LENGTH or chunk[stride - 1 :: stride].count(b"\n", 0, newlines) != newlines:
        return 0
    return newlines + (not ends_in_newline)


# --------------------------------------------------------------------------- reading blocks


class _Stream(Protocol):
    """What the reader needs of a file: a plain binary file or a GzipFile."""

    def read(self, size: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def close(self) -> None: ...
    def fileno(self) -> int: ...


class _Chunks:
    """Blocks of whole physical lines, read from a binary stream in bounded memory.

    Iterating yields either ``bytes`` (one or more complete lines, each ending in ``\\n``,
    except a last line without a newline at end of file), or an ``int``: the byte length,
    newline included, of one line longer than :data:`MAX_LINE_BYTES`, which was skipped
    without being kept. No yielded line is longer than the limit, wherever the read blocks
    fell, so a resumed read treats every line exactly as the full read did.
    """

    __slots__ = ("_fd", "_path", "_pending", "_stream", "_watch", "bom")

    def __init__(
        self, stream: _Stream, path: Path, *, at_file_start: bool, watch: Watch | None = None
    ) -> None:
        self._stream = stream
        self._path = path
        self._pending = b""
        self._watch = watch
        # For .gz, the compressed file's descriptor: that is the file that can change.
        self._fd = stream.fileno() if watch is not None else -1
        self.bom = False
        if at_file_start:
            # Only a BOM at the very start of the file is one; the bytes after it start line 1.
            head = self._read(len(_BOM))
            if head == _BOM:
                self.bom = True
            else:
                self._pending = head

    def _read(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
        except (gzip.BadGzipFile, EOFError, zlib.error):
            self._check()  # a .gz cut short by a rewrite: say what really happened
            raise InputError(_not_gzip(self._path)) from None
        except OSError as exc:
            raise InputError(f"cannot read input file {self._path}: {exc.strerror}") from None
        # After the read and before any of its IDs can be batched: a block read from a
        # changed file is never used (an empty read included: a truncated file ends early).
        self._check()
        return data

    def _check(self) -> None:
        if self._watch is not None:
            self._watch.check(self._fd)

    def __iter__(self) -> Iterator[bytes | int]:
        pending = self._pending
        skipping = 0  # > 0: length so far of an over-long line being skipped
        limit = MAX_LINE_BYTES
        while True:
            data = self._read(_BLOCK_SIZE)
            if not data:
                if skipping:
                    yield skipping
                elif pending:
                    yield pending
                return
            if skipping:
                newline = data.find(b"\n")
                if newline < 0:
                    skipping += len(data)
                    continue
                yield skipping + newline + 1
                skipping = 0
                data = data[newline + 1 :]
            buf = pending + data if pending else data
            last = buf.rfind(b"\n")
            if last < 0:
                if len(buf) > limit:
                    skipping, pending = len(buf), b""
                else:
                    pending = buf
                continue
            pending = buf[last + 1 :]
            if len(pending) > limit:
                skipping, pending = len(pending), b""
            if last > limit:
                # Only now can one of the complete lines exceed the limit (rare: it takes a
                # line near the limit); look for it line by line.
                yield from _split_over_long(buf, last + 1)
            elif last + 1 < len(buf):
                yield buf[: last + 1]
            else:
                yield buf  # ends with its newline: no copy needed


    def pieces(self) -> Iterator[bytes]:
        """The bytes from here as whole physical lines (each ending in ``\\n``, but maybe the
        file's last), except that a line longer than a read block comes in pieces of at least
        a block: a piece without a newline is followed by more of its line, or ends the file.
        Nothing is skipped: CSV must see every quote to know where a record ends
        (:func:`_feed` bounds what it keeps)."""
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


def _split_over_long(buf: bytes, end: int) -> Iterator[bytes | int]:
    """Yield ``buf[:end]`` (whole lines) with every over-long line replaced by its length."""
    start = kept = 0
    while start < end:
        newline = buf.find(b"\n", start, end)
        if newline - start > MAX_LINE_BYTES:
            if kept < start:
                yield buf[kept:start]
            yield newline + 1 - start
            kept = newline + 1
        start = newline + 1
    if kept < end:
        yield buf[kept:end]


def _open(path: Path) -> _Stream:
    """Open *path* for binary reading, through gzip when it ends in ``.gz``."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - handed to the caller, who closes it
    except OSError as exc:
        raise open_error(path, exc) from None
    if path.name.lower().endswith(".gz"):
        return _GzipOwning(raw)
    return raw


class _GzipOwning(gzip.GzipFile):
    """A GzipFile that also closes the file it reads from.

    A plain GzipFile leaves a ``fileobj`` it was given open; opening by name instead would
    open the file a second time, after the error handling above.
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def _start(stream: _Stream, path: Path, start_offset: int, watch: Watch | None) -> _Chunks:
    """Position *stream* at *start_offset* and return its line blocks."""
    if start_offset:
        _seek(stream, path, start_offset)
    return _Chunks(stream, path, at_file_start=start_offset == 0, watch=watch)


def _first_offset(start_offset: int, chunks: _Chunks) -> int:
    """Offset of the first byte the chunks will yield (after a BOM at the file start)."""
    return len(_BOM) if chunks.bom else start_offset


def _seek(stream: _Stream, path: Path, offset: int) -> None:
    try:
        stream.seek(offset)
    except (gzip.BadGzipFile, EOFError, zlib.error):
        raise InputError(_not_gzip(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror}") from None


# --------------------------------------------------------------------------- lines


# Record(...) costs about 0.5 µs: a frozen dataclass's __init__ sets each field through
# object.__setattr__. Setting the slots through their descriptors builds the very same object
# in half the time, which is a fifth of the plain-lines reader's time; the lines and JSON
# loops use it. (A test checks these records equal Record(...) ones, so a field added to
# Record cannot be silently left unset here.)
_SET_VALUE: Final = Record.__dict__["value"].__set__
_SET_LINE: Final = Record.__dict__["line"].__set__
_SET_OFFSET: Final = Record.__dict__["offset"].__set__


def _lines(chunks: Iterable[bytes | int], offset: int, line: int) -> Iterator[Record | InvalidLine]:
    """One ID per line. The hot loop of the whole tool: keep it lean."""
    too_long = MAX_ID_LENGTH
    new, set_value, set_line, set_offset = object.__new__, _SET_VALUE, _SET_LINE, _SET_OFFSET
    control = _CONTROL.search
    for chunk in chunks:
        if isinstance(chunk, int):
            yield InvalidLine(line, REASON_TOO_LONG)
            offset += chunk
            line += 1
            continue
        if chunk.isascii():
            # Fast path: ASCII text decodes in one go and a character is a byte, so line
            # lengths give offsets directly. For ASCII, "not printable" is exactly "has a
            # control character" (C0 or DEL), and a method call beats a regex per line or a
            # scan of the block.
            parts = chunk.decode("ascii").split("\n")
            if chunk.endswith(b"\n"):
                parts.pop()
            for number, text in enumerate(parts, line):
                value = text.strip()
                if value:
                    if len(value) > too_long:
                        yield InvalidLine(number, REASON_TOO_LONG)
                    elif not value.isprintable():
                        yield InvalidLine(number, REASON_CONTROL)
                    else:
                        record = new(Record)
                        set_value(record, value)
                        set_line(record, number)
                        set_offset(record, offset)
                        yield record
                offset += len(text) + 1
            line += len(parts)
        else:
            raw_parts = chunk.split(b"\n")
            if chunk.endswith(b"\n"):
                raw_parts.pop()
            for raw in raw_parts:
                try:
                    value = raw.decode("utf-8").strip()
                except UnicodeDecodeError:
                    yield InvalidLine(line, REASON_UTF8)
                else:
                    if value:
                        if len(value) > too_long:
                            yield InvalidLine(line, REASON_TOO_LONG)
                        elif control(value):
                            yield InvalidLine(line, REASON_CONTROL)
                        else:
                            yield Record(value, line, offset)
                offset += len(raw) + 1
                line += 1


# --------------------------------------------------------------------------- runs

#: Most IDs :func:`_group` puts in one run: bounds memory for CSV and JSON Lines, whose runs
#: are not cut by read blocks. (Line runs are bounded by the read block instead.)
_RUN_MAX_IDS: Final = 8192

# Printable ASCII other than space. bytes.translate deleting these from a block leaves, in
# order, its newlines and every byte that strip() might remove or that is not printable.
_PLAIN: Final = bytes(range(0x21, 0x7F))
# Every byte but the C0 controls and DEL, and the newline: deleting these leaves the block's
# control characters (UTF-8 encodes other characters with bytes 0x80 and up).
_NOT_CONTROL: Final = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100)) + b"\n"

#: A block with more than one bad line in this many is read line by line as a whole.
_DENSE: Final = 8


def _line_runs(chunks: _Chunks, offset: int, line: int) -> Iterator[Run | InvalidLine]:
    """What :func:`_lines` yields for the same blocks, as runs, a block at a time.

    :class:`_Chunks` hands both functions the same blocks of whole lines (it has already
    skipped a BOM at the file start, and replaced each over-long line by its length), and
    :func:`_lines` carries nothing from one block to the next but the offset and the line
    number. So each block can be read on its own, by any code that decides every line as
    :func:`_lines` does; and read_records and read_runs resume alike, from any record.
    """
    for chunk in chunks:
        if isinstance(chunk, int):
            yield InvalidLine(line, REASON_TOO_LONG)  # as _lines does
            offset += chunk  # one over-long line, skipped
            line += 1
            continue
        line += yield from _block_runs(chunk, offset, line)
        offset += len(chunk)


def _block_runs(chunk: bytes, offset: int, line: int) -> Generator[Run | InvalidLine, None, int]:
    """:func:`_lines` on one block of whole lines, with no per-line Python for good lines;
    returns the number of lines in the block.

    Why it is exact. :func:`_lines` splits the block into lines on ``\\n`` (dropping the empty
    string after a final newline); a line's offset grows by its length in bytes and its
    newline. Each line it decodes (invalid if it is not UTF-8) and strips; skips the line if
    that leaves nothing; else yields an invalid line if the value is longer than
    :data:`MAX_ID_LENGTH` or holds a control character (C0 or DEL; for ASCII that is
    ``not value.isprintable()``); else ``Record(value, number, offset)``.

    Here the block is decoded at once. That succeeds exactly when every line is UTF-8 (a
    newline byte is never part of a multi-byte character, so splitting the text on ``"\\n"``
    gives each line's own decoding); when it fails, :func:`_lines` reads the block. Then the
    same values, offsets and checks are computed for the whole block by C loops, and a line is
    *good* when its value is non-empty, not too long and has no control character: exactly
    the lines that become records. Each stretch of good lines is one run; every other line is
    handed, alone, to :func:`_lines`, which decides it as it always does.

    The commonest block, clean fixed-width LF lines, is recognised first by
    :func:`_fixed_width_lines`, the same test the pre-count's :func:`tally_runs` counts by.
    """
    size = _fixed_width_lines(chunk)
    if size:
        clean = chunk.decode("ascii").split("\n")
        if chunk.endswith(b"\n"):
            clean.pop()
        stride = len(clean[0]) + 1
        yield Run(clean, range(offset, offset + size * stride, stride), line,
                  len(set(clean)) == size)
        return size
    ascii_block = chunk.isascii()
    try:
        text = chunk.decode("ascii" if ascii_block else "utf-8")
    except UnicodeDecodeError:
        # Some line is not UTF-8: the per-line reader itself, its records grouped.
        yield from _group(_lines((chunk,), offset, line))
        # As _lines counts: one line per newline, plus a last one without a newline.
        return chunk.count(b"\n") + (not chunk.endswith(b"\n"))
    # The block's bytes that are not printable non-space ASCII: newlines, CRs, other
    # whitespace, control characters, non-ASCII.
    odd = chunk.translate(None, _PLAIN)
    plain = True  # each value is known free of control characters: every byte of it is
    values: list[str] | None = None
    if not odd.strip(b"\n"):
        # Only newlines (so ASCII): nothing for strip() to remove (it only removes whitespace;
        # in ASCII \t\n\v\f\r, \x1c-\x1f and space), so each value is its line, exactly.
        values = text.split("\n")
        width = 1  # bytes of line ending after each value
    elif odd.startswith(b"\r\n") and odd == b"\r\n" * (len(odd) // 2):
        # Maybe ASCII with CRLF throughout. It is if the CR-LF pairs the split finds are all
        # the CRs and LFs there are: then every CR is followed by a newline and every newline
        # preceded by a CR (so a last line without a newline has none), strip() removes just
        # that CR, and each value is its line less the CR.
        values = text.split("\r\n")
        width = 2
        if len(values) - 1 != len(odd) // 2:
            values = None  # a CR and a LF apart: not CRLF, after all
    if values is None:
        # Anything else: strip every line, as _lines does.
        plain = False
        values = text.split("\n")
        width = 1  # offsets come from the lines before stripping
    if chunk.endswith(b"\n"):
        values.pop()  # the empty string after the last newline is no line
    # (split returns at least one string, and pop() only runs when it returned two or more,
    # so `values` is never empty.)
    limit = MAX_ID_LENGTH
    size = len(values)
    # Character counts are byte counts only in ASCII.
    offsets: Sequence[int] | None = (
        _fixed_offsets(chunk, values, width, offset) if ascii_block else None
    )
    if (
        plain
        and offsets is not None
        # Every line is as long as the first, but maybe a last one without a newline.
        and 0 < len(values[0]) <= limit
        and len(values[-1]) <= limit
    ):
        yield Run(values, offsets, line, len(set(values)) == size)
        return size
    lengths = list(map(len, values))
    if offsets is None:
        # offsets[j]: offset plus the lengths and line endings of the lines before j.
        sizes = lengths if ascii_block else list(map(len, chunk.split(b"\n")))
        offsets = list(accumulate(map(add, sizes, repeat(width)), initial=offset))
        del offsets[size:]  # from the offset after the last line: the next block's
    if not plain:
        values = list(map(str.strip, values))
        lengths = list(map(len, values))
    # Indexes of the bad lines, found with C loops (a Python step per bad line at most).
    bad: list[int] = []
    if min(lengths) == 0:
        index = lengths.index(0)
        while True:
            bad.append(index)
            if len(bad) * _DENSE > size:
                break  # bad lines everywhere: no use finding them all
            try:
                index = lengths.index(0, index + 1)
            except ValueError:
                break
    if max(lengths) > limit:
        bad.extend(compress(count(), map(limit.__lt__, lengths)))
    if plain:
        pass
    elif ascii_block:
        if not "".join(values).isprintable():
            bad.extend(compress(count(), map(not_, map(str.isprintable, values))))
    elif chunk.translate(None, _NOT_CONTROL) and _CONTROL.search("".join(values)):
        # (The regex is slow; most blocks have no control byte but newlines to look for.)
        bad.extend(compress(count(), map(_CONTROL.search, values)))
    if not bad:
        yield Run(values, offsets, line)
        return size
    if len(bad) * _DENSE > size:
        # Bad lines everywhere: handing them over one at a time would cost more than this.
        yield from _group(_lines((chunk,), offset, line))
        return size
    start = 0  # first line of the current stretch of good lines
    for index in sorted(set(bad)):
        if start < index:
            yield Run(values[start:index], offsets[start:index], line + start)
        here = offsets[index] - offset
        end = offsets[index + 1] - offset if index + 1 < size else len(chunk)
        for item in _lines((chunk[here:end],), offset + here, line + index):
            assert type(item) is InvalidLine  # a bad line is never a record
            yield item
        start = index + 1
    if start < size:
        yield Run(values[start:], offsets[start:], line + start)
    return size


def _fixed_offsets(chunk: bytes, lines: list[str], width: int, offset: int) -> range | None:
    """The offsets of *lines* (*chunk*'s, less their line endings of *width* bytes, from
    *offset*) if they all have the first one's length, but maybe a last one without a newline.

    True when every newline of the block sits where lines all as long as the first would put
    it; a strided copy of one byte per line checks that, and the offsets are then a range,
    built in O(1). The common case: fixed-width IDs, GUIDs.
    """
    stride = len(lines[0]) + width
    newlines = len(lines) - (not chunk.endswith(b"\n"))  # all of the block's newlines
    if chunk[stride - 1 :: stride].count(b"\n", 0, newlines) == newlines:
        return range(offset, offset + len(lines) * stride, stride)
    return None


def _group(items: Iterable[Record | InvalidLine]) -> Iterator[Run | InvalidLine]:
    """Records grouped into runs of consecutive lines; invalid lines passed through in order.

    A run ends at an invalid line, at a gap in line numbers (a blank line, a CSV record
    spanning lines) and after :data:`_RUN_MAX_IDS` IDs.
    """
    values: list[str] = []
    offsets: list[int] = []
    first = 0  # line of values[0]
    for item in items:
        if isinstance(item, Record):
            if values and item.line == first + len(values) and len(values) < _RUN_MAX_IDS:
                values.append(item.value)
                offsets.append(item.offset)
                continue
            if values:
                yield Run(values, offsets, first)
            values, offsets, first = [item.value], [item.offset], item.line
        else:
            if values:
                yield Run(values, offsets, first)
                values, offsets = [], []
            yield item
    if values:
        yield Run(values, offsets, first)


def _check_value(value: str) -> str | None:
    """Why a trimmed CSV or JSON value is not a usable ID, or None when it is."""
    if not value:
        return REASON_EMPTY
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates: undecodable bytes (CSV) or a bad \\u escape (JSON).
            return REASON_UTF8
    if len(value) > MAX_ID_LENGTH:
        return REASON_TOO_LONG
    if _CONTROL.search(value):
        return REASON_CONTROL
    return None


# --------------------------------------------------------------------------- CSV


def _feed(pieces: Iterator[bytes], cursor: Cursor) -> Iterator[str]:
    """Decoded physical lines (newline kept, as csv needs) for :func:`csv.reader`.

    A record that would grow past :data:`_CSV_RECORD_BYTES` is not handed over: it is
    followed to its true end by :func:`~bulkdelete.csvscan.follow`, without being kept, and
    csv gets a stand-in that ends its row there (so the row is reported invalid and the next
    record starts where csv itself would start it, never inside a quoted field).
    """
    limit = _CSV_RECORD_BYTES
    held = b""  # the start of a line longer than a read block, while the record may fit
    for piece in pieces:
        if held:
            piece, held = held + piece, b""
        starts = not cursor.record_bytes
        if cursor.record_bytes + len(piece) > limit:
            cursor.over_long = REASON_LINE_TOO_LONG if starts else REASON_RECORD_TOO_LONG
            ended = follow(piece, pieces, cursor, FIELD_START if starts else QUOTED)
            if starts:
                yield "\n"  # an empty row in place of the whole record
            elif ended:
                yield '"\n'  # closes the quote csv is in, and the row
            # (Else the file ended inside the quotes: csv reports the unbalanced quote.)
            continue
        if not piece.endswith(b"\n"):
            held = piece  # a fragment of a long line, or the file's last line
            continue
        yield _hand(piece, starts, cursor)
    if held:
        yield _hand(held, not cursor.record_bytes, cursor)


def _hand(line: bytes, starts: bool, cursor: Cursor) -> str:
    """*line*, decoded for csv, with the cursor moved past it."""
    size = len(line)
    cursor.offset += size
    cursor.line += 1
    cursor.record_bytes += size
    cursor.last, cursor.last_starts = line, starts
    if line.isascii():
        return line.decode("ascii")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        # Keep going: only the ID cell matters, and it is checked for the surrogates this
        # leaves once the row is parsed.
        cursor.bad_utf8 = True
        return line.decode("utf-8", "surrogateescape")


def _csv_rows(
    chunks: _Chunks, offset: int, line: int
) -> Iterator[tuple[int, int, list[str] | str]]:
    """``(line, offset, row)`` per CSV record; *row* is a reason string when unusable.

    Blank lines are skipped here.
    """
    cursor = Cursor(offset, line)
    pieces = chunks.pieces()
    # strict: a quote where none may be ("ab"c) is an error rather than a guess, and an
    # unterminated quote at end of file is reported instead of silently closed.
    reader = csv.reader(_feed(pieces, cursor), strict=True)
    while True:
        line, offset = cursor.line, cursor.offset
        cursor.bad_utf8 = False
        cursor.over_long = None
        cursor.record_bytes = 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "unexpected end of data" in message:
                yield line, offset, REASON_UNBALANCED_QUOTE
            elif "field larger than field limit" in message:
                # csv gave up inside the field and would restart on the next line, which
                # may still be inside the field's quotes, where no record may start: find
                # the record's true end first, from the start of the line csv stopped in.
                start = FIELD_START if cursor.last_starts else QUOTED
                if state_after(cursor.last, start) == QUOTED and cursor.last.endswith(b"\n"):
                    follow(None, pieces, cursor, QUOTED)
                yield line, offset, REASON_FIELD_TOO_LONG
            else:
                yield line, offset, REASON_MALFORMED_CSV
            continue
        if cursor.over_long is not None:
            yield line, offset, cursor.over_long
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield line, offset, row


def _csv(
    stream: _Stream,
    path: Path,
    column: str | None,
    id_type: str,
    start_offset: int,
    start_line: int,
    watch: Watch | None,
) -> Iterator[Record | InvalidLine]:
    chunks = _Chunks(stream, path, at_file_start=True, watch=watch)
    rows = _csv_rows(chunks, _first_offset(0, chunks), 1)
    header = next(rows, None)
    if header is None:
        return  # empty file: nothing to delete, and nothing wrong
    header_line, _, names = header
    if isinstance(names, str):
        raise InputError(
            f"the CSV header (line {header_line}) is unusable: {names}; fix the header line"
        )
    index = _choose_column([name.strip() for name in names], column, id_type)
    name = names[index].strip()
    if start_offset:
        # Resume: the header was needed for the column; now jump to the watermark.
        _seek(stream, path, start_offset)
        rows = _csv_rows(_Chunks(stream, path, at_file_start=False, watch=watch), start_offset,
                         start_line)
    for line, offset, row in rows:
        if isinstance(row, str):
            yield InvalidLine(line, row)
        elif index >= len(row):
            yield InvalidLine(line, f"no column '{_show(name)}'")
        else:
            value = row[index].strip()
            reason = _check_value(value)
            if reason is None:
                yield Record(value, line, offset)
            else:
                yield InvalidLine(line, reason)


def _choose_column(names: list[str], column: str | None, id_type: str) -> int:
    """Index of the ID column: the one asked for, the only one, or the one named *id_type*."""
    if column is not None:
        if column in names:
            return names.index(column)
        raise InputError(
            f"column '{_show(column)}' not found; the header has: {_list(names)} "
            "(pass one of them with --column)"
        )
    if len(names) == 1:
        return 0
    wanted = id_type.casefold()
    for index, name in enumerate(names):
        if name.casefold() == wanted:
            return index
    raise InputError(
        f"the CSV header has several columns and none is named '{_show(id_type)}': "
        f"{_list(names)}; pass --column NAME to choose the one with the IDs"
    )


# --------------------------------------------------------------------------- JSON Lines


def _jsonl(
    chunks: _Chunks, offset: int, line: int, field: str, *, check_first: bool
) -> Iterator[Record | InvalidLine]:
    """One JSON object per line, the ID under *field*.

    With *check_first*, an object without the field that is the file's first object is taken
    to mean the wrong field name (every line would fail), so it stops the run instead of
    reporting every line. A resume skips that check: the run that made the checkpoint passed it.
    """
    # The decoder's own decode() skips json.loads's argument checks: a quarter of its time.
    loads = json.JSONDecoder().decode
    new, set_value, set_line, set_offset = object.__new__, _SET_VALUE, _SET_LINE, _SET_OFFSET
    missing = f"no field '{_show(field)}'"
    not_string = f"field '{_show(field)}' is not a string"
    for chunk in chunks:
        if isinstance(chunk, int):
            yield InvalidLine(line, REASON_LINE_TOO_LONG)
            offset += chunk
            line += 1
            continue
        size = len(chunk)
        start = 0
        while start < size:
            newline = chunk.find(b"\n", start)
            end = size if newline < 0 else newline + 1
            raw = chunk[start:end]
            here = offset
            offset += end - start
            start = end
            number = line
            line += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield InvalidLine(number, REASON_UTF8)
                continue
            try:
                obj = loads(text)
            except (ValueError, RecursionError):
                # Blank lines land here too: testing for them only now spares every good
                # line a strip().
                if text.strip():
                    yield InvalidLine(number, REASON_NOT_OBJECT)
                continue
            if type(obj) is not dict:
                yield InvalidLine(number, REASON_NOT_OBJECT)
                continue
            if field not in obj:
                if check_first:
                    raise InputError(
                        f"field '{_show(field)}' not found; the first object (line {number}) "
                        f"has: {_list(list(obj))} (pass the right one with --column)"
                    )
                yield InvalidLine(number, missing)
                continue
            check_first = False
            item = obj[field]
            if type(item) is str:
                value = item.strip()
            elif type(item) is int:
                value = str(item)
            else:
                yield InvalidLine(number, not_string)
                continue
            reason = _check_value(value)
            if reason is None:
                record = new(Record)
                set_value(record, value)
                set_line(record, number)
                set_offset(record, here)
                yield record
            else:
                yield InvalidLine(number, reason)


# --------------------------------------------------------------------------- messages


def _not_gzip(path: Path) -> str:
    # Never the gzip module's own message: it quotes the file's first bytes.
    return (
        f"input {path} is not valid gzip (corrupt, truncated or not compressed); "
        "check the file, or drop the .gz suffix if it is plain text"
    )


def _show(name: str, limit: int = 40) -> str:
    """A column or field name made safe for a one-line message (and for any terminal)."""
    # Lone surrogates (undecodable header bytes, bad JSON escapes) would make printing fail.
    name = _CONTROL.sub("?", name).encode("utf-8", "replace").decode("utf-8")
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _list(names: list[str], limit: int = 20) -> str:
    """The first *limit* names, comma-separated, for an error message."""
    shown = ", ".join(_show(name) for name in names[:limit]) or "(nothing)"
    if len(names) > limit:
        shown += f", … ({len(names) - limit} more)"
    return shown
