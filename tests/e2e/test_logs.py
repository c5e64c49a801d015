"""Logs and output places as an operator's tools read them (docs/cli.md, "Logs"): with
``--log-format json`` every stderr line is a JSON record with a level, one timestamp
format and, for a delete, its run's ID; the log file tells runs apart; the dry run's plan
is on stdout; an error is one line; throttling is summarised. Each runs the real CLI as a
subprocess against the fake server; every run that sends anything ends with the
nothing-lost check (docs/guarantees.md §1).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    CLI,
    ServerFactory,
    answer_at_once,
    assert_nothing_lost,
    cli_env,
    delete_args,
    make_ids,
    wait_for_acks,
    write_ids,
)
from tests.e2e.support import ckpt_dir, report_of, run_subprocess, serve_in_thread

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def json_records(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line as a JSON record with a level and the one timestamp format; the
    test fails naming the first line that is not."""
    lines = stderr.splitlines()
    assert lines, "nothing on stderr"
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"not JSON: {line!r}")
        assert isinstance(record, dict), line
        assert record.get("level") in {"debug", "info", "warning", "error"}, line
        assert TIMESTAMP.match(str(record.get("timestamp"))), line
        records.append(record)
    return records


def one_run_id(records: list[dict[str, Any]]) -> str:
    """Every record carries the same run ID; that ID."""
    missing = [r["event"] for r in records if not r.get("run_id")]
    assert not missing, f"events without run_id: {missing}"
    ids = {r["run_id"] for r in records}
    assert len(ids) == 1, ids
    return str(ids.pop())


def json_args(source: Path, *extra: str) -> list[str]:
    return [*CLI, *delete_args(source, "--log-format", "json", *extra)]


# --------------------------------------------------------------------------- JSON mode


