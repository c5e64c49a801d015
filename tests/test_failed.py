"""The failed file (the nothing-lost guarantee): every failed ID on a line of its own, in
the one file bound to the job, whatever a full disk or a crash left behind."""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bulkdelete.checkpoint import CheckpointStore
from bulkdelete.failed import FailedFile, reasons_path
from tests.conftest import (
    ACCOUNT,
    PASSCODE,
    assert_nothing_lost,
    make_ids,
    read_lines,
    write_ids,
)
from tests.e2e.conftest import ckpt_dir, cli, delete_args, serve_in_thread

FAILURE = ("HTTP 400 rejected", '{"status":"fail"}')


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Credentials by environment, as an operator sets them; main() configures structlog
    process-wide, so it is reset afterwards."""
    monkeypatch.setenv("CLEVERTAP_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLEVERTAP_PASSCODE", PASSCODE)
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _add(failed: FailedFile, *ids: str) -> None:
    failed._write([(i, *FAILURE) for i in ids])


def test_a_torn_last_line_is_cut_back_before_the_resume_appends(tmp_path: Path) -> None:
    """A crash or a full disk left half an ID (and half a reason) at the end: opening the
    files for a resume drops it, so the next ID starts a line of its own."""
    path = tmp_path / "failed.txt"
    path.write_bytes(b"u-1\nu-2\nu-3-ha")
    reasons_path(path).write_bytes(b'{"id": "u-1", "reason": "r", "detail": ""}\n{"id": "u')
    failed = FailedFile(path)
    _add(failed, "u-4")
    failed.close()
    assert read_lines(path) == ["u-1", "u-2", "u-4"]
    reasons = [json.loads(line) for line in read_lines(reasons_path(path))]
    assert [r["id"] for r in reasons] == ["u-1", "u-4"]


def test_a_short_write_is_a_failure_and_takes_back_its_half_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills mid-write: the write raises (the batch stays unrecorded), what it
    added is cut away, and a later append after freeing space lands on whole lines."""
    path = tmp_path / "failed.txt"
    failed = FailedFile(path)
    _add(failed, "u-1")
    real = os.write
    calls = []

    def nearly_full(fd: int, data: bytes | memoryview) -> int:
        calls.append(fd)
        if len(calls) == 1:
            return real(fd, bytes(data)[:5])  # half of "u-2\nu-3\n"
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", nearly_full)
    with pytest.raises(OSError, match="No space left") as info:
        _add(failed, "u-2", "u-3")
    monkeypatch.undo()
    assert path.read_bytes() == b"u-1\n"
    assert "failed file" in str(info.value)
    _add(failed, "u-4")
    failed.close()
    assert read_lines(path) == ["u-1", "u-4"]
    assert [json.loads(x)["id"] for x in read_lines(reasons_path(path))] == ["u-1", "u-4"]


def test_a_failed_file_that_cannot_be_opened_is_one_clear_error(tmp_path: Path) -> None:
    """A --failed path whose folder is a file: a checkpoint-class error naming the path."""
    (tmp_path / "blocker").write_text("")
    with pytest.raises(OSError, match="cannot open the failed file"):
        FailedFile(tmp_path / "blocker" / "failed.txt")


@pytest.mark.usefixtures("creds")
def test_a_different_failed_path_on_resume_is_refused_naming_the_old(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The failed file is bound to the job: a canary with --failed A.txt, then a resume
    with --failed B.txt is refused (exit 2, naming A.txt, nothing sent); the resume with
    A.txt finishes, and every failed ID of the job is in A.txt."""
    ids = make_ids(1_000)
    poison = {ids[5], ids[150], ids[920]}
    source = write_ids(tmp_path / "ids.txt", ids)
    first, second = tmp_path / "A.txt", tmp_path / "B.txt"
    with serve_in_thread(poison_ids=frozenset(poison)) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        code, _, err = cli(capsys, *delete_args(source, "--failed", str(first),
                                                  "--limit", "500"))
        assert code == 1, err
        requests = srv.stats.requests
        code, _, err = cli(capsys, *delete_args(source, "--failed", str(second)))
        assert code == 2, err
        assert str(first) in err
        assert "nothing was sent" in err
        assert "Traceback" not in err
        assert srv.stats.requests == requests  # refused before anything was sent
        assert not second.exists()
        code, _, err = cli(capsys, *delete_args(source, "--failed", str(first)))
        assert code == 1, err
        failed = assert_nothing_lost(ids, srv, first)
    assert failed == poison
    assert f"failed IDs: {first}" in err


@pytest.mark.usefixtures("creds")
def test_a_checkpoint_without_a_bound_failed_file_takes_the_one_it_resumes_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A checkpoint written before the failed file was bound has no path: the resume is
    accepted and binds the path it runs with, so the next different one is refused."""
    ids = make_ids(600)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(poison_ids=frozenset({ids[1]})) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        code, _, err = cli(capsys, *delete_args(source, "--limit", "200"))
        assert code == 1, err
        store = CheckpointStore(ckpt_dir(source))
        store.lock()
        state = store.load()
        state.failed = ""  # as an older checkpoint has it
        store.finish(state)
        store.close()
        other = tmp_path / "other.txt"
        code, _, err = cli(capsys, *delete_args(source, "--failed", str(other),
                                                  "--limit", "200"))
        assert code == 1, err  # accepted and bound (1: the job has a failed ID)
        code, _, err = cli(capsys, *delete_args(source))
        assert code == 2, err
        assert str(other) in err
        code, _, err = cli(capsys, *delete_args(source, "--failed", str(other)))
        assert code == 1, err
        lost_check = set(read_lines(ckpt_dir(source) / "failed.txt")) | set(read_lines(other))
        assert not [i for i in ids if srv.stats.acknowledged[i] == 0 and i not in lost_check]


def test_close_waits_for_a_write_in_progress_and_later_writes_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write a cancelled task left running in its thread finishes before close() closes
    the files (its descriptor numbers could otherwise be reused under it); a write after
    close() raises instead of touching a closed descriptor."""
    path = tmp_path / "failed.txt"
    failed = FailedFile(path)
    real = os.fsync
    writing, release = threading.Event(), threading.Event()

    def slow_fsync(fd: int) -> None:
        writing.set()
        release.wait(5)
        real(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    writer = threading.Thread(target=_add, args=(failed, "u-1"))
    writer.start()
    assert writing.wait(5)
    closer = threading.Thread(target=failed.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # waits for the write
    release.set()
    writer.join(5)
    closer.join(5)
    assert read_lines(path) == ["u-1"]
    with pytest.raises(OSError, match="closed"):
        _add(failed, "u-2")


@pytest.mark.usefixtures("creds")
def test_a_checkpoint_folder_copied_whole_resumes_with_the_failed_file_inside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed file inside the checkpoint folder is bound relative to it: the folder
    copied elsewhere resumes from the copy, and the copy's failed file holds every
    failed ID of the job."""
    ids = make_ids(1_000)
    poison = {ids[5], ids[920]}
    source = write_ids(tmp_path / "ids.txt", ids)
    first, second = tmp_path / "first.ckpt", tmp_path / "second.ckpt"
    with serve_in_thread(poison_ids=frozenset(poison)) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        code, _, err = cli(capsys, *delete_args(source, "--checkpoint", str(first),
                                                  "--limit", "500"))
        assert code == 1, err
        shutil.copytree(first, second)
        code, _, err = cli(capsys, *delete_args(source, "--checkpoint", str(second)))
        assert code == 1, err
        failed = assert_nothing_lost(ids, srv, second / "failed.txt")
    assert failed == poison
