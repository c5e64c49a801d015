"""Plain input, one ID per line: the reference reader, and the block fast path beside it.

:func:`records` is the reference: each line is decoded, trimmed, skipped when blank and
otherwise decided by :func:`~bulkdelete.reader.rule.check`.

:func:`block_runs` reads the same block with no per-line Python when the rule allows it: when
every byte of the block is :data:`~bulkdelete.reader.rule.PLAIN` or part of one kind of line
ending (LF, or CRLF throughout), each line is an ID as it stands if its length is within the
limit, so the block is decoded, split and offset-counted at once by C loops and becomes one
:class:`~bulkdelete.reader.items.Run`; its blank or too-long lines, if any, are handed to
:func:`records` one by one. Any other UTF-8 block is decoded at once and each line, trimmed,
is decided by :func:`~bulkdelete.reader.rule.check`; only a block that is not UTF-8 goes
through :func:`records` whole, its records grouped. The two agree because
:class:`~bulkdelete.reader.source.Blocks` hands both the same blocks of whole lines and
:func:`records` carries nothing from one block to the next but the offset and line number.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from itertools import accumulate, compress, count, repeat
from operator import add, is_not
from typing import Final, TypeVar

from bulkdelete.reader import rule
from bulkdelete.reader.items import InvalidLine, Record, Run, group, new_record, raw_value
from bulkdelete.reader.rule import PLAIN, REASON_TOO_LONG, REASON_UTF8, check, trim
from bulkdelete.reader.source import Blocks, head_of

__all__ = ["block_runs", "count_runs", "line_runs", "records"]

T = TypeVar("T")

_LF: Final = b"\n"
_CRLF: Final = b"\r\n"


def records(
    blocks: Iterable[bytes | int], offset: int, line: int
) -> Iterator[Record | InvalidLine]:
    """One ID per line, line by line: the reference every faster path must match."""
    for block in blocks:
        if isinstance(block, int):
            # A line too long to keep: it cannot hold a valid ID.
            yield InvalidLine(line, REASON_TOO_LONG, raw_value(head_of(block)))
            offset += block
            line += 1
            continue
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()  # the empty string after the last newline is no line
        for raw in lines:
            try:
                value = trim(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield InvalidLine(line, REASON_UTF8, raw_value(raw))
            else:
                if value:  # a blank line is skipped, not reported
                    reason = check(value)
                    if reason is None:
                        yield new_record(value, line, offset)
                    else:
                        yield InvalidLine(line, reason, raw_value(raw))
            offset += len(raw) + 1
            line += 1


def line_runs(blocks: Blocks, line: int) -> Iterator[Run | InvalidLine]:
    """What :func:`records` yields for the same blocks, as runs, a block at a time."""
    return _by_block(blocks, line, block_runs)


def count_runs(blocks: Blocks, line: int) -> Iterator[int | InvalidLine]:
    """What :func:`line_runs` yields, each run replaced by its length: for the pre-count.

    A clean block of fixed-width lines (GUIDs and the like, the common case) is counted from
    its bytes without a string per line; every other block goes through the same runs as
    :func:`block_runs`, so the count cannot drift from what the send pass reads.
    """
    return _by_block(blocks, line, _block_counts)


def _by_block(
    blocks: Blocks, line: int, per_block: Callable[[bytes, int, int], Generator[T, None, int]],
) -> Iterator[T | InvalidLine]:
    """``per_block`` on each block of whole lines; an over-long line between them is invalid,
    as :func:`records` says."""
    offset = blocks.offset
    for block in blocks:
        if isinstance(block, int):
            yield InvalidLine(line, REASON_TOO_LONG, raw_value(head_of(block)))
            offset += block
            line += 1
            continue
        line += yield from per_block(block, offset, line)
        offset += len(block)


def _block_counts(block: bytes, offset: int, line: int) -> Generator[int | InvalidLine, None, int]:
    """:func:`block_runs` with each run replaced by its length; a fixed-width block is
    counted without splitting it."""
    ending = _plain_ending(block)
    fixed = _fixed_width(block, ending) if ending else 0
    if fixed:
        yield fixed
        return fixed
    for item in _decided_runs(block, offset, line, ending, 0):
        yield len(item.values) if isinstance(item, Run) else item
    return _line_count(block)


def block_runs(block: bytes, offset: int, line: int) -> Generator[Run | InvalidLine, None, int]:
    """:func:`records` on one block of whole lines, grouped into runs; returns the number of
    lines in the block."""
    ending = _plain_ending(block)
    fixed = _fixed_width(block, ending) if ending else 0
    return (yield from _decided_runs(block, offset, line, ending, fixed))


def _decided_runs(
    block: bytes, offset: int, line: int, ending: bytes | None, fixed: int,
) -> Generator[Run | InvalidLine, None, int]:
    """:func:`block_runs` once the block's line ending (:func:`_plain_ending`) and fixed
    width (:func:`_fixed_width`) are known, so a caller that has them does not redo them."""
    if fixed and ending:
        # The commonest block: every line a valid ID as it stands, all as long.
        values = block.decode("ascii").split(ending.decode("ascii"))
        if block.endswith(b"\n"):
            values.pop()  # the empty string after the last newline is no line
        size = len(values)
        stride = len(values[0]) + len(ending)
        yield Run(values, range(offset, offset + size * stride, stride), line,
                  len(set(values)) == size)
        return size
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        yield from group(records((block,), offset, line))
        return _line_count(block)
    # A newline byte is never part of a multi-byte character, so splitting the text gives
    # each line's own decoding, as records() decodes it.
    last = block.endswith(b"\n")  # the empty string after the last newline is no line
    if ending:
        # PLAIN lines: each is its own value, and an ID exactly when its length is valid.
        values = text.split(ending.decode("ascii"))
        if last:
            values.pop()
        width = len(ending)
        sizes = list(map(len, values))
        valid = range(1, rule.MAX_ID_LENGTH + 1)
        bad = [] if min(sizes) in valid and max(sizes) in valid else [
            index for index, size in enumerate(sizes) if size not in valid]
    else:
        # Anything else: every line trimmed and decided by the rule itself.
        lines = text.split("\n")
        if last:
            lines.pop()
        values = list(map(trim, lines))
        width = 1
        sizes = list(map(len, lines if block.isascii() else block.split(b"\n")))
        bad = list(compress(count(), map(is_not, map(check, values), repeat(None))))
    size = len(values)
    # offsets[j]: offset plus the lengths and line endings of the lines before j.
    offsets = list(accumulate(map(add, sizes, repeat(width)), initial=offset))
    del offsets[size:]  # from the offset after the last line on
    if not bad:
        yield Run(values, offsets, line, len(set(values)) == size)
        return size
    # records() decides each bad line alone; the stretches of lines between them are runs.
    start = 0  # first line of the current stretch
    for index in bad:
        if start < index:
            yield Run(values[start:index], offsets[start:index], line + start)
        here = offsets[index] - offset
        end = offsets[index + 1] - offset if index + 1 < size else len(block)
        yield from group(records((block[here:end],), offset + here, line + index))
        start = index + 1
    if start < size:
        yield Run(values[start:], offsets[start:], line + start)
    return size


def _line_count(block: bytes) -> int:
    """Lines in *block*, as records() counts them: one per newline, and a last one without."""
    return block.count(b"\n") + (not block.endswith(b"\n"))


def _plain_ending(block: bytes) -> bytes | None:
    """The block's line ending, LF or CRLF, when every other byte of it is
    :data:`~bulkdelete.reader.rule.PLAIN`; None when some line needs deciding on its own."""
    odd = block.translate(None, PLAIN)  # in order: the bytes that are not PLAIN
    if not odd.strip(b"\n"):
        return _LF
    pairs = len(odd) // 2
    # CRLF throughout when the odd bytes are CR-LF pairs and each pair is adjacent in the
    # block; then a last line without a newline has no CR either.
    if odd.startswith(_CRLF) and odd == _CRLF * pairs and block.count(_CRLF) == pairs:
        return _CRLF
    return None


def _fixed_width(block: bytes, ending: bytes) -> int:
    """How many lines a clean *block* (see :func:`_plain_ending`) holds if each is as long
    as the first and a valid ID's length, but maybe a last one without a line ending; else 0.

    A strided copy of one byte per line checks that every newline sits where lines all as
    long as the first would put it, so no string per line is needed.
    """
    newlines = block.count(b"\n")
    first = block.find(ending) if newlines else len(block)
    limit = rule.MAX_ID_LENGTH
    if not 0 < first <= limit:
        return 0
    stride = first + len(ending)
    if block[stride - 1 :: stride].count(b"\n", 0, newlines) != newlines:
        return 0
    if block.endswith(b"\n"):
        return newlines
    last = len(block) - (block.rfind(b"\n") + 1)
    return newlines + 1 if last <= limit else 0
