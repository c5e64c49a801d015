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
    """The ID, with surrounding whitespace trimmed."""
    line: int
    """1-based physical line number where the record starts."""
    offset: int
    """Byte offset where the record starts (in the decompressed stream for ``.gz``)."""


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
