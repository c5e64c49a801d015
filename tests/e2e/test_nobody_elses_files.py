"""Nobody else's files (docs/guarantees.md): an output path is never the input nor one of
the checkpoint's own files, never a link, a device or another user's file or folder; a
failed file belongs to one job; a checkpoint folder swapped mid-run stops the run. Each
refusal is exit 2 with one error line naming the path, before anything is written."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import stat
from pathlib import Path

import pytest

from bulkdelete.errors import StorageFailedMidRun
from bulkdelete.fake import FakeServer
from tests.conftest import (
    ServerFactory,
    answer_at_once,
    assert_nothing_lost,
    cli_finish,
    cli_run,
    cli_start,
    delete_args,
    delete_argv,
    make_ids,
    read_lines,
    wait_for_acks,
    write_ids,
)
from tests.e2e.support import assert_one_error_line, ckpt_dir, cli

pytestmark = pytest.mark.usefixtures("reset_logging")

OTHER_UID = 65534  # nobody
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown to another user")


def _refused(capsys: pytest.CaptureFixture[str], server: FakeServer, source: Path,
             *extra: str) -> str:
    """A delete refused before anything was sent or created; its one error line."""
    before = source.read_bytes()
    code, out, err = cli(capsys, *delete_args(source, *extra))
    line = assert_one_error_line(code, out, err)
    assert server.stats.requests == 0
    assert source.read_bytes() == before
    assert not ckpt_dir(source).exists()
    return line


@pytest.mark.parametrize("flag", ["--log-file", "--failed", "--report"])
@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
def test_an_output_that_is_the_input_is_refused_by_file_identity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer, flag: str,
    how: str,
) -> None:
    """``--log-file ids.txt`` used to append log lines to the input (the run then stopped
    with "input changed", and --restart sent those lines as IDs). Any output naming the
    input's file — by its path, a link to it or a hard link — is refused."""
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    output = tmp_path / "out"
    if how == "same path":
        output = source
    elif how == "symlink":
        output.symlink_to(source)
    else:
        os.link(source, output)
    line = _refused(capsys, server, source, flag, str(output))
    assert f"{flag} {output} is the input file" in line


def test_verify_refuses_a_log_file_that_is_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer,
) -> None:
    """``verify`` opens its --log-file too: naming the input, it is refused before any
    log line lands in the input."""
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    before = source.read_bytes()
    code, out, err = cli(capsys, "verify", str(source), "--id-type", "guid", "--no-progress",
                         "--log-file", str(source))
    assert_one_error_line(code, out, err, f"--log-file {source} is the input file")
    assert source.read_bytes() == before
    assert server.stats.requests == 0


@pytest.mark.parametrize(("flag", "name"), [
    ("--report", "state.json"), ("--failed", "lock"), ("--log-file", "invalid.jsonl"),
    ("--report", "journal.3"), ("--log-file", "failed.txt"),
])
def test_an_output_that_is_another_file_of_the_job_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer, flag: str,
    name: str,
) -> None:
    """An output inside the checkpoint folder may not be one of the checkpoint's files,
    nor the path of another output (failed.txt is where the failed IDs go by default)."""
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    target = ckpt_dir(source) / name
    line = _refused(capsys, server, source, flag, str(target))
    assert f"{flag} {target}" in line


@pytest.mark.parametrize("flag", ["--log-file", "--failed", "--report"])
@pytest.mark.parametrize("odd", ["/proc/version", "directory", "device"])
def test_an_output_that_cannot_hold_a_file_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer, flag: str,
    odd: str,
) -> None:
    """``--log-file /proc/version`` ended in "Invalid argument (I/O); progress so far is
    saved", naming no file. A path that cannot be written as a file is refused up front,
    with the option and the path. The device is a null device of the test's own: were the
    rule to break, a report replaced by rename would take the machine's /dev/null with it."""
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    path = Path(odd)
    if odd == "directory":
        path = tmp_path / "folder"
        path.mkdir()
    elif odd == "device":
        path = tmp_path / "null"
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs root (CI runs as root)")
    line = _refused(capsys, server, source, flag, str(path))
    assert f"{flag} {path}" in line


