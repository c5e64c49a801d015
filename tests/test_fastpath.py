"""The block-level reader (:func:`read_runs`) and the batcher on runs are exact.

Everything here compares against the record-by-record reader, the reference: expanding the
runs gives exactly :func:`read_records`'s stream, so batches, the pre-count and resumes are
the same whichever the job uses.
"""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkdelete import reader
from bulkdelete.batcher import Batch, make_batches, summarize
from bulkdelete.errors import InputError
from bulkdelete.reader import (
    MAX_ID_LENGTH,
    REASON_CONTROL,
    REASON_TOO_LONG,
    InputFormat,
    InvalidLine,
    Record,
    Run,
    read_records,
    read_runs,
    tally_runs,
)
from tests import test_reader

BOM = b"\xef\xbb\xbf"
Item = Record | InvalidLine


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def records(
    path: Path, fmt: InputFormat = "lines", *, start_offset: int = 0, start_line: int = 1
) -> list[Item]:
    return list(
        read_records(
            path,
            fmt,
            column=None,
            id_type="guid",
            start_offset=start_offset,
            start_line=start_line,
        )
    )


def runs(
    path: Path, fmt: InputFormat = "lines", *, start_offset: int = 0, start_line: int = 1
) -> list[Run | InvalidLine]:
    return list(
        read_runs(
            path,
            fmt,
            column=None,
            id_type="guid",
            start_offset=start_offset,
            start_line=start_line,
        )
    )


def expand(items: Iterable[Run | InvalidLine]) -> list[Item]:
    """The records a run stands for, checking it is well formed on the way."""
    out: list[Item] = []
    for item in items:
        if isinstance(item, Run):
            assert item.values
            assert len(item.offsets) == len(item.values)
            out.extend(
                Record(value, item.line + j, item.offsets[j]) for j, value in enumerate(item.values)
            )
        else:
            out.append(item)
    return out


def assert_equivalent(path: Path, fmt: InputFormat, size: int) -> None:
    """read_runs is read_records, grouped: same records, batches, summary and resumes."""
    reference = records(path, fmt)
    grouped = runs(path, fmt)
    assert expand(grouped) == reference
    batches = list(make_batches(grouped, size))
    assert batches == list(make_batches(reference, size))
    # A batch marked distinct (the pipeline then skips its duplicate check) is distinct.
    assert all(len(set(b.ids)) == len(b.ids) for b in batches if b.distinct)
    assert summarize(grouped, size) == summarize(reference, size)
    # The pre-count's tally (fixed-width blocks counted from their bytes) agrees too.
    assert summarize(tally_runs(path, fmt, column=None, id_type="guid"), size) == \
        summarize(reference, size)
    # Resuming from any batch's (offset, line) regenerates exactly the batches from it on.
    for index, batch in enumerate(batches):
        tail = read_runs(
            path,
            fmt,
            column=None,
            id_type="guid",
            start_offset=batch.offset,
            start_line=batch.line,
        )
        assert list(make_batches(tail, size, first_seq=batch.seq)) == batches[index:]
    # And from any record, the runs stand for exactly the tail of the records.
    for index, item in enumerate(reference):
        if isinstance(item, Record) and index % 3 == 0:
            resumed = runs(path, fmt, start_offset=item.offset, start_line=item.line)
            assert expand(resumed) == reference[index:]


# --------------------------------------------------------------------------- property tests

# Shrunk limits (patched below) so that too-long IDs and over-long lines are a few bytes.
_ID_LIMIT = 12
_LINE_LIMIT = 40

_HEX = "0123456789abcdef"
_PLAIN = "".join(map(chr, range(0x21, 0x7F)))  # printable ASCII, no space
_BAD_LINES = [
    b"",  # blank
    b" ",
    b"  a1",  # whitespace-padded: valid after trimming
    b"a1 ",
    b"\ta1",
    b"a1\t",
    b"\x0ba1",
    b"\x0ca1",
    b"\x1ca1",  # str.strip() strips \x1c-\x1f too
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
    b"x" * _ID_LIMIT,  # exactly at the limit: valid
    b"y" * (_ID_LIMIT + 1),  # too long
    b"z" * _LINE_LIMIT,
    b"w" * (_LINE_LIMIT + 1),  # over-long line, skipped in blocks
    b"v" * (3 * _LINE_LIMIT),
    BOM,  # not at the start of the file: just bad bytes
]


_WHITESPACE = [b"", b"", b" ", b"\t", b"\x0b", b"\x0c", b"\x1c", b"\x1f", b"\r"]


