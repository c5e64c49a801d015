"""``invalid.jsonl`` is complete after any crash (docs/checkpoint.md): a run killed or out of
disk space while it lists the invalid lines leaves no checkpoint that claims the counting
pass done, and no temporary file with the lines' values; the rerun lists them all. An
input with no valid ID at all lists its invalid lines and is refused (exit 2)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer
from tests.conftest import (
    ServerFactory,
    assert_nothing_lost,
    cli_finish,
    cli_run,
    cli_start,
    delete_args,
    delete_argv,
)
from tests.e2e.support import assert_one_error_line, ckpt_dir, cli
from tests.e2e.test_disk_faults import fill, small_disk


def _write_many_invalid(path: Path, valid: int, invalid: int) -> list[str]:
    """``valid`` IDs first, then ``invalid`` lines with a control character. The IDs."""
    ids = [f"id-{n:07d}" for n in range(valid)]
    with path.open("wb") as out:
        out.write("".join(f"{ident}\n" for ident in ids).encode())
        out.write(b"".join(b"bad\x01%07d\n" % n for n in range(invalid)))
    return ids


def _assert_listed_whole(folder: Path, valid: int, invalid: int) -> None:
    path = folder / "invalid.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_bytes().splitlines()
    assert len(lines) == invalid
    assert [json.loads(line)["line"] for line in (lines[0], lines[-1])] == \
        [valid + 1, valid + invalid]
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


async def _wait_for_temporary(folder: Path, proc: asyncio.subprocess.Process) -> None:
    """Until the run's temporary invalid list (a name of its own) appears in ``folder``."""

    def present() -> bool:
        return folder.is_dir() and any(folder.glob("invalid.jsonl*.tmp"))

    async with asyncio.timeout(60):
        # Polls the file system: the child has no event to wait on.
        while not await asyncio.to_thread(present):
            assert proc.returncode is None, "the run ended before listing its invalid lines"
            await asyncio.sleep(0.001)


async def test_a_run_killed_while_it_lists_invalid_lines_leaves_a_complete_list_after_rerun(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """kill -9 while invalid.jsonl is being written: the rerun lists every invalid line and
    no temporary file (it holds the lines' values) is left behind; nothing is lost."""
    valid, invalid = 2_000, 40_000  # long enough to list that the kill lands mid-list
    source = tmp_path / "ids.txt"
    ids = _write_many_invalid(source, valid, invalid)
    folder = ckpt_dir(source)
    async with fake_server() as server:
        proc = await cli_start(delete_argv(source), server.base_url)
        await _wait_for_temporary(folder, proc)
        proc.send_signal(signal.SIGKILL)
        await cli_finish(proc)
        assert server.stats.acknowledged_ids == 0  # killed before sending
        assert any(folder.glob("invalid.jsonl*.tmp")), "killed after the list was done"
        code, output = await cli_run(delete_argv(source), server.base_url)
        assert code == 0, output
        _assert_listed_whole(folder, valid, invalid)
        assert_nothing_lost(ids, server, folder / "failed.txt")


async def test_a_full_disk_while_listing_invalid_lines_then_a_rerun_lists_them_all(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """The checkpoint's disk fills while invalid.jsonl is written: one clear line (the
    storage failure's code), no temporary file left; once space is freed the same command
    lists every invalid line and finishes the job."""
    valid, invalid = 500, 20_000
    source = tmp_path / "ids.txt"
    ids = _write_many_invalid(source, valid, invalid)
    with small_disk(tmp_path / "disk", size="4m") as disk:
        folder = disk / "ckpt"
        argv = delete_argv(source, "--checkpoint", str(folder))
        filler = fill(disk, leave=256 * 1024)
        async with fake_server() as server:
            code, output = await cli_run(argv, server.base_url)
            assert code == 2, output
            assert "Traceback" not in output
            assert "invalid.jsonl" in output
            assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
            filler.unlink()
            code, output = await cli_run(argv, server.base_url)
            assert code == 0, output
            _assert_listed_whole(folder, valid, invalid)
            assert_nothing_lost(ids, server, folder / "failed.txt")


def test_an_input_with_only_invalid_lines_lists_them_and_is_refused(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """No valid ID: nothing to delete, so the run is an input error (exit 2) that says so
    plainly and points at the list, in a folder as private as any checkpoint's."""
    source = tmp_path / "ids.txt"
    _write_many_invalid(source, 0, 30)
    code, out, err = cli(capsys, *delete_args(source))
    line = assert_one_error_line(code, out, err, "no valid ID", "invalid.jsonl")
    assert "already finished" not in out + err, line
    folder = ckpt_dir(source)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    _assert_listed_whole(folder, 0, 30)
    assert not (folder / "state.json").exists()
    assert server.stats.acknowledged_ids == 0
    # The same again: the same answer, the list written again whole.
    code, out, err = cli(capsys, *delete_args(source))
    assert_one_error_line(code, out, err, "no valid ID")
    _assert_listed_whole(folder, 0, 30)


def test_a_stale_temporary_list_is_removed_by_the_next_run(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """A temporary list a crash left in a started job's folder (it holds the lines'
    values) is removed by the next run, which resumes the job."""
    source = tmp_path / "ids.txt"
    ids = _write_many_invalid(source, 400, 5)
    code, _, err = cli(capsys, *delete_args(source, "--limit", "100"))
    assert code == 0, err
    stale = ckpt_dir(source) / "invalid.jsonl.tmp"
    stale.write_bytes(b'{"line": 1, "reason": "x", "value": "personal')
    os.chmod(stale, 0o600)
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    assert not stale.exists()
    _assert_listed_whole(ckpt_dir(source), 400, 5)
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


def test_a_started_job_whose_list_is_missing_gets_it_written_again(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """A checkpoint whose list is missing or short (made before the list came first, or
    damaged): the resume writes it again whole."""
    source = tmp_path / "ids.txt"
    ids = _write_many_invalid(source, 400, 7)
    code, _, err = cli(capsys, *delete_args(source, "--limit", "100"))
    assert code == 0, err
    listed = ckpt_dir(source) / "invalid.jsonl"
    listed.write_bytes(listed.read_bytes().splitlines(keepends=True)[0])
    code, _, err = cli(capsys, *delete_args(source, "--limit", "100"))
    assert code == 0, err
    _assert_listed_whole(ckpt_dir(source), 400, 7)
    listed.unlink()
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    _assert_listed_whole(ckpt_dir(source), 400, 7)
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
