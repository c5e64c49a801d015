"""One ID per line: every bad-input case (docs/guarantees.md §7), and the block fast path
exactly equal to the line-by-line reference for any content and any read block size."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from bulkdelete.batcher import Batch, make_batches, summarize
from bulkdelete.reader import (
    MAX_ID_LENGTH,
    REASON_CONTROL,
    REASON_TOO_LONG,
    REASON_UTF8,
    InvalidLine,
    Record,
    Run,
    read_runs,
    rule,
    source,
    tally_runs,
)
from bulkdelete.reader.lines import block_runs
from tests.reader.support import (
    BOM,
    SECRET,
    assert_equivalent,
    assert_offsets,
    assert_private,
    expand,
    guids,
    invalid,
    read,
    records,
    runs,
    values,
    write,
)
from tests.strategies import (
    BLOCKS,
    ID_LIMIT,
    LINE_LIMIT,
    SIZES,
    lines_content,
)


def test_lines_basic_values_lines_and_offsets(tmp_path: Path) -> None:
    """Each line is one ID, with its 1-based line number and the byte offset of its line."""
    data = b"alpha\nbeta\ngamma"
    items = read(write(tmp_path / "ids.txt", data))
    assert records(items) == [("alpha", 1, 0), ("beta", 2, 6), ("gamma", 3, 11)]


def test_lines_blank_lines_are_skipped_silently(tmp_path: Path) -> None:
    """Empty and whitespace-only lines are neither IDs nor invalid; numbering goes on."""
    items = read(write(tmp_path / "ids.txt", b"\n  \n\t\na\n\n\r\nb\n\n"))
    assert records(items) == [("a", 4, 6), ("b", 7, 11)]
    assert invalid(items) == []


def test_lines_surrounding_whitespace_is_trimmed(tmp_path: Path) -> None:
    """Spaces and tabs around an ID are dropped; the offset is the line's start."""
    items = read(write(tmp_path / "ids.txt", b"  a b  \n\t c\t\n"))
    assert records(items) == [("a b", 1, 0), ("c", 2, 8)]


def test_lines_crlf_endings(tmp_path: Path) -> None:
    """CRLF line endings leave no \\r in the IDs and offsets count the \\r."""
    items = read(write(tmp_path / "ids.txt", b"a\r\nbb\r\nc\r\n"))
    assert records(items) == [("a", 1, 0), ("bb", 2, 3), ("c", 3, 7)]


def test_lines_bom_is_skipped_and_first_offset_is_3(tmp_path: Path) -> None:
    """A UTF-8 BOM at the start of the file is not part of the first ID."""
    items = read(write(tmp_path / "ids.txt", BOM + b"a\nb\n"))
    assert records(items) == [("a", 1, 3), ("b", 2, 5)]


def test_lines_bom_only_file_is_empty(tmp_path: Path) -> None:
    """A file holding only a BOM yields nothing."""
    assert read(write(tmp_path / "ids.txt", BOM)) == []


def test_lines_undecodable_bytes_are_invalid(tmp_path: Path) -> None:
    """A line that is not UTF-8 is reported by number; its neighbours are fine."""
    data = b"a\n" + SECRET.encode() + b"\xff\xfe\nb\n"
    items = read(write(tmp_path / "ids.txt", data))
    assert records(items) == [("a", 1, 0), ("b", 3, len(data) - 2)]
    assert invalid(items) == [(2, REASON_UTF8)]
    assert_private(items)


def test_lines_non_ascii_ids_have_byte_offsets(tmp_path: Path) -> None:
    """UTF-8 IDs are accepted; offsets count bytes, not characters."""
    data = "josé\nü\nx\n".encode()
    items = read(write(tmp_path / "ids.txt", data))
    assert records(items) == [("josé", 1, 0), ("ü", 2, 6), ("x", 3, 9)]
    assert_offsets(data, items)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\t", "\r", "\x0b"])
def test_lines_control_character_inside_is_invalid(tmp_path: Path, char: str) -> None:
    """A C0 control character or DEL inside the trimmed ID makes the line invalid."""
    data = f"a\n{SECRET}{char}x\nb\n".encode()
    items = read(write(tmp_path / "ids.txt", data))
    assert values(items) == ["a", "b"]
    assert invalid(items) == [(2, REASON_CONTROL)]
    assert_private(items)


def test_lines_control_character_inside_non_ascii_id_is_invalid(tmp_path: Path) -> None:
    """The control-character check also holds on the non-ASCII path."""
    items = read(write(tmp_path / "ids.txt", "é\x01x\né\n".encode()))
    assert invalid(items) == [(1, REASON_CONTROL)]
    assert values(items) == ["é"]


def test_lines_length_limit_is_512_characters(tmp_path: Path) -> None:
    """512 characters is accepted, 513 is not; characters count, not bytes."""
    ok, too_long, wide = "a" * MAX_ID_LENGTH, "b" * (MAX_ID_LENGTH + 1), "é" * MAX_ID_LENGTH
    items = read(write(tmp_path / "ids.txt", f"{ok}\n{too_long}\n{wide}\n".encode()))
    assert values(items) == [ok, wide]
    assert invalid(items) == [(2, REASON_TOO_LONG)]