@st.composite
def _lines_content(draw: st.DrawFn) -> bytes:
    """Stretches of IDs (fixed-width or not, maybe padded with whitespace) with bad lines of
    every kind mixed in, densely or sparsely; LF, CRLF or mixed line endings; maybe a BOM;
    maybe no newline at the end."""
    width = draw(st.integers(1, _ID_LIMIT), label="width")
    fixed = st.text(_HEX, min_size=width, max_size=width).map(str.encode)
    loose = st.text(_PLAIN, min_size=1, max_size=_ID_LIMIT).map(str.encode)
    space = st.sampled_from(_WHITESPACE)
    padded = st.tuples(space, st.one_of(fixed, loose), space).map(b"".join)
    bad = st.sampled_from(_BAD_LINES)
    # Any text but lone surrogates (which UTF-8 cannot encode): accents, CJK, emoji, Unicode
    # whitespace to trim, controls, line and paragraph separators...
    unicode = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=_ID_LIMIT).map(
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


_BLOCKS = st.sampled_from([1, 2, 3, 5, 8, 16, 64, 4096])
_SIZES = st.sampled_from([1, 2, 3, 7, 100])


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=_lines_content(), block=_BLOCKS, size=_SIZES)
def test_lines_runs_are_exactly_the_records_whatever_the_blocks(
    tmp_path: Path, compressed: bool, content: bytes, block: int, size: int
) -> None:
    """For any content and any read block size, read_runs stands for exactly read_records'
    stream, and batches, summary and resumes over it are the same."""
    path = write(tmp_path / f"ids.txt{'.gz' if compressed else ''}", content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "MAX_ID_LENGTH", _ID_LIMIT)
        patch.setattr(reader, "MAX_LINE_BYTES", _LINE_LIMIT)
        patch.setattr(reader, "_BLOCK_SIZE", block)
        assert_equivalent(path, "lines", size)


# The same pieces as the reader's own property tests, plus two more valid JSON lines so
# runs of more than one record form.
_CSV_PIECES = test_reader._CSV_PIECES
_JSON_LINES = [b'{"guid": "b"}', b'{"guid": "c"}', *test_reader._JSON_LINES]


@st.composite
def _structured_content(draw: st.DrawFn, fmt: InputFormat) -> bytes:
    if fmt == "csv":
        return b"n,guid\n" + b"".join(draw(st.lists(st.sampled_from(_CSV_PIECES), max_size=60)))
    # The first object must have the field, or the whole read is an InputError.
    pieces = draw(st.lists(st.sampled_from(_JSON_LINES), max_size=30))
    return b"\n".join([b'{"guid": "first"}', *pieces])


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), block=_BLOCKS, size=_SIZES, run_max=st.sampled_from([1, 2, 8192]))
def test_csv_and_jsonl_runs_are_exactly_the_records(
    tmp_path: Path,
    fmt: InputFormat,
    compressed: bool,
    data: st.DataObject,
    block: int,
    size: int,
    run_max: int,
) -> None:
    """CSV and JSON Lines are grouped records: the same stream, batches, summary, resumes."""
    content = data.draw(_structured_content(fmt), label="content")
    path = write(tmp_path / f"ids.{fmt}{'.gz' if compressed else ''}", content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "MAX_LINE_BYTES", 48)
        patch.setattr(reader, "_BLOCK_SIZE", block)
        patch.setattr(reader, "_RUN_MAX_IDS", run_max)
        assert_equivalent(path, fmt, size)


# --------------------------------------------------------------------------- the fast path


def _guids(count: int) -> list[str]:
    return [f"{n:032x}" for n in range(7, 7 + count)]


@pytest.mark.parametrize(("ending", "name"), [(b"\n", "ids.txt"), (b"\r\n", "ids.txt.gz")])
def test_clean_fixed_width_blocks_are_one_range_run_each(
    tmp_path: Path, ending: bytes, name: str
) -> None:
    """A clean file of GUIDs (LF or CRLF, plain or gz) comes as one run per read block, its
    offsets a range; the runs stand for exactly the records."""
    ids = _guids(20_000)
    path = write(tmp_path / name, b"".join(i.encode() + ending for i in ids))
    grouped = runs(path)
    assert len(grouped) > 1  # several blocks
    assert all(isinstance(run, Run) and isinstance(run.offsets, range) for run in grouped)
    assert sum(len(run.values) for run in grouped if isinstance(run, Run)) == len(ids)
    assert expand(grouped) == records(path)
    stride = 32 + len(ending)
    assert expand(grouped)[-1] == Record(ids[-1], len(ids), (len(ids) - 1) * stride)
    # Distinct IDs in clean blocks: their batches come marked so, skipping the pipeline's
    # duplicate check (except a batch that straddles two blocks).
    marked = [b.distinct for b in make_batches(grouped, 100)]
    assert sum(marked) >= len(marked) - len(grouped)
    # The pre-count counts such blocks from their bytes: one number per block, no runs.
    tally = list(tally_runs(path, "lines", column=None, id_type="guid"))
    if ending == b"\n":
        assert all(type(item) is int for item in tally)
        assert len(tally) == len(grouped)
    assert sum(n for n in tally if type(n) is int) == len(ids)