async def test_json_clean_run_every_line_has_level_timestamp_and_run_id(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A clean run: every stderr line is JSON with ``level`` and a ``...Z`` timestamp;
    every event — counting_input, start, finished, summary — has the run's ID, the one
    its record in the report has."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as srv:
        code, _, err = await run_subprocess(json_args(source), cli_env(srv.base_url))
        assert code == 0, err
        assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
    records = json_records(err)
    run_id = one_run_id(records)
    assert {"counting_input", "start", "finished", "summary"} <= {r["event"] for r in records}
    assert report_of(source)["runs"][0]["run_id"] == run_id
    summary = next(r for r in records if r["event"] == "summary")
    assert summary["level"] == "info"


async def test_json_canary_and_its_continuation_each_carry_their_run_id(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A --limit canary and the run that continues it: all lines JSON, each run's events
    under its own ID, the resume hint included."""
    ids = make_ids(2_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as srv:
        code, _, first = await run_subprocess(json_args(source, "--limit", "500"),
                                              cli_env(srv.base_url))
        assert code == 0, first
        code, _, second = await run_subprocess(json_args(source), cli_env(srv.base_url))
        assert code == 0, second
        assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
    canary, rest = json_records(first), json_records(second)
    assert "resume_hint" in {r["event"] for r in canary}
    assert "resume" in {r["event"] for r in rest}
    runs = [run["run_id"] for run in report_of(source)["runs"]]
    assert [one_run_id(canary), one_run_id(rest)] == runs


def test_json_usage_error_from_argparse_is_one_json_record(tmp_path: Path) -> None:
    """argparse's own usage error (here a missing --id-type) under --log-format json is a
    JSON record with level error, not plain text; the exit code stays 2."""
    source = write_ids(tmp_path / "ids.txt", make_ids(10))
    for extra in (["--log-format", "json"], ["--log-format=json"]):
        proc = _run_sync([*CLI, "delete", str(source), "--yes", *extra])
        assert proc.returncode == 2, proc.stderr
        records = json_records(proc.stderr)
        assert [r["level"] for r in records] == ["error"]
        assert "--id-type" in records[0]["text"]
        assert records[0]["exit_code"] == 2


async def test_json_abort_on_401_every_line_json_error_has_run_id(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """An abort (401: exit 3): every line JSON; the error record has level error, the
    exit code and the run's ID; no ``finished`` info event follows the error."""
    source = write_ids(tmp_path / "ids.txt", make_ids(500))
    async with fake_server() as srv:
        code, _, err = await run_subprocess(
            json_args(source), cli_env(srv.base_url, CLEVERTAP_PASSCODE="wrong-one"))
    assert code == 3, err
    records = json_records(err)
    run_id = one_run_id(records)
    error = [r for r in records if r["event"] == "error"]
    assert len(error) == 1, records
    assert (error[0]["level"], error[0]["exit_code"], error[0]["run_id"]) == (
        "error", 3, run_id)
    assert "finished" not in {r["event"] for r in records}


async def test_json_max_errors_abort_every_line_json(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """--max-errors reached (exit 3): every line JSON and under the run's ID."""
    ids = make_ids(1_000)
    poison = frozenset(ids[:5])
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(poison_ids=poison) as srv:
        code, _, err = await run_subprocess(json_args(source, "--max-errors", "2"),
                                            cli_env(srv.base_url))
        assert code == 3, err
        assert_nothing_lost(ids[:100], srv, ckpt_dir(source) / "failed.txt")
    records = json_records(err)
    one_run_id(records)
    assert [r["level"] for r in records if r["event"] == "error"] == ["error"]


# --------------------------------------------------------------------------- log file


async def test_log_file_across_runs_tells_each_runs_closing_events_apart(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """The log file is appended across runs: a canary, a run stopped by SIGINT and the
    run that completes. Each ``finished`` and the ``shutdown`` carry their run's ID, the
    IDs the report lists; timestamps in the file and in the report share one format."""
    ids = make_ids(10_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    log_file = tmp_path / "run.log"
    argv = [*CLI, *delete_args(source, "--log-file", str(log_file))]
    async with fake_server(latency=0.05) as srv:
        env = cli_env(srv.base_url)
        code, _, err = await run_subprocess([*argv, "--limit", "1000"], env)
        assert code == 0, err
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        await wait_for_acks(srv, 3_000)
        proc.send_signal(signal.SIGINT)
        _, stopped_err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 130, stopped_err.decode()
        answer_at_once(srv)
        code, _, err = await run_subprocess(argv, env)
        assert code == 0, err
        assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
    events = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert all(TIMESTAMP.match(e["timestamp"]) and e.get("level") for e in events)
    runs = [run["run_id"] for run in report_of(source)["runs"]]
    assert len(runs) == 3
    finished = [e.get("run_id") for e in events if e["event"] == "finished"]
    assert finished == runs
    shutdown = [e.get("run_id") for e in events if e["event"] == "shutdown"]
    assert shutdown == [runs[1]]
    assert all(e.get("run_id") in runs for e in events), [
        e["event"] for e in events if e.get("run_id") not in runs]
    report = report_of(source)
    assert all(TIMESTAMP.match(run["started"]) and TIMESTAMP.match(run["ended"])
               for run in report["runs"])


def test_status_shows_the_one_timestamp_format(tmp_path: Path) -> None:
    """``status`` prints the checkpoint's last update in the logs' format."""
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    with serve_in_thread() as srv:
        done = _run_sync([*CLI, *delete_args(source)], cli_env(srv.base_url))
        assert done.returncode == 0, done.stderr
        assert_nothing_lost(make_ids(300), srv, ckpt_dir(source) / "failed.txt")
    status = _run_sync([*CLI, "status", str(ckpt_dir(source))])
    assert status.returncode == 0, status.stderr
    match = re.search(r"last update (\S+)", status.stdout)
    assert match is not None, status.stdout
    assert TIMESTAMP.match(match.group(1)), status.stdout


# --------------------------------------------------------------------------- output places


def test_dry_run_plan_goes_to_stdout_so_a_redirect_keeps_it(tmp_path: Path) -> None:
    """``--dry-run > plan.txt``: the plan is in the file; stderr holds no plan line."""
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    plan = tmp_path / "plan.txt"
    with plan.open("w") as out:
        proc = _run_sync([*CLI, "delete", str(source), "--id-type", "guid", "--dry-run",
                          "--no-preflight"], stdout=out)
    assert proc.returncode == 0, proc.stderr
    text = plan.read_text()
    assert "dry run: nothing will be sent" in text
    assert "300 valid" in text
    assert re.search(r"estimate:.*requests", text), text
    assert "nothing will be sent" not in proc.stderr
    assert not ckpt_dir(source).exists()


async def test_an_abort_is_said_once_on_the_console(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A 401 abort mid-run (the preflight and baseline off, so the run meets it) on a console: the
    error is one line, not an ``aborted`` event and then the same text again; nothing after
    it but that line."""
    source = write_ids(tmp_path / "ids.txt", make_ids(500))
    async with fake_server() as srv:
        code, _, err = await run_subprocess(
            [*CLI, *delete_args(source, "--no-preflight", "--baseline", "0")],
            cli_env(srv.base_url, CLEVERTAP_PASSCODE="wrong"))
    assert code == 3, err
    lines = err.splitlines()
    # A whole word: a random port such as 40153 is not the status.
    assert [line for line in lines if re.search(r"\b401\b", line)] == [lines[-1]], lines
    assert lines[-1].startswith("bulkdelete: error: HTTP 401"), lines


@pytest.mark.parametrize("case", ["status-missing", "input-missing"])
def test_an_error_is_one_line_with_no_finished_line_after_it(case: str, tmp_path: Path) -> None:
    """``status`` of a missing folder, a delete of a missing input: exit 2 and exactly one
    line on stderr, the error; no ``finished`` line after it, on either stream."""
    missing = tmp_path / "nowhere"
    argv = ([*CLI, "status", str(missing)] if case == "status-missing"
            else [*CLI, "delete", str(missing), "--id-type", "guid", "--yes"])
    proc = _run_sync(argv)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("bulkdelete: error:"), lines
    assert "finished" not in proc.stdout + proc.stderr


async def test_throttling_changes_are_summarised_not_a_line_per_step(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A 429 storm (server limit 1, --concurrency 6): the limiter steps many times, but
    the console shows at most a couple of ``concurrency_changed`` lines, each saying how
    many steps it stands for."""
    ids = make_ids(6_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=1, latency=0.002) as srv:
        code, _, err = await run_subprocess(
            # No baseline: its lookups, throttled too, would have their own summary line.
            [*CLI, *delete_args(source, "--concurrency", "6", "--batch-size", "20",
                                "--baseline", "0")],
            cli_env(srv.base_url), timeout=120)
        assert code == 0, err
        assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
        assert srv.stats.throttled > 5
    changes = [line for line in err.splitlines() if "concurrency_changed" in line]
    assert 1 <= len(changes) <= 3, changes
    steps = sum(int(m) for line in changes for m in re.findall(r"changes=(\d+)", line))
    assert steps > len(changes), changes  # several steps per line: summarised


def _run_sync(argv: list[str], env: dict[str, str] | None = None,
              stdout: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env or cli_env(), stdin=subprocess.DEVNULL,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120, check=False)