@as_root
def test_a_checkpoint_folder_another_user_planted_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer,
) -> None:
    """In a world-writable folder another user pre-creates the default checkpoint folder
    (0777) with failed.txt a link to a file of root's: root's run used to truncate that
    file, write the failed IDs into it and leave it where the other user could read them.
    Refused; the file is untouched."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    source = write_ids(shared / "erasures.txt", make_ids(50))
    planted = ckpt_dir(source)
    planted.mkdir()
    os.chown(planted, OTHER_UID, OTHER_UID)
    planted.chmod(0o777)
    secret = tmp_path / "secret.txt"
    secret.write_text("root's own data\n")
    secret.chmod(0o640)
    (planted / "failed.txt").symlink_to(secret)
    code, out, err = cli(capsys, *delete_args(source))
    line = assert_one_error_line(code, out, err, str(planted), "another user")
    assert "nothing was written" in line
    assert server.stats.requests == 0
    assert secret.read_text() == "root's own data\n"
    assert secret.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in planted.iterdir()) == ["failed.txt"]


@as_root
@pytest.mark.parametrize("flag", ["--failed", "--report", "--log-file"])
def test_an_output_in_a_folder_another_user_can_swap_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer, flag: str,
) -> None:
    """An output's folder that is another user's and writable by others (no sticky bit):
    they could put a link where the file goes. Refused, nothing written there."""
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, OTHER_UID, OTHER_UID)
    theirs.chmod(0o777)
    line = _refused(capsys, server, source, flag, str(theirs / "out.txt"))
    assert str(theirs) in line
    assert "another user" in line
    assert list(theirs.iterdir()) == []


@pytest.mark.parametrize("flag", ["--failed", "--report", "--log-file"])
def test_an_output_that_is_a_symlink_is_never_written_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer, flag: str,
) -> None:
    """In a shared sticky folder (like /tmp) a link planted where the output goes is
    refused with the reason; its target is untouched."""
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    secret = tmp_path / "secret.txt"
    secret.write_text("keep\n")
    link = sticky / "out.txt"
    link.symlink_to(secret)
    line = _refused(capsys, server, source, flag, str(link))
    assert "symbolic link" in line
    assert secret.read_text() == "keep\n"


def test_a_checkpoint_folder_others_can_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer,
) -> None:
    """The checkpoint folder is the user's alone: one that group or others can write is
    refused, with the fix."""
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    folder = tmp_path / "cp"
    folder.mkdir()
    folder.chmod(0o777)
    code, out, err = cli(capsys, *delete_args(source, "--checkpoint", str(folder)))
    assert_one_error_line(code, out, err, str(folder), "chmod go-w")
    assert server.stats.requests == 0
    assert list(folder.iterdir()) == []


async def test_two_jobs_pointed_at_one_failed_file_the_second_is_refused(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """Job A is running and has listed failed IDs in failed.txt; job B, another input,
    names the same --failed. B used to truncate it (A then reported 600 failed with 550
    in the file). B is refused naming the conflict; A's list is whole."""
    ids_a, ids_b = make_ids(40_000, "a"), make_ids(2_000, "b")
    poison = frozenset(ids_a[i] for i in range(0, 40_000, 4_999))
    source_a = write_ids(tmp_path / "a.txt", ids_a)
    source_b = write_ids(tmp_path / "b.txt", ids_b)
    failed = tmp_path / "failed.txt"
    async with fake_server(latency=0.02, concurrency_limit=0, poison_ids=poison) as server:
        proc = await cli_start(delete_argv(source_a, "--failed", str(failed)),
                               server.base_url)
        async with asyncio.timeout(30):
            # Polls the other process's file; there is no event to wait on.
            while not (failed.exists() and read_lines(failed)):  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        code, output = await cli_run(delete_argv(source_b, "--failed", str(failed)),
                                     server.base_url)
        assert code == 2, output
        assert f"the failed file {failed} is held by another run" in output
        assert "Traceback" not in output
        assert not ckpt_dir(source_b).exists()
        assert not any(server.stats.received[i] for i in ids_b)
        answer_at_once(server)
        code, output = await cli_finish(proc)
    assert code == 1, output
    listed = assert_nothing_lost(ids_a, server, failed)
    assert listed == set(poison)


