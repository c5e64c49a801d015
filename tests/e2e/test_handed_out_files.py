"""Files the tool hands out stay as handed out (docs/cli.md, "Refused output paths"): a
still-present list, verify.json, another job's checkpoint folder and a file another run
holds are never an output of a later run; and a link someone else planted never leads a
run's files elsewhere. Each refusal is exit 2 with one error line, nothing sent, the file
untouched."""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import os
from pathlib import Path

import pytest

from bulkdelete import durable
from bulkdelete.fake import FakeServer
from tests.conftest import delete_args, make_ids, write_ids
from tests.e2e.support import assert_one_error_line, ckpt_dir, cli

pytestmark = pytest.mark.usefixtures("reset_logging")

OTHER_UID = 65534  # nobody
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown to another user")
LIST = "still_present-20261206T031500Z.txt"


def _finished_job(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    """Job A, finished, with a still-present list a verify handed out in its folder."""
    source = write_ids(tmp_path / "a.txt", make_ids(20, "a"))
    code, _out, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    (ckpt_dir(source) / LIST).write_text("a-00000003\n")
    (ckpt_dir(source) / "verify.json").write_text("{}\n")
    return source


def _comes_back(server: FakeServer) -> None:
    """One of job A's deleted users logs in again: a verify finds it present."""
    server.reconfigure(dataclasses.replace(server.config, recreated_ids=frozenset({"a-00000004"})))


def _refused(capsys: pytest.CaptureFixture[str], server: FakeServer, source: Path,
             target: Path, *extra: str) -> str:
    before = target.read_bytes()
    requests = server.stats.requests
    code, out, err = cli(capsys, *delete_args(source, *extra))
    line = assert_one_error_line(code, out, err, str(target))
    assert server.stats.requests == requests
    assert target.read_bytes() == before
    return line


@pytest.mark.parametrize("flag", ["--log-file", "--report"])
@pytest.mark.parametrize("name", [LIST, "verify.json"])
def test_a_list_verify_handed_out_is_never_an_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer, flag: str,
    name: str,
) -> None:
    """``--log-file a.txt.bulkdelete/still_present-….txt`` appended log lines to the list
    the operator was told to feed to a new job (whose --restart would then send them as
    IDs); ``--report`` replaced it whole. Neither the job's own run nor another job may
    write it."""
    job_a = _finished_job(capsys, tmp_path)
    target = ckpt_dir(job_a) / name
    line = _refused(capsys, server, job_a, target, flag, str(target))
    assert "handed out" in line
    job_b = write_ids(tmp_path / "b.txt", make_ids(20, "b"))
    _refused(capsys, server, job_b, target, flag, str(target))
    assert not ckpt_dir(job_b).exists()


@pytest.mark.parametrize("flag", ["--log-file", "--report"])
@pytest.mark.parametrize("name", ["state.json", "failed.txt", "verify/state.json"])
def test_another_jobs_checkpoint_folder_is_never_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer, flag: str,
    name: str,
) -> None:
    """Job B's ``--report a.txt.bulkdelete/state.json`` replaced job A's checkpoint with a
    report (A then refused as damaged); ``--report …/failed.txt`` replaced A's failed list.
    An output inside another job's checkpoint folder is refused."""
    job_a = _finished_job(capsys, tmp_path)
    (ckpt_dir(job_a) / "verify").mkdir(mode=0o700)
    (ckpt_dir(job_a) / "verify" / "state.json").write_text("{}\n")
    (ckpt_dir(job_a) / "verify" / "lock").write_text("")
    (ckpt_dir(job_a) / "failed.txt").write_text("a-00000001\n")
    target = ckpt_dir(job_a) / name
    job_b = write_ids(tmp_path / "b.txt", make_ids(20, "b"))
    line = _refused(capsys, server, job_b, target, flag, str(target))
    assert "another job's checkpoint folder" in line


