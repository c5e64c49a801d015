"""``--log-file`` that cannot be written (docs/cli.md, "Logs"): a failed log write is an
I/O failure like any other. The run stops cleanly — progress saved, nothing lost — with
one line naming the log file and the code of a storage failure; a rerun with room for
the log finishes the job. A log file whose folder does not exist is refused before
anything is written. Real subprocesses against the fake server over loopback."""

from __future__ import annotations

from pathlib import Path

from bulkdelete.errors import StorageFailedMidRun
from tests.conftest import (
    ServerFactory,
    assert_nothing_lost,
    cli_run,
    delete_argv,
    make_ids,
    read_lines,
    write_ids,
)
from tests.e2e.support import ckpt_dir, one_error_line
from tests.e2e.test_disk_faults import PAGE, fill, small_disk

STORAGE_EXIT = StorageFailedMidRun.exit_code  # a storage failure once sending began


async def test_a_log_file_on_dev_full_is_refused_before_anything_is_sent(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """/dev/full is a device, not a log file: refused (exit 2) with one line naming it, no
    traceback, nothing sent, no checkpoint; a rerun without it finishes, nothing lost. (A
    log disk that fills mid-run is the next test.)"""
    ids = make_ids(3_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        code, output = await cli_run(delete_argv(source, "--log-file", "/dev/full"),
                                     server.base_url)
        assert code == 2, output
        one_error_line(output, "/dev/full", "not a regular file")
        assert server.stats.requests == 0
        assert not ckpt_dir(source).exists()
        code, output = await cli_run(delete_argv(source), server.base_url)
        assert code == 0, output
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


async def test_a_log_disk_that_fills_mid_run_stops_it_with_progress_saved(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """The log file's disk fills while rejected IDs are logged: the run stops at once
    (the storage failure's code, one line naming the log file, what is saved), every
    failed ID so far is in the failed file; once space is freed the same command
    finishes the job and nothing is lost."""
    ids = make_ids(5_000)
    poison = frozenset(ids[7::40])
    source = write_ids(tmp_path / "ids.txt", ids)
    with small_disk(tmp_path / "disk") as disk:
        log = disk / "run.log"
        argv = delete_argv(source, "--log-file", str(log))
        filler = fill(disk, leave=2 * PAGE)
        async with fake_server(poison_ids=poison) as server:
            code, output = await cli_run(argv, server.base_url)
            assert code == STORAGE_EXIT, output
            one_error_line(output, str(log), "No space left", "IDs handled")
            assert server.stats.acknowledged_ids < len(ids) - len(poison)
            assert_partial = set(read_lines(ckpt_dir(source) / "failed.txt"))
            assert assert_partial <= poison
            filler.unlink()
            code, output = await cli_run(argv, server.base_url)
            assert code == 1, output
            assert assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt") == poison


async def test_a_log_file_in_a_missing_folder_is_refused_before_anything_is_written(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(200)
    source = write_ids(tmp_path / "ids.txt", ids)
    missing = tmp_path / "no" / "such" / "run.log"
    async with fake_server() as server:
        code, output = await cli_run(delete_argv(source, "--log-file", str(missing)),
                                     server.base_url)
        assert code == 2, output
        one_error_line(output, "--log-file", str(missing.parent), "does not exist")
        assert not (tmp_path / "no").exists()
        assert not ckpt_dir(source).exists()
        assert server.stats.acknowledged_ids == 0
