"""One ID per line: every bad-input case (docs/guarantees.md §7), and the same records
whatever the read blocks, resumed from anywhere (§3)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from bulkdelete.batcher import Batch, make_batches, summarize
from bulkdelete.reader import Input, rule, source
from bulkdelete.reader.rule import MAX_ID_LENGTH, REASON_CONTROL, REASON_TOO_LONG, REASON_UTF8
from tests.reader.support import (
    BOM,
    SECRET,
    assert_offsets,
    assert_private,
    assert_resumable,
    guids,
    invalid,
    read,
    records,
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
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=lines_content(), block=BLOCKS, size=SIZES)
def test_lines_whatever_the_blocks_a_resume_is_the_tail(
    tmp_path: Path, compressed: bool, content: bytes, block: int, size: int
) -> None:
    """For any content, where the read blocks end changes nothing, and reading from any
    batch's or record's (offset, line) yields exactly the full read from there on."""
    path = write(tmp_path / f"ids.txt{'.gz' if compressed else ''}", content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rule, "MAX_ID_LENGTH", ID_LIMIT)
        patch.setattr(source, "MAX_LINE_BYTES", LINE_LIMIT)
        whole = read(path)
        patch.setattr(source, "_BLOCK_SIZE", block)
        assert read(path) == whole
        assert_resumable(path, "lines", size)


@pytest.mark.parametrize(("ending", "name"), [(b"\n", "ids.txt"), (b"\r\n", "ids.txt.gz")])
def test_a_file_of_guids_reads_every_id_with_its_line_and_offset(
    tmp_path: Path, ending: bytes, name: str
) -> None:
    """A clean file of GUIDs (LF or CRLF, plain or gz) over several read blocks."""
    ids = guids(20_000)
    path = write(tmp_path / name, b"".join(i.encode() + ending for i in ids))
    stride = 32 + len(ending)
    assert records(read(path)) == [(i, n + 1, n * stride) for n, i in enumerate(ids)]


def test_variable_width_offsets(tmp_path: Path) -> None:
    """Varying lengths, up to MAX_ID_LENGTH exactly: each offset is its line's start."""
    ids = ["a", "bb", "user@example.com", "x" * MAX_ID_LENGTH, "+4915112345678", "c"]
    path = write(tmp_path / "ids.txt", "\n".join(ids).encode() + b"\n")
    offsets = [0, 2, 5, 22, 22 + MAX_ID_LENGTH + 1, 22 + MAX_ID_LENGTH + 16]
    assert records(read(path)) == list(zip(ids, range(1, 7), offsets, strict=True))


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_last_line_without_newline(tmp_path: Path, ending: bytes) -> None:
    """The last line counts without a newline, longer than the others or not."""
    path = write(tmp_path / "ids.txt", ending.join([b"aa", b"bb", b"cc", b"ddddddd"]))
    step = 2 + len(ending)
    assert records(read(path)) == [("aa", 1, 0), ("bb", 2, step), ("cc", 3, 2 * step),
                                   ("ddddddd", 4, 3 * step)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a\n" + b"y" * (MAX_ID_LENGTH + 1) + b"\nb\n", [(2, REASON_TOO_LONG)]),
        (b"aa\nb\x7fb\ncc\n", [(2, REASON_CONTROL)]),
        (b"aa\n\ncc\n", []),
    ],
)
def test_one_char_too_many_del_and_a_blank_line(
    tmp_path: Path, data: bytes, expected: list[tuple[int, str]]
) -> None:
    """One character too many and DEL are invalid, by line; a blank line is skipped."""
    assert invalid(read(write(tmp_path / "ids.txt", data))) == expected


def test_bom_whitespace_and_blank_lines_keep_lines_and_offsets(tmp_path: Path) -> None:
    """A BOM at the start shifts offsets by 3; a blank line keeps its line number."""
    path = write(tmp_path / "ids.txt", BOM + b"a\nb\n\n c \nd\n")
    assert records(read(path)) == [("a", 1, 3), ("b", 2, 5), ("c", 4, 8), ("d", 5, 12)]


def test_batches_point_into_the_file(tmp_path: Path) -> None:
    """End to end on a clean file: batch offsets and lines are where each batch's ID is."""
    ids = guids(1000)
    data = b"".join(i.encode() + b"\n" for i in ids)
    path = write(tmp_path / "ids.txt", data)
    batches = list(make_batches(read(path), 100))
    assert len(batches) == 10
    for seq, batch in enumerate(batches):
        assert batch == Batch(seq, seq * 100 * 33, seq * 100 + 1, ids[seq * 100 : seq * 100 + 100])
        assert data[batch.offset : batch.offset + 32].decode() == batch.ids[0]


def test_memory_stays_bounded(tmp_path: Path) -> None:
    """A 16 MB line and 150,000 IDs (over 8 MiB as strings) are read in a few MiB."""
    path = tmp_path / "ids.txt"
    with path.open("wb") as out:
        out.write(b"a\n" + b"y" * (16 << 20) + b"\n")
        out.write(b"".join(i.encode() + b"\n" for i in guids(150_000)))
    tracemalloc.start()
    try:
        summary = summarize(Input(path, "lines", "guid").records(), 100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (summary.ids_total, summary.lines_invalid) == (150_001, 1)
    assert peak < 8 << 20
