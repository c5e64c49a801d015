"""What the reader yields: valid IDs with where they start, and the lines that hold none."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

__all__ = ["RUN_MAX_IDS", "VALUE_CHARS", "InvalidLine", "Record", "Run", "group", "new_record",
           "raw_value", "text_value"]

#: Most IDs :func:`group` puts in one run: bounds memory for CSV and JSON Lines, whose runs
#: are not cut by read blocks. (Line runs are bounded by the read block instead.)
RUN_MAX_IDS: Final = 8192


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
    """Consecutive valid IDs on consecutive physical lines, as ``read_runs`` yields them.

    ``values[j]`` is the ID ``read_records`` would yield as
    ``Record(values[j], line + j, offsets[j])``. A run is never empty, and holds at most a
    read block's worth of IDs (or :data:`RUN_MAX_IDS`), so memory stays bounded. The lists
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
    clean block right after it is split, while its strings are fresh in the CPU's cache,
    so the engine can skip its own per-batch duplicate check."""


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A line (or CSV record) that holds no usable ID.

    ``value`` is what the line held, cut to :data:`VALUE_CHARS` characters, for the job's
    ``invalid.jsonl`` only (docs/checkpoint.md): it may be personal data, so it never goes
    into a reason, a log, the report or the checkpoint's state. Empty when a CSV record could
    not be parsed or was too long to keep. Not compared: two reads agree on a line by its
    number and reason."""

    line: int
    reason: str
    value: str = field(default="", compare=False, repr=False)


#: Most characters of an invalid line's value kept (what an ID may hold at most).
VALUE_CHARS: Final = 512


def raw_value(raw: bytes) -> str:
    """An invalid line's bytes as text: its line ending dropped, cut to :data:`VALUE_CHARS`
    characters, undecodable bytes escaped (``\\xff``) so it always encodes."""
    # 4 bytes a character at most: the cut never falls inside the characters kept.
    head = raw[: 4 * VALUE_CHARS].rstrip(b"\r\n")
    return head.decode("utf-8", "backslashreplace")[:VALUE_CHARS]


def text_value(text: str) -> str:
    """A decoded value, cut to :data:`VALUE_CHARS`; lone surrogates (undecodable CSV bytes,
    bad JSON escapes) escaped so it always encodes."""
    text = text[:VALUE_CHARS]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# A frozen dataclass's __init__ sets each field through object.__setattr__; setting the slots
# through their descriptors builds the very same object at a fraction of the cost, which
# counts in the per-record loops. (A test checks these equal Record(...), so a field added to
# Record cannot be silently left unset here.)
_SET_VALUE: Final = Record.__dict__["value"].__set__
_SET_LINE: Final = Record.__dict__["line"].__set__
_SET_OFFSET: Final = Record.__dict__["offset"].__set__


def new_record(value: str, line: int, offset: int) -> Record:
    """``Record(value, line, offset)``, built without the frozen dataclass's ``__init__``."""
    record: Record = object.__new__(Record)
    _SET_VALUE(record, value)
    _SET_LINE(record, line)
    _SET_OFFSET(record, offset)
    return record


def group(items: Iterable[Record | InvalidLine]) -> Iterator[Run | InvalidLine]:
    """Records grouped into runs of consecutive lines; invalid lines passed through in order.

    A run ends at an invalid line, at a gap in line numbers (a blank line, a CSV record
    spanning lines) and after :data:`RUN_MAX_IDS` IDs.
    """
    values: list[str] = []
    offsets: list[int] = []
    first = 0  # line of values[0]
    for item in items:
        if isinstance(item, Record):
            if values and item.line == first + len(values) and len(values) < RUN_MAX_IDS:
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
