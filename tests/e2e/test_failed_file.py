"""The failed file through the command line: bound to the job, refused when a resume names
another, found inside a checkpoint folder copied whole (docs/guarantees.md §1, §2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bulkdelete.checkpoint import CheckpointStore
from tests.conftest import (
    assert_nothing_lost,
    delete_args,
    make_ids,
    read_lines,
    write_ids,
)
from tests.e2e.support import ckpt_dir, cli, serve_in_thread

FAILURE = ("HTTP 400 rejected", '{"status":"fail"}')


@pytest.mark.usefixtures("creds", "reset_logging")
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


@pytest.mark.usefixtures("creds", "reset_logging")
def test_a_checkpoint_without_a_bound_failed_file_takes_the_one_it_resumes_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A checkpoint written before the failed file was bound has no path: the resume is
    accepted and binds the path it runs with, so the next different one is refused, and a
    resume without --failed uses it (the job's own)."""
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
        code, _, err = cli(capsys, *delete_args(source, "--failed", str(tmp_path / "3.txt"),
                                                  "--limit", "200"))
        assert code == 2, err
        assert str(other) in err
        code, _, err = cli(capsys, *delete_args(source))  # no --failed: the job's own
        assert code == 1, err
        assert f"failed IDs: {other}" in err
        lost_check = set(read_lines(ckpt_dir(source) / "failed.txt")) | set(read_lines(other))
        assert not [i for i in ids if srv.stats.acknowledged[i] == 0 and i not in lost_check]


@pytest.mark.usefixtures("creds", "reset_logging")
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


@pytest.mark.usefixtures("creds", "reset_logging")
@pytest.mark.parametrize("how", ["moved away", "emptied"])
def test_a_resume_whose_failed_file_lost_ids_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    """A canary failed 2 IDs; the failed file was then moved away (or emptied). The resume
    created an empty one, finished "2 failed" and printed a retry command for a file
    listing none: 2 IDs neither deleted nor listed. A job whose failed file lists fewer IDs
    than it counts failed is refused (exit 2, nothing sent), naming the file, and status
    warns; once it is back, the job resumes and every failed ID is listed."""
    ids = make_ids(1_000)
    poison = {ids[5], ids[150], ids[920]}
    source = write_ids(tmp_path / "ids.txt", ids)
    failed = ckpt_dir(source) / "failed.txt"
    aside = tmp_path / "aside.txt"
    with serve_in_thread(poison_ids=frozenset(poison)) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        code, _, err = cli(capsys, *delete_args(source, "--limit", "500"))
        assert code == 1, err
        shutil.copyfile(failed, aside)
        if how == "moved away":
            failed.unlink()
        else:
            failed.write_bytes(b"")
        requests = srv.stats.requests
        for args in (delete_args(source), delete_args(source, "--dry-run")):
            code, out, err = cli(capsys, *args)
            assert code == 2, (out, err)
            assert str(failed) in err
            assert "Traceback" not in err
        assert srv.stats.requests == requests
        code, out, err = cli(capsys, "status", str(source))  # read-only, and it says so
        assert code == 0, err
        assert f"warning:    the job counts 2 failed IDs in its failed file {failed}" in out
        shutil.copyfile(aside, failed)
        code, _, err = cli(capsys, *delete_args(source))
        assert code == 1, err
    assert sorted(read_lines(failed)) == sorted(poison)