def test_a_folder_with_a_file_named_lock_is_anybodys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer,
) -> None:
    """Only a lock beside a state (or an invalid-line list) makes a checkpoint folder: a
    project folder that happens to hold a file named "lock" takes a report."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "lock").write_text("")
    (project / "notes.json").write_text("{}\n")
    source = write_ids(tmp_path / "b.txt", make_ids(20, "b"))
    code, _out, err = cli(capsys, *delete_args(source, "--report", str(project / "r.json")))
    assert code == 0, err
    assert (project / "r.json").exists()


@pytest.mark.parametrize("flag", ["--log-file", "--report"])
def test_a_file_another_run_holds_is_never_an_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer, flag: str,
) -> None:
    """A failed file another job's run holds (its lock) took a report over it, or log lines
    in its list of IDs: refused, like a ``--failed`` pointed at it."""
    held = write_ids(tmp_path / "shared-failed.txt", ["x-1"])
    fd = os.open(held, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        source = write_ids(tmp_path / "b.txt", make_ids(20, "b"))
        line = _refused(capsys, server, source, held, flag, str(held))
        assert "held by another run" in line
    finally:
        os.close(fd)


@as_root
@pytest.mark.parametrize("what", ["checkpoint", "output folder"])
def test_a_link_another_user_planted_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer, what: str,
) -> None:
    """In a sticky shared folder (like /tmp) another user plants ``ids.txt.bulkdelete`` (or
    an output's folder) as a link to a folder of the victim's own: the run followed it and
    wrote its checkpoint, failed file and report there. A link along a path the tool
    writes that belongs to another user is refused, as the kernel's protected_symlinks
    would (which is off on some systems)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    source = write_ids(shared / "ids.txt", make_ids(20))
    link = ckpt_dir(source) if what == "checkpoint" else shared / "out"
    link.symlink_to(mine)
    os.chown(link, OTHER_UID, OTHER_UID, follow_symlinks=False)
    extra = [] if what == "checkpoint" else ["--report", str(link / "report.json")]
    code, out, err = cli(capsys, *delete_args(source, *extra))
    line = assert_one_error_line(code, out, err, str(link))
    assert "link" in line
    assert f"uid {OTHER_UID}" in line
    assert server.stats.requests == 0
    assert list(mine.iterdir()) == []


def test_a_failed_file_inside_another_jobs_checkpoint_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer,
) -> None:
    """``--failed a.txt.bulkdelete/b-failed.txt`` put job B's failed IDs in job A's folder,
    where a move or copy of A's folder took them along: refused, nothing created there."""
    job_a = _finished_job(capsys, tmp_path)
    target = ckpt_dir(job_a) / "b-failed.txt"
    job_b = write_ids(tmp_path / "b.txt", make_ids(20, "b"))
    code, out, err = cli(capsys, *delete_args(job_b, "--failed", str(target)))
    assert "another job's checkpoint folder" in assert_one_error_line(code, out, err)
    assert not target.exists()
    assert server.stats.requests == 1  # job A's only


@pytest.mark.parametrize("how", [[], ["--all"]])
def test_a_full_disk_while_verify_writes_its_list_says_what_a_rerun_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer,
    monkeypatch: pytest.MonkeyPatch, how: list[str],
) -> None:
    """ENOSPC as verify installs its still-present list said "progress so far is saved,
    rerun the same command to resume": a sample is drawn anew, and a complete --all checks
    everything again. The one error line names the list and says so; nothing of this
    verify is kept, the list handed out before stays."""
    from bulkdelete.verify import output

    job = _finished_job(capsys, tmp_path)
    _comes_back(server)
    folder = ckpt_dir(job)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    real = durable.write_private_atomic

    def full(path: Path, data: bytes, *, tag: str = "") -> None:
        if path.name.startswith(output.STILL_PRESENT_PREFIX):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data, tag=tag)

    monkeypatch.setattr(output, "write_private_atomic", full)
    code, out, err = cli(capsys, "verify", str(job), "--id-type", "guid", "--no-progress",
                         *how)
    line = assert_one_error_line(code, out, err, "No space left on device", "not kept")
    assert ("every deleted ID again" if how else "a new sample") in line
    assert "resume" not in line
    lists = sorted(p.name for p in folder.glob(output.STILL_PRESENT_PREFIX + "*"))
    assert lists == [LIST]
    for name in (LIST, "verify.json"):
        assert (folder / name).read_bytes() == before[name]


def test_a_full_tmpfs_while_a_sample_verify_writes_its_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer,
) -> None:
    """The same on a real full disk (a tmpfs; skipped where mounting is not permitted): one
    line, exit 2, no temporary left in the folder, nothing of the verify kept."""
    from tests.e2e.test_disk_faults import fill, small_disk

    with small_disk(tmp_path / "disk", "512k") as disk:
        job = _finished_job(capsys, disk)
        _comes_back(server)
        folder = ckpt_dir(job)
        names = sorted(p.name for p in folder.iterdir())
        fill(disk, leave=0)
        code, out, err = cli(capsys, "verify", str(job), "--id-type", "guid", "--no-progress")
        assert "a new sample" in assert_one_error_line(code, out, err, "not kept")
        assert sorted(p.name for p in folder.iterdir()) == names
