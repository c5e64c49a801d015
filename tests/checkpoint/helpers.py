"""Builders shared by the checkpoint tests: a binding, a state, an opened store."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bulkdelete.checkpoint import Binding, CheckpointStore, Progress, State, Totals
from bulkdelete.checkpoint.journal import apply

_JOURNAL = re.compile(r"^journal\.(\d+)$")


def done_record(seq: int, offset: int, line: int, deleted: int, failed: int,
                reasons: dict[str, int] | None) -> dict[str, Any]:
    """A finished batch's record, as the Ledger journals it."""
    record: dict[str, Any] = {"k": "d", "s": seq, "o": offset, "l": line, "n": deleted,
                              "f": failed}
    return {**record, "r": reasons} if reasons else record


def make_binding(**changes: Any) -> Binding:
    base = Binding(
        fingerprint="sha256:abc123", format="lines", column=None, batch_size=100,
        id_type="guid", account_id="ACC-1", host="api.clevertap.com",
    )
    return replace(base, **changes)


def make_state(batches_total: int = 10, ids_total: int = 1000) -> State:
    return State(
        binding=make_binding(),
        totals=Totals(ids_total=ids_total, lines_invalid=2, batches_total=batches_total,
                      invalid_samples=[(3, "empty value"), (9, "control character")]),
        input="/data/ids.txt", resume_command="bulkdelete delete /data/ids.txt --id-type guid",
        updated="2024-01-01T00:00:00Z",
    )


def mark_done(
    p: Progress, seq: int, offset: int, line: int, deleted: int, failed: int,
    reasons: dict[str, int] | None = None,
) -> bool:
    """Record batch ``seq`` done in memory only; False if it already was."""
    return apply(p, done_record(seq, offset, line, deleted, failed, reasons))


def mark_sent(p: Progress, seq: int) -> bool:
    return apply(p, {"k": "s", "s": seq})


def journals(directory: Path) -> list[Path]:
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := _JOURNAL.match(p.name))]
    return [p for _, p in sorted(found)]


def offset_of(seq: int) -> int:
    return seq * 1_000


def line_of(seq: int) -> int:
    return seq * 10 + 1


@contextmanager
def opened_store(directory: Path) -> Iterator[CheckpointStore]:
    store = CheckpointStore(directory)
    store.lock()
    try:
        yield store
    finally:
        store.close()


def load(directory: Path) -> State:
    """A fresh process's view: a new store, locked, loaded."""
    with opened_store(directory) as store:
        return store.load()


def new_job(directory: Path, done: int = 3) -> None:
    """A job with batches 0..done-1 journaled as done, then the process dies."""
    with opened_store(directory) as store:
        store.create(make_state())
        for seq in range(done):
            store.append({"k": "s", "s": seq})
            store.append(done_record(seq, offset_of(seq), line_of(seq), 100, 0, None))


def nearly_full_disk(monkeypatch: pytest.MonkeyPatch, allow: int) -> None:
    """os.write as a nearly full disk does it: ``allow`` more bytes land (the last write
    short), then ENOSPC."""
    real = os.write
    left = [allow]

    def write(fd: int, data: bytes | memoryview) -> int:
        if left[0] <= 0:
            raise OSError(28, "No space left on device")
        n = real(fd, bytes(data)[: left[0]])
        left[0] -= n
        return n

    monkeypatch.setattr(os, "write", write)
