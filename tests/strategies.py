"""Hypothesis strategies shared by the tests: inputs for the reader in every format."""

from __future__ import annotations

import csv

from hypothesis import strategies as st

from bulkdelete.reader import InputFormat

BOM = b"\xef\xbb\xbf"

# --------------------------------------------------------------------------- resumes
# Pieces joined into a file of each format: block edges, lines spanning blocks and over-long
# lines all occur in small files once the read block and line limit are shrunk.

LINE_PIECES = [
    b"a",
    b"Zq9",
    b"\xc3\xa9",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\n",
    b"\r\n",
    b"\xff",
    b"\x01",
    BOM,
    b"x" * 30,
]


CSV_PIECES = [b"a", b"b7", b",", b'"', b'""', b"\n", b"\n", b"\r\n", b" ", b"\xff", b"\xc3\xa9"]


JSON_LINES = [
    b'{"guid": "a"}',
    b'{"guid": " b\\u00e9 "}',
    b'{"guid": 17}',
    b'{"guid": ""}',
    b'{"guid": "\\u0001"}',
    b'{"other": "x"}',
    b'{"guid": null}',
    b"[1]",
    b"{broken",
    b"",
    b"   ",
    b'{"guid": "\xff"}',
    b'{"guid": "' + b"y" * 40 + b'"}',
]


def resume_content(fmt: InputFormat, pieces: list[bytes]) -> bytes:
    """A file of *fmt* made of *pieces* (with a header or a valid first object)."""
    if fmt == "lines":
        return b"".join(pieces)
    if fmt == "csv":
        return b"n,guid\n" + b"".join(pieces)
    # JSON Lines: the first object must have the field, or the whole read is an InputError.
    return b"\n".join([b'{"guid": "first"}', *pieces])


def resume_pieces(fmt: InputFormat) -> st.SearchStrategy[list[bytes]]:
    """Lists of *fmt*'s pieces, for :func:`resume_content`."""
    choices = {"lines": LINE_PIECES, "csv": CSV_PIECES, "jsonl": JSON_LINES}[fmt]
    return st.lists(st.sampled_from(choices), max_size=60)


# --------------------------------------------------------------------------- block reader

# Shrunk limits (the tests patch them in) so that too-long IDs and over-long lines are a few
# bytes.
ID_LIMIT = 12
LINE_LIMIT = 40

HEX = "0123456789abcdef"
PLAIN_TEXT = "".join(map(chr, range(0x21, 0x7F)))  # printable ASCII, no space


BAD_LINES = [
    b"",  # blank
    b" ",
    b"  a1",  # whitespace-padded: valid after trimming
    b"a1 ",
    b"\ta1",
    b"a1\t",
    b"\x0ba1",
    b"\x0ca1",
    b"\x1ca1",  # a control character at an edge: invalid, never trimmed away
    b"a1\x1f",
    b"a\x01b",  # control characters, DEL
    b"a\x7fb",
    b"\x00",
    b"a\rb",  # a stray CR inside a line
    b"\r",
    b"\xff",  # not UTF-8
    b"a\x80",
    "é".encode(),  # not ASCII but valid
    "\u00a0a1".encode(),  # non-ASCII whitespace
    "a\u2028".encode(),
    b"x" * ID_LIMIT,  # exactly at the limit: valid
    b"y" * (ID_LIMIT + 1),  # too long
    b"z" * LINE_LIMIT,
    b"w" * (LINE_LIMIT + 1),  # over-long line, skipped in blocks
    b"v" * (3 * LINE_LIMIT),
    BOM,  # not at the start of the file: just bad bytes
]


# Padding: what is trimmed (space, tab, CR) and control characters that make a line invalid.
WHITESPACE = [b"", b"", b" ", b"\t", b"\x0b", b"\x0c", b"\x1c", b"\x1f", b"\r"]