def test_clean_variable_width_block_is_one_run(tmp_path: Path) -> None:
    """Varying lengths take the fast path too (list offsets), up to MAX_ID_LENGTH exactly."""
    ids = ["a", "bb", "user@example.com", "x" * MAX_ID_LENGTH, "+4915112345678", "c"]
    path = write(tmp_path / "ids.txt", "\n".join(ids).encode() + b"\n")
    (run,) = runs(path)
    assert isinstance(run, Run)
    assert run.values == ids
    assert run.offsets == [0, 2, 5, 22, 22 + MAX_ID_LENGTH + 1, 22 + MAX_ID_LENGTH + 16]
    assert run.line == 1
    assert expand([run]) == records(path)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_last_line_without_newline(tmp_path: Path, ending: bytes) -> None:
    """The last line counts without a newline (the read blocks hand it over on its own)."""
    path = write(tmp_path / "ids.txt", ending.join([b"aa", b"bb", b"cc", b"ddddddd"]))
    grouped = runs(path)
    assert expand(grouped) == records(path)
    assert [len(run.values) for run in grouped if isinstance(run, Run)] == [3, 1]


_DDD = ["aa", "bb", "cc", "ddddddd"]


@pytest.mark.parametrize(
    ("chunk", "values", "offsets"),
    [
        (b"aa\nbb\ncc\nddddddd", _DDD, range(10, 22, 3)),
        (b"aa\r\nbb\r\ncc\r\nddddddd", _DDD, range(10, 26, 4)),
        (b"aa\nbb\nccc\nd", ["aa", "bb", "ccc", "d"], [10, 13, 16, 20]),
    ],
)
def test_clean_block_ending_without_newline(
    chunk: bytes, values: list[str], offsets: range | list[int]
) -> None:
    """A block whose last line has no newline, longer than the others or not, is exact too
    (the reader only makes such blocks of one line, but _block_runs does not rely on it)."""
    assert list(reader._block_runs(chunk, 10, 5)) == [Run(values, offsets, 5)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # The fast path's limits, at full size: one character too many, DEL, a blank line.
        (b"a\n" + b"y" * (MAX_ID_LENGTH + 1) + b"\nb\n", [(2, REASON_TOO_LONG)]),
        (b"aa\nb\x7fb\ncc\n", [(2, REASON_CONTROL)]),
        (b"aa\n\ncc\n", []),
    ],
)
def test_dirty_blocks_take_the_per_line_path(
    tmp_path: Path, data: bytes, expected: list[tuple[int, str]]
) -> None:
    """A block with anything unusual is read line by line: same records, same reasons."""
    path = write(tmp_path / "ids.txt", data)
    grouped = runs(path)
    assert expand(grouped) == records(path)
    assert [(i.line, i.reason) for i in grouped if isinstance(i, InvalidLine)] == expected


def test_bom_whitespace_and_blank_lines_keep_lines_and_offsets(tmp_path: Path) -> None:
    """A BOM at the start shifts offsets by 3; a blank line ends a run (line numbers skip)."""
    path = write(tmp_path / "ids.txt", BOM + b"a\nb\n\n c \nd\n")
    assert runs(path) == [Run(["a", "b"], [3, 5], 1), Run(["c", "d"], [8, 12], 4)]
    assert expand(runs(path)) == records(path)


def test_empty_and_bom_only_files_yield_nothing(tmp_path: Path) -> None:
    assert runs(write(tmp_path / "empty.txt", b"")) == []
    assert runs(write(tmp_path / "bom.txt", BOM)) == []
    assert runs(write(tmp_path / "empty.csv", b"")) == []


def test_huge_line_is_one_invalid_line(tmp_path: Path) -> None:
    """A line beyond MAX_LINE_BYTES is skipped in blocks and reported once, as by records."""
    data = b"a\n" + b"x" * 3_000_000 + b"\nb\n"
    path = write(tmp_path / "ids.txt", data)
    assert runs(path) == [
        Run(["a"], range(0, 2, 2), 1),
        InvalidLine(2, REASON_TOO_LONG),
        Run(["b"], range(len(data) - 2, len(data), 2), 3),
    ]