def test_lines_huge_single_line_is_one_invalid_line(tmp_path: Path) -> None:
    """A 5 MB line is one invalid line; the lines around it are read normally."""
    data = b"a\n" + b"x" * 5_000_000 + b"\nb\n"
    items = read(write(tmp_path / "ids.txt", data))
    assert records(items) == [("a", 1, 0), ("b", 3, len(data) - 2)]
    assert invalid(items) == [(2, REASON_TOO_LONG)]


def test_lines_huge_last_line_without_newline(tmp_path: Path) -> None:
    """An over-long last line without a newline is still one invalid line."""
    items = read(write(tmp_path / "ids.txt", b"a\n" + b"x" * 3_000_000))
    assert values(items) == ["a"]
    assert invalid(items) == [(2, REASON_TOO_LONG)]


def test_lines_empty_file_yields_nothing(tmp_path: Path) -> None:
    """An empty file is an empty input, not an error."""
    assert read(write(tmp_path / "ids.txt", b"")) == []


def test_lines_last_line_without_newline(tmp_path: Path) -> None:
    """The last line counts even without a trailing newline."""
    assert records(read(write(tmp_path / "ids.txt", b"a\nb"))) == [("a", 1, 0), ("b", 2, 2)]


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=lines_content(), block=BLOCKS, size=SIZES)
def test_lines_runs_are_exactly_the_records_whatever_the_blocks(
    tmp_path: Path, compressed: bool, content: bytes, block: int, size: int
) -> None:
    """For any content and any read block size, read_runs stands for exactly read_records'
    stream, and batches, summary and resumes over it are the same."""
    path = write(tmp_path / f"ids.txt{'.gz' if compressed else ''}", content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rule, "MAX_ID_LENGTH", ID_LIMIT)
        patch.setattr(source, "MAX_LINE_BYTES", LINE_LIMIT)
        patch.setattr(source, "_BLOCK_SIZE", block)
        assert_equivalent(path, "lines", size)


@pytest.mark.parametrize(("ending", "name"), [(b"\n", "ids.txt"), (b"\r\n", "ids.txt.gz")])
def test_clean_fixed_width_blocks_are_one_range_run_each(
    tmp_path: Path, ending: bytes, name: str
) -> None:
    """A clean file of GUIDs (LF or CRLF, plain or gz) comes as one run per read block, its
    offsets a range; the runs stand for exactly the records."""
    ids = guids(20_000)
    path = write(tmp_path / name, b"".join(i.encode() + ending for i in ids))
    grouped = runs(path)
    assert len(grouped) > 1  # several blocks
    assert all(isinstance(run, Run) and isinstance(run.offsets, range) for run in grouped)
    assert sum(len(run.values) for run in grouped if isinstance(run, Run)) == len(ids)
    assert expand(grouped) == read(path)
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
    assert expand([run]) == read(path)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_last_line_without_newline(tmp_path: Path, ending: bytes) -> None:
    """The last line counts without a newline (the read blocks hand it over on its own)."""
    path = write(tmp_path / "ids.txt", ending.join([b"aa", b"bb", b"cc", b"ddddddd"]))
    grouped = runs(path)
    assert expand(grouped) == read(path)
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
    (the reader only makes such blocks of one line, but block_runs does not rely on it)."""
    assert list(block_runs(chunk, 10, 5)) == [Run(values, offsets, 5)]


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
    assert expand(grouped) == read(path)
    assert [(i.line, i.reason) for i in grouped if isinstance(i, InvalidLine)] == expected


def test_bom_whitespace_and_blank_lines_keep_lines_and_offsets(tmp_path: Path) -> None:
    """A BOM at the start shifts offsets by 3; a blank line ends a run (line numbers skip)."""
    path = write(tmp_path / "ids.txt", BOM + b"a\nb\n\n c \nd\n")
    assert runs(path) == [Run(["a", "b"], [3, 5], 1), Run(["c", "d"], [8, 12], 4)]
    assert expand(runs(path)) == read(path)


def test_huge_line_is_one_invalid_line(tmp_path: Path) -> None:
    """A line beyond MAX_LINE_BYTES is skipped in blocks and reported once, as by records."""
    data = b"a\n" + b"x" * 3_000_000 + b"\nb\n"
    path = write(tmp_path / "ids.txt", data)
    assert runs(path) == [
        Run(["a"], range(0, 2, 2), 1),
        InvalidLine(2, REASON_TOO_LONG),
        Run(["b"], range(len(data) - 2, len(data), 2), 3),
    ]


def test_batches_over_runs_point_into_the_file(tmp_path: Path) -> None:
    """End to end on a clean file: batch offsets and lines are where each batch's ID is."""
    ids = guids(1000)
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
    lines = [i.encode() for i in guids(100)]
    lines[0] = b" "  # blank once trimmed: no item at all
    lines[50] = b"a\x01b"
    lines[51] = b"y" * (MAX_ID_LENGTH + 1)
    lines[99] = b""
    lines[70] = b"  " + lines[70] + b"\t"  # padded: still good
    path = write(tmp_path / "ids.txt", b"".join(line + ending for line in lines))
    grouped = runs(path)
    assert expand(grouped) == read(path)
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
        out.write(b"".join(i.encode() + b"\n" for i in guids(250_000)))
    tracemalloc.start()
    try:
        summary = summarize(read_runs(path, "lines", column=None, id_type="guid"), 100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (summary.ids_total, summary.lines_invalid) == (250_001, 1)
    assert peak < 8 << 20
