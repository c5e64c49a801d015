"""What the reader yields: fast-built records are plain Records, grouped runs are capped."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkdelete.reader import (
    InputFormat,
    Record,
    Run,
)
from bulkdelete.reader import items as reader_items
from tests.reader.support import (
    expand,
    read,
    runs,
    write,
)


@pytest.mark.parametrize(
    ("name", "fmt", "data"),
    [("ids.txt", "lines", b"abc\n"), ("ids.jsonl", "jsonl", b'{"guid": "abc"}\n')],
)
def test_fast_built_records_are_plain_records(
    tmp_path: Path, name: str, fmt: InputFormat, data: bytes
) -> None:
    """Records built by the fast path are ordinary, equal, hashable, frozen Records."""
    (item,) = read(write(tmp_path / name, data), fmt)
    assert type(item) is Record
    assert item == Record("abc", 1, 0)
    assert hash(item) == hash(Record("abc", 1, 0))
    with pytest.raises(AttributeError):
        item.value = "x"  # type: ignore[misc]


def test_grouped_runs_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV and JSON Lines runs hold at most _RUN_MAX_IDS IDs (their memory stays bounded)."""
    monkeypatch.setattr(reader_items, "RUN_MAX_IDS", 4)
    path = write(tmp_path / "ids.jsonl", b"".join(b'{"guid": "%d"}\n' % n for n in range(10)))
    grouped = runs(path, "jsonl")
    assert [len(run.values) for run in grouped if isinstance(run, Run)] == [4, 4, 2]
    assert expand(grouped) == read(path, "jsonl")
