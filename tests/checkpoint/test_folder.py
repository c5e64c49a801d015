"""The checkpoint's folder (docs/guarantees.md, "Nobody else's files"): one that cannot be
created, is swapped or removed mid-run, or that another user owns or others can write."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

from bulkdelete.checkpoint import (
    CheckpointStore,
)
from bulkdelete.errors import (
    CheckpointError,
    StorageError,
)
from tests.checkpoint.helpers import (
    load,
    make_state,
)


def test_a_folder_that_could_not_be_created_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    """Checked before the confirmation, so the operator hears it before saying yes; a
    folder that can be created is left uncreated."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for where in (blocker, blocker / "below"):
        with pytest.raises(CheckpointError, match="is not a directory"):
            CheckpointStore(where).check_creatable()
    fine = tmp_path / "new" / "deeper"
    CheckpointStore(fine).check_creatable()
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_folder_swapped_mid_run_stops_the_writes_and_says_where_the_job_is(
    tmp_path: Path,
) -> None:
    """``mv cp cp.moved; mkdir cp`` while a run holds cp: the next snapshot or journal is
    refused (a StorageError naming both folders), nothing is written into the new folder,
    and the moved folder still holds the job, which loads."""
    directory, moved = tmp_path / "cp", tmp_path / "cp.moved"
    store = CheckpointStore(directory)
    store.lock()
    try:
        store.create(make_state())
        store.append({"k": "s", "s": 0})
        directory.rename(moved)
        directory.mkdir()
        assert not store.same_folder()
        assert store.moved_to() == moved
        with pytest.raises(StorageError, match="was replaced by another folder") as caught:
            store.snapshot(*store.prepare_snapshot(make_state()))
        assert str(moved) in str(caught.value)
        with pytest.raises(StorageError, match="was replaced"):
            # the writer is broken: nothing goes on unrecorded
            store.append({"k": "s", "s": 1})
        with pytest.raises(StorageError, match="was replaced"):
            store.snapshot(*store.prepare_snapshot(make_state()))
    finally:
        with contextlib.suppress(StorageError):
            store.close()
    assert list(directory.iterdir()) == []
    assert load(moved).totals.ids_total == 1000


def test_a_folder_removed_mid_run_is_said_removed(tmp_path: Path) -> None:
    directory = tmp_path / "cp"
    store = CheckpointStore(directory)
    store.lock()
    try:
        store.create(make_state())
        shutil.rmtree(directory)
        assert store.moved_to() is None
        with pytest.raises(StorageError, match=f"{directory} was removed"):
            store.snapshot(*store.prepare_snapshot(make_state()))
    finally:
        with contextlib.suppress(StorageError):
            store.close()


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_a_checkpoint_folder_others_can_write_is_refused(tmp_path: Path, mode: int) -> None:
    directory = tmp_path / "cp"
    directory.mkdir()
    directory.chmod(mode)
    with pytest.raises(CheckpointError, match="others can write"):
        CheckpointStore(directory).lock()
    assert list(directory.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown to another user")
def test_a_checkpoint_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "cp"
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65534)
    with pytest.raises(CheckpointError, match="another user"):
        CheckpointStore(directory).lock()
    assert list(directory.iterdir()) == []
