"""The input watch (docs/guarantees.md §0): a read of the input never hands out a block
read after the file changed, for the pre-count and the send pass, plain or gzip; and the
run never sends more IDs than it pre-counted."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import cast

import pytest

from bulkdelete.batcher import make_batches
from bulkdelete.errors import InputChanged, InputError
from bulkdelete.reader import Input, InputFormat, Record, source
from bulkdelete.reader.guard import Watch

LINES = 20_000


def _ids(prefix: str = "id") -> bytes:
    return "".join(f"{prefix}-{n:08d}\n" for n in range(LINES)).encode()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize(("name", "fmt"), [("ids.txt", "lines"), ("ids.txt.gz", "lines"),
                                           ("ids.csv", "csv"), ("ids.jsonl", "jsonl")])
@pytest.mark.parametrize("change", ["append", "rewrite", "replace", "remove"])
def test_a_change_stops_the_read_before_the_next_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, fmt: InputFormat, change: str
) -> None:
    """Whatever the change, the first block read after it raises InputChanged; every ID
    handed out before is the original file's."""
    monkeypatch.setattr(source, "_BLOCK_SIZE", 4096)
    if fmt == "csv":
        data = b"guid\n" + _ids()
    elif fmt == "jsonl":
        data = b"".join(b'{"guid": "%s"}\n' % line for line in _ids().split())
    else:
        data = _ids()
    path = _write(tmp_path / name, data)
    original = set(_ids().decode().split())
    watch = Watch.start(path)
    items = Input(path, fmt, "guid", watch=watch).records()
    seen = [item.value for item in [next(items), next(items)] if isinstance(item, Record)]
    other = _ids("xx")
    if change == "append":
        with path.open("ab") as file:
            file.write(other)
    elif change == "rewrite":
        _write(path, data.replace(b"id-", b"xx-"))
    elif change == "replace":
        _write(tmp_path / "other", data.replace(b"id-", b"xx-"))
        os.replace(tmp_path / "other", path)
    else:
        path.unlink()

    def drain() -> None:
        for item in items:
            if isinstance(item, Record):
                seen.append(item.value)

    with pytest.raises(InputChanged, match="input changed during the run"):
        drain()
    assert seen
    assert set(seen) <= original


def test_pre_count_is_watched_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pre-count reads under the same watch: a file changed since the run started is
    not counted."""
    path = _write(tmp_path / "ids.txt", _ids())
    watch = Watch.start(path)
    with path.open("ab") as file:
        file.write(b"late\n")
    with pytest.raises(InputChanged):
        list(Input(path, "lines", "guid", watch=watch).records())


def test_an_unchanged_file_reads_whole_under_the_watch(tmp_path: Path) -> None:
    """The watch never fires on a file left alone."""
    path = _write(tmp_path / "ids.txt.gz", _ids())
    items = Input(path, "lines", "guid", watch=Watch.start(path)).records()
    assert sum(isinstance(item, Record) for item in items) == LINES


def test_never_more_ids_than_the_pre_count(tmp_path: Path) -> None:
    """A batch that would take the job past the pre-counted IDs is never handed out; the
    ones within it are."""
    items = Input(_write(tmp_path / "ids.txt", _ids()), "lines", "guid").records()
    batches = make_batches(items, 100, counted=(250, tmp_path / "ids.txt"))
    assert [len(next(batches).ids) for _ in range(2)] == [100, 100]
    with pytest.raises(InputChanged, match="more IDs than the 250 counted"):
        next(batches)
    exact = make_batches([Record("a", 1, 0), Record("b", 2, 2)], 100,
                         counted=(2, tmp_path / "ids.txt"))
    assert [b.ids for b in exact] == [["a", "b"]]


def test_start_on_a_missing_file_says_so(tmp_path: Path) -> None:
    """The watch cannot start on a file that is not there: one clear line, no traceback."""
    with pytest.raises(InputError, match="cannot read input file"):
        Watch.start(tmp_path / "gone.txt")


def test_gz_cut_short_by_a_change_is_reported_as_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .gz truncated mid-run: the run says the input changed (the real cause), not that
    the file is not gzip."""
    monkeypatch.setattr(source, "_BLOCK_SIZE", 4096)
    path = _write(tmp_path / "ids.txt.gz", os.urandom(1 << 19).hex().encode() + b"\n" + _ids())
    items = Input(path, "lines", "guid", watch=Watch.start(path)).records()
    next(items)
    with path.open("r+b") as file:
        file.truncate(1000)  # behind the read position: the next raw read ends
    with pytest.raises(InputChanged):
        list(items)


def test_a_decompression_error_on_a_changed_file_is_reported_as_the_change(
    tmp_path: Path
) -> None:
    """A read that fails to decompress because the file changed under it (the change landed
    between two reads) names the change, the real cause, rather than a corrupt archive."""
    path = _write(tmp_path / "ids.txt.gz", b"a\n")
    fd = os.open(path, os.O_RDONLY)

    class Cut:
        """A .gz stream whose compressed file ended early, as a truncated file's does."""

        def read(self, size: int = -1, /) -> bytes:
            raise EOFError("Compressed file ended before the end-of-stream marker")

        def seek(self, offset: int, whence: int = 0, /) -> int:
            return 0

        def close(self) -> None:
            os.close(fd)

        def fileno(self) -> int:
            return fd

    watch = Watch.start(path)
    stream = cast(source.Stream, Cut())
    try:
        with pytest.raises(InputError, match="not valid gzip"):
            source.Blocks(stream, path, 0, watch=watch)
        path.write_bytes(b"changed")
        with pytest.raises(InputChanged):
            source.Blocks(stream, path, 0, watch=watch)
    finally:
        stream.close()
