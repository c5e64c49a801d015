"""What the reader yields: valid IDs with where they start, and the lines that hold none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which triples
# the cost of the one object made per line of a ten-million-line input.
@dataclass(slots=True)
class Record:
    """One valid ID and where it starts in the input."""

    value: str
    line: int  # 1-based
    offset: int  # in the decompressed stream for .gz


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A line (or CSV record) that holds no usable ID.

    ``value`` (cut to :data:`VALUE_CHARS`) goes to ``invalid.jsonl`` only: it may be personal
    data, so never into a reason, a log, the report or the checkpoint's state."""

    line: int
    reason: str
    value: str = field(default="", compare=False, repr=False)


#: Most characters of an invalid line's value kept (what an ID may hold at most).
VALUE_CHARS: Final = 512


def raw_value(raw: bytes) -> str:
    """An invalid line's bytes as text, cut, undecodable bytes escaped (``\\xff``)."""
    # 4 bytes a character at most: the cut never falls inside the characters kept.
    head = raw[: 4 * VALUE_CHARS].rstrip(b"\r\n")
    return head.decode("utf-8", "backslashreplace")[:VALUE_CHARS]


def text_value(text: str) -> str:
    """A decoded value, cut, lone surrogates escaped so it always encodes."""
    text = text[:VALUE_CHARS]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