def test_grouped_runs_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV and JSON Lines runs hold at most _RUN_MAX_IDS IDs (their memory stays bounded)."""
    monkeypatch.setattr(reader, "_RUN_MAX_IDS", 4)
    path = write(tmp_path / "ids.jsonl", b"".join(b'{"guid": "%d"}\n' % n for n in range(10)))
    grouped = runs(path, "jsonl")
    assert [len(run.values) for run in grouped if isinstance(run, Run)] == [4, 4, 2]
    assert expand(grouped) == records(path, "jsonl")


# --------------------------------------------------------------------------- errors


def _error(items: Iterable[object]) -> str:
    with pytest.raises(InputError) as caught:
        list(items)
    return str(caught.value)


@pytest.mark.parametrize(
    ("name", "fmt", "data"),
    [
        ("ids.csv", "csv", b"a,b\n1,2\n"),  # no column named guid
        ("ids.jsonl", "jsonl", b'{"id": "a"}\n'),  # first object without the field
        ("ids.txt.gz", "lines", b"not gzip at all"),
    ],
)
def test_errors_are_the_same_input_errors(
    tmp_path: Path, name: str, fmt: InputFormat, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    expected = _error(read_records(path, fmt, column=None, id_type="guid"))
    assert _error(read_runs(path, fmt, column=None, id_type="guid")) == expected


def test_missing_file_raises_input_error(tmp_path: Path) -> None:
    assert "not found" in _error(read_runs(tmp_path / "no.txt", "lines", column=None, id_type="g"))


def test_truncated_gz_yields_the_same_before_failing(tmp_path: Path) -> None:
    """A gz cut short yields what read_records yields before it, then the same InputError."""
    data = gzip.compress(b"".join(i.encode() + b"\n" for i in _guids(200_000)))
    path = tmp_path / "ids.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    got: list[Run | InvalidLine] = []
    with pytest.raises(InputError, match="not valid gzip"):
        got.extend(read_runs(path, "lines", column=None, id_type="guid"))
    expected: list[Item] = []
    with pytest.raises(InputError, match="not valid gzip"):
        expected.extend(read_records(path, "lines", column=None, id_type="guid"))
    assert got
    assert expand(got) == expected


@pytest.mark.parametrize(
    ("name", "fmt", "data"),
    [
        ("ids.txt.gz", "lines", b"a\nb\nc\n"),
        ("ids.csv", "csv", b"guid\na\nb\n"),
        ("ids.jsonl", "jsonl", b'{"guid": "a"}\n\n{"guid": "b"}\n'),
    ],
)
def test_abandoned_reader_closes_its_file(
    tmp_path: Path, name: str, fmt: InputFormat, data: bytes
) -> None:
    """Stopping early and closing the iterator closes the file (no ResourceWarning)."""
    items = read_runs(write(tmp_path / name, data), fmt, column=None, id_type="guid")
    first = next(items)
    assert isinstance(first, Run)
    assert first.values[0] == "a"
    items.close()  # type: ignore[attr-defined]


def test_batches_over_runs_point_into_the_file(tmp_path: Path) -> None:
    """End to end on a clean file: batch offsets and lines are where each batch's ID is."""
    ids = _guids(1000)
    data = b"".join(i.encode() + b"\n" for i in ids)
    path = write(tmp_path / "ids.txt", data)
    batches = list(make_batches(runs(path), 100))
    assert len(batches) == 10
    for seq, batch in enumerate(batches):
        assert batch == Batch(seq, seq * 100 * 33, seq * 100 + 1, ids[seq * 100 : seq * 100 + 100])
        assert data[batch.offset : batch.offset + 32].decode() == batch.ids[0]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_a_few_bad_lines_leave_the_rest_of_the_block_fast(tmp_path: Path, ending: bytes) -> None:
    """Bad lines at a block's start, side by side and at its end are found one by one: the
    good lines between them still come as runs, the bad ones exactly as record by record."""
    lines = [i.encode() for i in _guids(100)]
    lines[0] = b" "  # blank once trimmed: no item at all
    lines[50] = b"a\x01b"
    lines[51] = b"y" * (MAX_ID_LENGTH + 1)
    lines[99] = b""
    lines[70] = b"  " + lines[70] + b"\t"  # padded: still good
    path = write(tmp_path / "ids.txt", b"".join(line + ending for line in lines))
    grouped = runs(path)
    assert expand(grouped) == records(path)
    assert [(type(item).__name__, item.line) for item in grouped] == [
        ("Run", 2),
        ("InvalidLine", 51),
        ("InvalidLine", 52),
        ("Run", 53),
    ]


def test_memory_stays_bounded(tmp_path: Path) -> None:
    """A 32 MB line and 8 MB of IDs are read in a few MiB: runs hold one block at most."""
    path = tmp_path / "ids.txt"
    with path.open("wb") as out:
        out.write(b"a\n" + b"y" * (32 << 20) + b"\n")
        out.write(b"".join(i.encode() + b"\n" for i in _guids(250_000)))
    tracemalloc.start()
    try:
        summary = summarize(read_runs(path, "lines", column=None, id_type="guid"), 100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (summary.ids_total, summary.lines_invalid) == (250_001, 1)
    assert peak < 8 << 20
