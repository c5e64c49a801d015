"""``--encoding``: which codecs the reader can read. It splits the input into lines and CSV
fields as bytes (a resume seeks to a byte offset), so only UTF-8 or an encoding of one byte
per character that keeps ASCII as it is (cp1252, latin-1, ...) decodes line by line to the
same text as the whole file would."""

from __future__ import annotations

import codecs
from typing import Final

from bulkdelete.errors import UsageError

DEFAULT_ENCODING: Final = "utf-8"
_ASCII: Final = bytes(range(128))
_EVERY_BYTE: Final = bytes(range(256))
# ASCII that a stateful encoding reads as something else: ISO-2022's escapes and shifts,
# HZ's braces, UTF-7's base64.
_SHIFTS: Final = (b"\x1b$B0!\x1b(B", b"\x1b$)A\x0e!!\x0f", b"\x1b$)C\x0e!!\x0f", b"~{0!~}",
                  b"+AGE-")


def resolve_encoding(name: str) -> str:
    """The codec's canonical name (``windows-1252`` is ``cp1252``), so two spellings bind
    one job; UsageError, before anything is read, for one the reader cannot use."""
    try:
        canonical = codecs.lookup(name).name
        if canonical in ("utf-8", "utf-8-sig"):  # a BOM is skipped whatever the encoding
            return DEFAULT_ENCODING
        usable = _one_byte_ascii(canonical)
    except LookupError:  # unknown, or not a text encoding (base64, rot13)
        raise UsageError(
            f"unknown --encoding {name!r}: give a text encoding such as utf-8 (the default), "
            "cp1252 (windows-1252) or latin-1") from None
    if not usable:
        raise UsageError(
            f"--encoding {name!r} cannot be read line by line: use utf-8 or an encoding of "
            "one byte per character that keeps ASCII as is (cp1252, latin-1, iso8859-15, "
            f"...), or convert the file to UTF-8 first (iconv -f {name} -t utf-8)")
    return canonical


def _one_byte_ascii(codec: str) -> bool:
    """ASCII bytes are ASCII, and no byte combines with the next (not UTF-16, Shift JIS,
    ISO-2022, EBCDIC, UTF-7)."""
    try:
        if any(text.decode(codec, "replace") != text.decode("ascii")
               for text in (_ASCII, *_SHIFTS)):
            return False
        return all(len((bytes([lead]) + _EVERY_BYTE).decode(codec, "replace")) == 257
                   for lead in range(128, 256))
    except UnicodeDecodeError:
        return False
