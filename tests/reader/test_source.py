"""Opening the input: refused kinds of file, missing files, over-long lines in constant memory,
and files closed when a reader is abandoned."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from bulkdelete.errors import InputError
from bulkdelete.reader import Input, InputFormat, InvalidLine, Record, check_input_path
from bulkdelete.reader.source import MAX_LINE_BYTES
from tests.reader.support import (
    SECRET,
    read,
    values,
    write,
)


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_check_input_path_refuses_stdin(name: str) -> None:
    """stdin is refused with the reason: a pipe cannot be resumed."""
    with pytest.raises(InputError, match="a pipe cannot be resumed; save the IDs to a file"):
        check_input_path(Path(name))


def test_check_input_path_refuses_fifo_without_blocking(tmp_path: Path) -> None:
    """A FIFO is refused like stdin, and checking it does not wait for a writer."""
    fifo = tmp_path / "ids.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="a pipe cannot be resumed"):
        check_input_path(fifo)


def test_check_input_path_refuses_missing_file(tmp_path: Path) -> None:
    """A missing file says so and names the path."""
    with pytest.raises(InputError, match=r"not found: .*nope\.txt; check the path"):
        check_input_path(tmp_path / "nope.txt")


def test_check_input_path_refuses_directory(tmp_path: Path) -> None:
    """A directory is refused with the hint to pass the file."""
    with pytest.raises(InputError, match="is a directory; pass the file of IDs"):
        check_input_path(tmp_path)


def test_check_input_path_refuses_device() -> None:
    """A character device is not a regular file."""
    with pytest.raises(InputError, match="not a regular file"):
        check_input_path(Path("/dev/null"))


def test_check_input_path_refuses_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that cannot be opened for reading is refused with the permission problem.

    (The open is faked: the tests may run as root, who can read anything.)
    """
    path = write(tmp_path / "ids.txt", b"a\n")

    def deny(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(InputError, match="permission denied; check its permissions"):
        check_input_path(path)


def test_check_input_path_accepts_regular_and_empty_gz(tmp_path: Path) -> None:
    """A regular file passes, and so does an empty .gz (an empty input)."""
    check_input_path(write(tmp_path / "ids.txt", b"a\n"))
    check_input_path(write(tmp_path / "ids.txt.gz", b"a\n"))
    (tmp_path / "empty.gz").write_bytes(b"")
    check_input_path(tmp_path / "empty.gz")


def test_check_input_path_refuses_gz_that_is_not_gzip(tmp_path: Path) -> None:
    """A .gz holding plain text is caught before the job starts, without quoting it."""
    path = tmp_path / "ids.txt.gz"
    path.write_bytes(f"{SECRET}\n".encode())
    with pytest.raises(InputError, match="not valid gzip") as caught:
        check_input_path(path)
    assert SECRET[:2] not in str(caught.value).split(str(path))[1]


def test_read_records_missing_file_and_directory_raise_input_error(tmp_path: Path) -> None:
    """The reader itself also turns a missing file or a directory into InputError."""
    with pytest.raises(InputError, match="not found"):
        read(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="directory"):
        read(tmp_path)


def test_lines_huge_line_is_read_in_constant_memory(tmp_path: Path) -> None:
    """A 32 MB line never sits in memory: peak allocation stays a few MiB."""
    path = tmp_path / "ids.txt"
    with path.open("wb") as out:
        out.write(b"a\n")
        for _ in range(32):
            out.write(b"y" * (1 << 20))
        out.write(b"\nb\n")
    tracemalloc.start()
    try:
        items = read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert values(items) == ["a", "b"]
    assert peak < 8 << 20


def test_lines_reader_closes_file_when_abandoned(tmp_path: Path) -> None:
    """Stopping early and closing the iterator closes the file (no ResourceWarning)."""
    path = write(tmp_path / "ids.txt.gz", b"a\nb\nc\n")
    items = Input(path, "lines", "guid").records()
    assert next(items) == Record("a", 1, 0)
    items.close()


@pytest.mark.parametrize("fmt", ["lines", "jsonl"])
@pytest.mark.parametrize("at_end", [False, True], ids=["newline", "end-of-file"])
def test_a_skipped_line_keeps_its_first_characters_for_invalid_jsonl(
    tmp_path: Path, fmt: InputFormat, at_end: bool
) -> None:
    """A line over MAX_LINE_BYTES is skipped unread, but its first 512 characters stay
    known, whatever the read blocks: what invalid.jsonl lists for it."""
    long = "é" + "z" * (MAX_LINE_BYTES + 10)
    data = f"ok-1\n{long}".encode() + (b"" if at_end else b"\nok-2\n")
    path = write(tmp_path / "ids.txt", data)
    items = Input(path, fmt, "guid").records()
    bad = [item for item in items if isinstance(item, InvalidLine)]
    assert [item.value for item in bad if item.line == 2] == [long[:512]]