@st.composite
def lines_content(draw: st.DrawFn) -> bytes:
    """Stretches of IDs (fixed-width or not, maybe padded with whitespace) with bad lines of
    every kind mixed in, densely or sparsely; LF, CRLF or mixed line endings; maybe a BOM;
    maybe no newline at the end."""
    width = draw(st.integers(1, ID_LIMIT), label="width")
    fixed = st.text(HEX, min_size=width, max_size=width).map(str.encode)
    loose = st.text(PLAIN_TEXT, min_size=1, max_size=ID_LIMIT).map(str.encode)
    space = st.sampled_from(WHITESPACE)
    padded = st.tuples(space, st.one_of(fixed, loose), space).map(b"".join)
    bad = st.sampled_from(BAD_LINES)
    # Any text but lone surrogates (which UTF-8 cannot encode): accents, CJK, emoji, Unicode
    # whitespace (invalid, not trimmed), controls, line and paragraph separators...
    unicode = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=ID_LIMIT).map(
        str.encode
    )
    mix = draw(
        st.sampled_from(["clean", "fixed", "sparse", "padded", "unicode", "mixed", "bad"]),
        label="mix",
    )
    line = {
        "clean": st.one_of(fixed, loose),
        "fixed": fixed,
        "sparse": fixed,
        "unicode": st.one_of(fixed, loose, padded, unicode),
        "padded": padded,
        "mixed": st.one_of(fixed, fixed, loose, padded, unicode, bad),
        "bad": st.one_of(fixed, bad),
    }[mix]
    lines = draw(st.lists(line, max_size=60), label="lines")
    if mix in ("sparse", "padded", "unicode") and lines:
        # A few bad lines among many good ones: found one by one, not the block read slowly.
        for _ in range(draw(st.integers(1, 3), label="bad lines")):
            lines.insert(draw(st.integers(0, len(lines)), label="at"), draw(bad, label="bad"))
        lines = draw(st.lists(line, min_size=10, max_size=30), label="more") + lines
    endings = draw(st.sampled_from(["lf", "crlf", "mixed"]), label="endings")
    ending = {
        "lf": st.just(b"\n"),
        "crlf": st.just(b"\r\n"),
        "mixed": st.sampled_from([b"\n", b"\r\n"]),
    }[endings]
    data = b"".join(text + draw(ending) for text in lines)
    unterminated: bool = draw(st.booleans(), label="no final newline")
    if lines and unterminated:
        data = data[: -1 if data.endswith(b"\n") and not data.endswith(b"\r\n") else -2]
    if draw(st.booleans(), label="bom"):
        data = BOM + data
    return data


BLOCKS = st.sampled_from([1, 2, 3, 5, 8, 16, 64, 4096])  # read block sizes
SIZES = st.sampled_from([1, 2, 3, 7, 100])  # batch sizes


# The JSON lines of the resume tests, plus two more valid ones so runs of more than one
# record form.
RUN_JSON_LINES = [b'{"guid": "b"}', b'{"guid": "c"}', *JSON_LINES]


@st.composite
def structured_content(draw: st.DrawFn, fmt: InputFormat) -> bytes:
    """A CSV or JSON Lines file of the resume pieces."""
    if fmt == "csv":
        return b"n,guid\n" + b"".join(draw(st.lists(st.sampled_from(CSV_PIECES), max_size=60)))
    # The first object must have the field, or the whole read is an InputError.
    pieces = draw(st.lists(st.sampled_from(RUN_JSON_LINES), max_size=30))
    return b"\n".join([b'{"guid": "first"}', *pieces])


# --------------------------------------------------------------------------- CSV

CSV_TEXT = st.text(alphabet='ab ,"\n\r\u00e9', max_size=40)


@st.composite
def csv_bodies(draw: st.DrawFn) -> bytes:
    """Rows written by csv.writer (quotes, commas, newlines, long fields), or raw text that
    the csv module may or may not parse (unquoted quotes, stray quotes)."""
    if draw(st.booleans()):
        text = draw(st.text(alphabet='ab,"\n \u00e9', max_size=200))
        return text.encode()
    rows = draw(st.lists(st.lists(CSV_TEXT | st.text(alphabet="ab\n", min_size=30, max_size=90),
                                  min_size=1, max_size=3), max_size=8))
    out: list[str] = []
    writer = csv.writer(_Sink(out), lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerows(rows)
    return "".join(out).encode()


class _Sink:
    """A file-like list, for csv.writer."""

    def __init__(self, out: list[str]) -> None:
        self.out = out

    def write(self, text: str) -> int:
        self.out.append(text)
        return len(text)


# One physical line for the csv state machine.
CSV_LINE = st.text(alphabet='a ,"\r\u00e9', max_size=30).map(lambda text: text + "\n")

