"""What the reader yields, and what a valid ID is, once for every format: trimmed of space,
tab, CR and LF, non-empty valid UTF-8 of at most :data:`MAX_ID_LENGTH` characters, with no
control character and no whitespace but the space (so an ID is sent as the file holds it)."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Final

#: The version of the reader's decisions (which values are IDs, what each format reads as a
#: value), bound into checkpoints: batches are numbered by what the reader read, so a reader
#: deciding otherwise would take other IDs for a batch's. Raise it with any such change.
#: (1: before it was bound; 2: zero-width spaces invalid, stray delimiters, a repeated header.)
READER_RULES: Final = 2

MAX_ID_LENGTH: Final = 512  # characters, once trimmed
VALUE_CHARS: Final = 512  # kept of an invalid line's value: what an ID may hold at most

# Reasons, kept short: they are counted, printed and stored in the report, and never quote
# the value (IDs are personal data).
REASON_UTF8: Final = "not valid UTF-8"
REASON_TOO_LONG: Final = f"longer than {MAX_ID_LENGTH} characters"
REASON_CONTROL: Final = "control character"
REASON_EMPTY: Final = "empty value"
REASON_SPACE: Final = "whitespace other than a space"

# A control character (C0, DEL, C1) anywhere in a (trimmed) value.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Whitespace but the space (no-break, U+2028, ideographic, ...) and the zero-width characters
# Python does not call whitespace (a BOM mid-file where two exports were joined, ZWSP, word
# joiner, Mongolian vowel separator): invisible, the ID looks right but another one is sent.
_SPACE: Final = re.compile("[^\\S ]|[\u180e\u200b\u2060\ufeff]")

#: What :func:`trim` takes off a value's edges: ordinary whitespace, nothing else.
TRIMMED: Final = " \t\r\n"


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which triples
# the cost of the one object made per line of a ten-million-line input.
@dataclass(slots=True)
class Record:
    value: str
    line: int  # 1-based
    offset: int  # in the decompressed stream for .gz


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A line (or CSV record) with no usable ID. ``value`` (cut) may be personal data: it goes
    to ``invalid.jsonl`` only, never a reason, a log, the report or the checkpoint."""

    line: int
    reason: str
    value: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Blank:
    """A blank line, CSV cell or JSON value, in every format: counted as blank, never listed
    as invalid (there is nothing wrong to show)."""

    line: int


#: What a read yields, in file order; closed, it closes the input file.
Records = Generator[Record | InvalidLine | Blank, None, None]


def unusable(line: int, reason: str, value: str = "") -> InvalidLine | Blank:
    """What a line whose ID check gave *reason* is: an empty value is a blank."""
    return Blank(line) if reason == REASON_EMPTY else InvalidLine(line, reason, value)


def raw_value(raw: bytes) -> str:
    """An invalid line's bytes as text, cut, undecodable bytes escaped (``\\xff``)."""
    # 4 bytes a character at most: the cut never falls inside the characters kept.
    head = raw[: 4 * VALUE_CHARS].rstrip(b"\r\n")
    return head.decode("utf-8", "backslashreplace")[:VALUE_CHARS]


def text_value(text: str) -> str:
    """A decoded value, cut, lone surrogates escaped so it always encodes."""
    text = text[:VALUE_CHARS]
    try:
        # An undecodable byte (CSV) comes back as the byte, escaped (``\xff``).
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate of a bad JSON escape
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def trim(value: str) -> str:
    return value.strip(TRIMMED)


def undecodable(encoding: str) -> str:
    """The reason for a value with bytes *encoding* cannot decode."""
    return REASON_UTF8 if encoding == "utf-8" else f"not valid {encoding}"


def encoding_hint(reasons: Iterable[str]) -> str | None:
    """What to say when lines are not valid UTF-8: the file may be in another encoding."""
    if REASON_UTF8 in reasons:
        return ("lines that are not valid UTF-8 may be a file in another encoding (an Excel "
                "export on Windows is often cp1252): pass --encoding, e.g. --encoding cp1252")
    return None


def check(value: str, undecodable: str = REASON_UTF8) -> str | None:
    """Why a trimmed *value* is not a usable ID, or None when it is; *undecodable* is the
    reason for bytes the input's encoding could not decode (lone surrogates)."""
    # A printable string holds no control character, no whitespace but the space (the
    # zero-width ones are format characters, not printable) and no lone surrogate.
    if value.isprintable() and 0 < len(value) <= MAX_ID_LENGTH:
        return None
    if not value:
        return REASON_EMPTY
    ascii_only = value.isascii()
    if not ascii_only:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates: undecodable bytes (CSV) or a bad \\u escape (JSON).
            return undecodable
    if len(value) > MAX_ID_LENGTH:
        return REASON_TOO_LONG
    if _CONTROL.search(value):
        return REASON_CONTROL
    # ASCII whitespace other than the space is all control characters, found above.
    if not ascii_only and _SPACE.search(value):
        return REASON_SPACE
    return None


def show(name: str, limit: int = 40) -> str:
    """A column or field name made safe for a one-line message (and for any terminal)."""
    # Lone surrogates (undecodable header bytes, bad JSON escapes) would make printing fail.
    name = _CONTROL.sub("?", name).encode("utf-8", "replace").decode("utf-8")
    return name if len(name) <= limit else name[: limit - 1] + "…"


def name_list(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(show(name) for name in names[:limit]) or "(nothing)"
    if len(names) > limit:
        shown += f", … ({len(names) - limit} more)"
    return shown
