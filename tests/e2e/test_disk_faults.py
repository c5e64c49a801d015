"""Disk faults under a real run (the guarantees: crash safety, nothing lost): a full disk
under the failed file or the checkpoint, the checkpoint folder removed or read-only
mid-run. Each is a ``python -m bulkdelete`` subprocess against the fake
server over loopback; the disk is a small tmpfs the test mounts (as root; skipped where
mounting is not permitted). Every test ends with the nothing-lost check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    ServerFactory,
    answer_at_once,
    assert_nothing_lost,
    cli_finish,
    cli_run,
    cli_start,
    delete_argv,
    make_ids,
    read_lines,
    wait_for_acks,
    write_ids,
)
from tests.e2e.support import one_error_line

PAGE = 4096  # tmpfs hands out space in pages


@contextlib.contextmanager
def small_disk(where: Path, size: str = "256k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where``, unmounted afterwards."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",  # noqa: S607
                              str(where)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)  # noqa: S607


def fill(disk: Path, leave: int) -> Path:
    """Take all but ``leave`` bytes of the disk's free space with a filler file."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    filler = disk / "filler"
    with filler.open("ab") as out:
        out.write(b"\0" * max(0, free - leave))
    return filler


async def test_a_full_disk_under_the_failed_file_tears_no_line_and_loses_no_id(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """The failed file's disk fills mid-run: the run stops with one clear line (exit 4:
    stopped mid-run); after freeing space the same command finishes, every line of the
    failed file and of its reasons file is whole, and no ID is lost."""
    ids = make_ids(5_000)
    poison = frozenset(ids[7::20])
    source = write_ids(tmp_path / "ids.txt", ids)
    with small_disk(tmp_path / "disk") as disk:
        failed = disk / "failed.txt"
        argv = delete_argv(source, "--failed", str(failed))
        filler = fill(disk, leave=4 * PAGE)
        async with fake_server(poison_ids=poison) as server:
            first_code, first_output = await cli_run(argv, server.base_url)
            assert len(read_lines(failed)) < len(poison)  # it did stop part way
            filler.unlink()
            code, output = await cli_run(argv, server.base_url)
            assert code == 1, output
            assert "damaged" not in output
            lines = failed.read_text().splitlines()
            assert set(lines) <= poison, [x for x in lines if x not in poison][:3]
            reasons = [json.loads(x) for x in (disk / "failed.txt.reasons.jsonl")
                       .read_text().splitlines()]
            assert {r["id"] for r in reasons} == set(lines)
            assert assert_nothing_lost(ids, server, failed) == poison
        assert first_code == 4, first_output
        one_error_line(first_output, "failed file", "No space left")


def _long_dir(base: Path) -> Path:
    """A folder whose path is ~3,500 characters: every path and the resume command in
    state.json then make a snapshot several pages long, as a big job's can be."""
    deep = base
    for n in range(14):
        deep = deep / (f"{n:02d}" + "d" * 240)
    deep.mkdir(parents=True)
    return deep


async def test_a_nearly_full_checkpoint_disk_never_installs_a_short_snapshot(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """The checkpoint's disk fills mid-run, with room left for part of a snapshot: the run
    stops at once with one clear line saying what is saved (exit 4), the good snapshot
    stays, and after freeing space the same command resumes (never "damaged") and
    finishes with nothing lost."""
    ids = make_ids(20_000)
    deep = _long_dir(tmp_path)
    source = write_ids(deep / "ids.txt", ids)
    with small_disk(tmp_path / "disk") as disk:
        argv = delete_argv(source, "--checkpoint", str(disk / "cp"), "--failed",
                     str(deep / "failed.txt"), "--report", str(deep / "report.json"),
                     "--log-file", str(deep / "log.jsonl"))
        async with fake_server(latency=0.1, concurrency_limit=0) as server:
            proc = await cli_start(argv, server.base_url)
            await wait_for_acks(server, 1_500)
            filler = fill(disk, leave=3 * PAGE)
            code, output = await cli_finish(proc)
            assert code == 4, output
            line = one_error_line(output, "No space left", "stopped at once", "Saved in")
            assert " IDs handled" in line
            assert server.stats.acknowledged_ids < len(ids)
            assert not [p for p in (disk / "cp").iterdir() if p.name.endswith(".tmp")]
            filler.unlink()
            server.reconfigure(type(server.config)(
                account_id=server.config.account_id, passcode=server.config.passcode,
                concurrency_limit=0))
            code, output = await cli_run(argv, server.base_url)
            assert code == 0, output
            assert "damaged" not in output
            assert_nothing_lost(ids, server, deep / "failed.txt")


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` read-only from now on, by a read-only bind mount over it (root ignores
    permission bits); files already open for writing stay writable, as on a remount."""
    bound = subprocess.run(["mount", "--bind", str(folder), str(folder)],  # noqa: S607
                           capture_output=True, check=False)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)],  # noqa: S607
                       check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)  # noqa: S607


@pytest.mark.parametrize("fault", ["removed", "read-only"])
async def test_a_checkpoint_folder_removed_or_read_only_mid_run_stops_it_at_once(
    tmp_path: Path, fake_server: ServerFactory, fault: str
) -> None:
    """The checkpoint folder is removed, or turns read-only, mid-run: within about a
    second the run stops (exit 4) and says what is saved — nothing once the folder is
    gone — instead of going on unrecorded into a "Bad file descriptor"; the same command
    then finishes the job, losing nothing."""
    ids = make_ids(60_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    checkpoint = tmp_path / "cp"
    argv = delete_argv(source, "--checkpoint", str(checkpoint), "--failed",
                 str(tmp_path / "failed.txt"))
    async with fake_server(latency=0.02, concurrency_limit=0) as server:
        with contextlib.ExitStack() as undo:
            proc = await cli_start(argv, server.base_url)
            await wait_for_acks(server, 3_000)
            if fault == "removed":
                shutil.rmtree(checkpoint)
                said = "Nothing of the job's progress is saved"
            else:
                undo.enter_context(read_only(checkpoint))
                said = " IDs handled"
            faulted_at = asyncio.get_running_loop().time()
            code, output = await cli_finish(proc)
            took = asyncio.get_running_loop().time() - faulted_at
        assert code == 4, output
        one_error_line(output, "stopped at once", said)
        assert "Bad file descriptor" not in output
        assert took < 5, took
        assert server.stats.acknowledged_ids < len(ids) // 2
        answer_at_once(server)
        code, output = await cli_run(argv, server.base_url)
        assert code == 0, output
        assert "damaged" not in output
        assert_nothing_lost(ids, server, tmp_path / "failed.txt")