async def test_a_checkpoint_folder_swapped_mid_run_stops_it_and_loses_nothing(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """``mv cp cp.moved; mkdir cp`` mid-run: the failed IDs kept going to the moved folder
    through the open file while the new one was given a state saying they were failed,
    with no failed file. The run stops as for a removed folder, says where the job is
    now, and writes nothing into the new folder; put back, the same command finishes the
    job, losing nothing."""
    ids = make_ids(60_000)
    poison = frozenset(ids[i] for i in range(0, 60_000, 9_999))
    source = write_ids(tmp_path / "ids.txt", ids)
    checkpoint, moved = tmp_path / "cp", tmp_path / "cp.moved"
    argv = delete_argv(source, "--checkpoint", str(checkpoint))
    async with fake_server(latency=0.02, concurrency_limit=0, poison_ids=poison) as server:
        proc = await cli_start(argv, server.base_url)
        await wait_for_acks(server, 3_000)
        checkpoint.rename(moved)
        checkpoint.mkdir()
        swapped_at = asyncio.get_running_loop().time()
        code, output = await cli_finish(proc)
        took = asyncio.get_running_loop().time() - swapped_at
        assert code == StorageFailedMidRun.exit_code, output  # as for a removed folder (4)
        assert "Traceback" not in output
        errors = [line for line in output.splitlines() if "error:" in line]
        assert len(errors) == 1, output
        assert f"the checkpoint folder {checkpoint} was replaced" in errors[0]
        assert f"Saved in {moved}" in errors[0]
        assert took < 5, took
        assert server.stats.acknowledged_ids < len(ids) // 2
        assert list(checkpoint.iterdir()) == []  # nothing of the job in the new folder
        checkpoint.rmdir()
        moved.rename(checkpoint)
        answer_at_once(server)
        code, output = await cli_run(argv, server.base_url)
        assert code == 1, output
        listed = assert_nothing_lost(ids, server, checkpoint / "failed.txt")
        assert listed == set(poison)
    shutil.rmtree(checkpoint)


def test_a_new_job_never_empties_a_failed_file_that_holds_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: FakeServer,
) -> None:
    """Job A finished with failed IDs in a shared --failed path; job B, a new job on
    another input, names the same path afterwards. B used to empty it, losing A's list.
    B is refused, nothing sent or written, A's list byte for byte as it was; with its own
    --failed, B runs and loses nothing."""
    ids_a, ids_b = make_ids(300, "a"), make_ids(200, "b")
    poison = frozenset(ids_a[::50])
    server.reconfigure(dataclasses.replace(server.config, poison_ids=poison))
    source_a = write_ids(tmp_path / "a.txt", ids_a)
    source_b = write_ids(tmp_path / "b.txt", ids_b)
    failed = tmp_path / "failed.txt"
    code, out, err = cli(capsys, *delete_args(source_a, "--failed", str(failed)))
    assert code == 1, err
    before = failed.read_bytes()
    assert set(read_lines(failed)) == poison
    code, out, err = cli(capsys, *delete_args(source_b, "--failed", str(failed)))
    line = assert_one_error_line(code, out, err, f"the failed file {failed} already holds")
    assert "Nothing was sent" in line
    assert failed.read_bytes() == before
    assert not ckpt_dir(source_b).exists()
    assert not any(server.stats.received[i] for i in ids_b)
    code, out, err = cli(capsys, *delete_args(source_b))
    assert code == 0, err
    assert_nothing_lost(ids_b, server, ckpt_dir(source_b) / "failed.txt")
