"""``bulkdelete verify`` as an operator runs it: a real subprocess against the shipped fake
server over loopback (docs/verify.md, docs/exit-codes.md). The server runs in the test's
own loop, so its record of lookups survives the client's death."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import stat
from pathlib import Path

import pytest

from bulkdelete import JobFiles, run_job
from bulkdelete.fake import FakeServer
from tests.conftest import (
    CLI,
    ServerFactory,
    cli_run,
    cli_start,
    make_ids,
    make_settings,
    read_lines,
    write_ids,
)

CONCURRENCY = 3
BATCH = 100
ALLOWANCE = 3 * CONCURRENCY * BATCH  # re-checks a stopped or killed verify may cost


def verify_argv(source: Path, *extra: str) -> list[str]:
    return [*CLI, "verify", str(source), "--id-type", "guid", "--no-progress",
            "--concurrency", str(CONCURRENCY), "--timeout", "5", *extra]


async def _deleted_job(server: FakeServer, source: Path) -> None:
    """The job done (in-process, quickly), then lookups slowed so a verify can be caught
    half-way."""
    result = await run_job(make_settings(server.base_url), JobFiles(input=source))
    assert result.exit_code == 0
    server.reconfigure(dataclasses.replace(server.config, latency=0.004))


async def _wait_for_lookups(server: FakeServer, at_least: int) -> None:
    async with asyncio.timeout(60):
        # Polls another component's counter; it has no event to wait on.
        while len(server.stats.looked_up) < at_least:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def _rechecked(server: FakeServer) -> int:
    return sum(n - 1 for n in server.stats.looked_up.values() if n > 1)


def _checked(server: FakeServer, ids: list[str]) -> set[str]:
    """The job's IDs the server was asked about (a delete's credential check asks about
    a random one)."""
    return set(server.stats.looked_up) & set(ids)


async def _interrupted(server: FakeServer, source: Path, ids: list[str],
                       sig: signal.Signals) -> tuple[list[str], int | None, str]:
    """A verify --all of the deleted job, sent ``sig`` half-way, after more lookups than the
    re-check allowance: its argv, exit code and output."""
    await _deleted_job(server, source)
    argv = verify_argv(source, "--all")
    proc = await cli_start(argv, server.base_url)
    await _wait_for_lookups(server, 1000)
    proc.send_signal(sig)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert len(_checked(server, ids)) < len(ids), "stopped too late to prove anything"
    return argv, proc.returncode, out.decode() + err.decode()


async def _rerun_checks_every_id(server: FakeServer, argv: list[str], ids: list[str],
                                 after: str) -> str:
    """The same command again (lookups quick again): every deleted ID checked, the
    re-checks within the allowance. Its output."""
    server.reconfigure(dataclasses.replace(server.config, latency=0.0))
    code, output = await cli_run(argv, server.base_url)
    assert code == 0, output
    assert _checked(server, ids) == set(ids)
    print(f"verify --all after {after}: {_rechecked(server)} IDs looked up again")
    assert _rechecked(server) <= ALLOWANCE, _rechecked(server)
    return output


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "SIGINT"])
async def test_verify_all_stopped_or_killed_then_the_same_command_checks_every_id_once(
    sig: signal.Signals, tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """verify --all killed with -9, or stopped by SIGINT (exit 130, the resume command
    printed, no verify.json yet): the same command checks every deleted ID, re-checking
    no more than the allowance, never more than the concurrency at once."""
    ids = make_ids(2000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=CONCURRENCY) as server:
        argv, code, output = await _interrupted(server, source, ids, sig)
        if sig is signal.SIGINT:
            assert code == 130, output
            assert "Resume with:" in output
            assert f"bulkdelete verify {source}" in output
            assert not (tmp_path / "ids.txt.bulkdelete" / "verify.json").exists()
        output = await _rerun_checks_every_id(server, argv, ids, sig.name)
        assert server.stats.lookups_in_flight.peak <= CONCURRENCY
        assert "2,000 of 2,000 deleted IDs checked: 2,000 gone, 0 present, 0 unknown" in output
    verify = json.loads((tmp_path / "ids.txt.bulkdelete" / "verify.json").read_text())
    assert (verify["checked"], verify["gone"], verify["sample"]) == (2000, 2000, "all")


async def test_exit_codes_files_and_report_of_a_verify(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """0 when every checked ID is gone; 1 when some are present, listed in an owner-only
    still-present list that a new delete takes as input; 2 without a checkpoint or for
    another job's; the report gains the verify object."""
    ids = make_ids(500)
    source = write_ids(tmp_path / "ids.txt", ids)
    folder = tmp_path / "ids.txt.bulkdelete"
    async with fake_server(concurrency_limit=CONCURRENCY) as server:
        code, output = await cli_run(verify_argv(source), server.base_url)
        assert code == 2, output
        assert "no checkpoint" in output
        assert not folder.exists()

        result = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert result.exit_code == 0
        code, output = await cli_run(verify_argv(source, "--sample", "200", "--seed", "5"),
                                     server.base_url)
        assert code == 0, output
        assert "200 of 500 deleted IDs checked: 200 gone, 0 present, 0 unknown — at most " \
               "1.49 % remain (95 % confidence)" in output
        assert "waiting for the nightly purge until" in output  # right after the delete
        assert "Traceback" not in output

        server.reconfigure(dataclasses.replace(
            server.config, recreated_ids=frozenset(ids[100:104])))
        code, output = await cli_run(verify_argv(source, "--all"), server.base_url)
        assert code == 1, output
        # Each verify's list has its own name, given in verify.json (docs/verify.md).
        listed = json.loads((folder / "verify.json").read_text())["still_present"]
        still = folder / listed
        assert sorted(read_lines(still)) == ids[100:104]
        assert str(still) in output
        for name in (listed, "verify.json", "report.json"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
        report = json.loads((folder / "report.json").read_text())
        assert (report["verify"]["present"], report["verify"]["sample"]) == (4, "all")
        code, output = await cli_run([*CLI, "status", str(folder)], server.base_url)
        assert code == 0, output
        assert "500 of 500 deleted IDs checked: 496 gone, 4 present, 0 unknown" in output

        code, output = await cli_run(
            verify_argv(source, "--account-id", "ANOTHER"), server.base_url)
        assert code == 2, output
        assert "--account-id" in output

        # The list is valid input for a new delete.
        code, output = await cli_run(
            [*CLI, "delete", str(still), "--id-type", "guid", "--yes", "--no-progress"],
            server.base_url)
        assert code == 0, output


async def test_a_sample_stopped_by_sigterm_exits_143_and_writes_nothing(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """A sample is checked in memory: stopped, it leaves no verify.json and says to run it
    again rather than to resume it."""
    ids = make_ids(3000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=CONCURRENCY) as server:
        await _deleted_job(server, source)
        proc = await cli_start(verify_argv(source, "--sample", "2000"), server.base_url)
        await _wait_for_lookups(server, 300)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        output = out.decode() + err.decode()
        assert proc.returncode == 143, output
        assert "not resumable" in output
        assert "Resume with:" not in output
    assert not (tmp_path / "ids.txt.bulkdelete" / "verify.json").exists()
    assert "verify" not in json.loads((tmp_path / "ids.txt.bulkdelete" / "report.json")
                                      .read_text())


async def test_status_shows_an_interrupted_verify_all_and_how_to_go_on(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """``status`` of a job whose verify --all was stopped: how many of the deleted IDs it
    checked, and the command that continues it (which then checks every ID)."""
    ids = make_ids(2000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=CONCURRENCY) as server:
        argv, code, output = await _interrupted(server, source, ids, signal.SIGINT)
        assert code == 130, output
        status_code, shown = await cli_run([*CLI, "status", str(source)], server.base_url)
        assert status_code == 0, shown
        checked = len(_checked(server, ids))
        line = next(x for x in shown.splitlines() if x.startswith("verify --all: stopped"))
        done = int(line.split("checking ")[1].split(" of ")[0].replace(",", ""))
        assert 0 < done <= checked < 2000
        assert "of 2,000 deleted IDs" in line
        lines = shown.splitlines()
        command = lines[lines.index("continue it with:") + 1].strip()
        assert command.startswith(f"bulkdelete verify {source}")
        assert "--all" in command
        await _rerun_checks_every_id(server, argv, ids, "status")
        _, after = await cli_run([*CLI, "status", str(source)], server.base_url)
    assert "verify --all: stopped" not in after
