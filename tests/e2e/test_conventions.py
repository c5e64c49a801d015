"""The conventions an operator's other CLIs keep (docs/cli.md), tested as a user meets them,
through a real ``python -m bulkdelete`` process: help that fits and is grouped, output
options before the command, a JSON result on stdout, a closed pipe, the refusal off a
terminal that comes before anything is counted or sent, and shell completion."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer
from tests.conftest import (
    CLI,
    assert_nothing_lost,
    cli_env,
    cli_start,
    delete_args,
    make_ids,
    write_ids,
)
from tests.e2e.support import ckpt_dir, one_error_line, report_of, run_subprocess


async def test_delete_help_is_grouped_and_fits_100_columns() -> None:
    code, out, err = await run_subprocess([*CLI, "delete", "--help"], cli_env(COLUMNS="100"))
    assert code == 0, err
    long = [line for line in out.splitlines() if len(line) > 100]
    assert long == []
    titles = [line[:-1] for line in out.splitlines() if line.endswith(":")
              and not line.startswith(" ")]
    assert titles[titles.index("target and credentials"):][:7] == [
        "target and credentials", "input", "job files", "pacing", "safety", "output",
        "audit trail"]
    for shown in ("--timeout SECONDS", "--base-url URL", "--log-file PATH", "--batch-size N",
                  "--region {eu1,in1,sg1,us1,aps3,mec1}", "(default 100)", "(default auto)",
                  "(default console)", "flag beats the environment, which beats --profile"):
        assert shown in out


async def test_bare_bulkdelete_prints_the_help() -> None:
    code, _, err = await run_subprocess(CLI, cli_env())
    assert code == 2
    assert err.startswith("usage: bulkdelete")
    assert "error:" not in err
    for command in ("delete", "verify", "status", "completion"):
        assert f"    {command} " in err


async def test_output_options_before_the_command(tmp_path: Path, server: FakeServer) -> None:
    """``bulkdelete --log-format json -q --log-file F delete ...`` as after the command."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    log = tmp_path / "run.jsonl"
    code, _, err = await run_subprocess(
        [*CLI, "--log-format", "json", "-q", "--log-file", str(log), *delete_args(source)],
        cli_env(server.base_url))
    assert code == 0, err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    records = [json.loads(line) for line in err.splitlines()]  # every stderr line is JSON
    events = {record["event"] for record in records}
    assert "summary" in events
    assert "start" not in events  # -q: info events stay off the console...
    assert "start" in {json.loads(line)["event"] for line in log.read_text().splitlines()}


async def test_delete_json_prints_the_report_on_stdout_and_nothing_else(
    tmp_path: Path, server: FakeServer,
) -> None:
    ids = make_ids(250)
    source = write_ids(tmp_path / "ids.txt", ids)
    code, out, err = await run_subprocess([*CLI, *delete_args(source, "--json")],
                                          cli_env(server.base_url))
    assert code == 0, err
    assert json.loads(out) == report_of(source)
    assert report_of(source)["ids_deleted"] == len(ids)
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    assert "IDs" in err  # the summary for people is still there, on stderr

    code, out, err = await run_subprocess(
        [*CLI, "verify", str(source), "--id-type", "guid", "--json", "--no-progress"],
        cli_env(server.base_url))
    assert code == 0, err
    assert json.loads(out) == json.loads((ckpt_dir(source) / "verify.json").read_text())
    assert json.loads(out)["checked"] == len(ids)

    code, out, err = await run_subprocess([*CLI, "status", str(source), "--json"], cli_env())
    assert code == 0, err
    status = json.loads(out)
    assert (status["input"], status["checkpoint"]) == (str(source), str(ckpt_dir(source)))
    assert (status["held_by_a_run"], status["resume_command"]) == (False, None)
    assert status["ids_deleted"] == len(ids)


async def test_status_json_of_a_canary_gives_the_command_that_continues(
    tmp_path: Path, server: FakeServer,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    code, _, err = await run_subprocess([*CLI, *delete_args(source, "--limit", "100")],
                                        cli_env(server.base_url))
    assert code == 0, err
    code, out, err = await run_subprocess([*CLI, "status", str(source), "--json"], cli_env())
    assert code == 0, err
    command = json.loads(out)["resume_command"]
    assert command.startswith(f"bulkdelete delete {source} --id-type guid")


async def test_a_dry_run_json_is_one_object_with_the_plan(
    tmp_path: Path, server: FakeServer,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(250))
    code, out, err = await run_subprocess(
        [*CLI, *delete_args(source, "--dry-run", "--json")], cli_env(server.base_url))
    assert code == 0, err
    plan = json.loads(out)
    assert (plan["dry_run"], plan["ids_total"], plan["requests"]) == (True, 250, 3)
    assert "dry run: nothing will be sent" in err
    assert server.stats.requests == 0


async def _with_stdout_closed(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The command with a stdout whose reader has already left (`... | head` done)."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=write,
            stderr=asyncio.subprocess.PIPE)
    finally:
        os.close(write)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_a_closed_pipe_is_not_an_error_for_read_only_output(
    tmp_path: Path, server: FakeServer,
) -> None:
    ids = make_ids(250)
    source = write_ids(tmp_path / "ids.txt", ids)
    env = cli_env(server.base_url)
    code, err = await _with_stdout_closed([*CLI, *delete_args(source, "--dry-run")], env)
    assert code == 0, err
    for said in ("error", "Broken pipe", "BrokenPipeError", "Traceback"):
        assert said not in err  # the preflight's event is all it has to say
    code, _, err = await run_subprocess([*CLI, *delete_args(source)], env)
    assert code == 0, err
    for json_flag in ([], ["--json"]):
        code, err = await _with_stdout_closed([*CLI, "status", str(source), *json_flag], env)
        assert (code, err) == (0, "")
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


async def test_off_a_terminal_without_yes_it_refuses_before_counting_or_sending(
    tmp_path: Path, server: FakeServer,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    argv = [*CLI, "delete", str(source), "--id-type", "guid", "--log-format", "json"]
    code, out, err = await run_subprocess(argv, cli_env(server.base_url))
    assert code == 2
    one_error_line(err, "--yes", "not running on a terminal")
    assert "counting_input" not in err
    assert (server.stats.requests, server.stats.profile_requests) == (0, 0)
    assert not ckpt_dir(source).exists()
    assert out == ""


async def test_off_a_terminal_without_yes_a_finished_jobs_rerun_still_prints_its_summary(
    tmp_path: Path, server: FakeServer,
) -> None:
    """Nothing to confirm: the rerun sends nothing, says so, and exits with the job's code."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    argv = [*CLI, "delete", str(source), "--id-type", "guid", "--baseline", "0"]
    code, _, err = await run_subprocess([*argv, "--yes"], cli_env(server.base_url))
    assert code == 0, err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    sent = server.stats.requests, server.stats.profile_requests
    code, _, err = await run_subprocess(argv, cli_env(server.base_url))
    assert code == 0, err
    assert "already finished: nothing was sent" in err
    assert (server.stats.requests, server.stats.profile_requests) == sent


def _completion(shell: str, tmp_path: Path) -> Path:
    path = tmp_path / f"bulkdelete.{shell}"
    with path.open("w") as out:
        proc = subprocess.run([*CLI, "completion", shell], stdout=out, env=cli_env(),
                              timeout=60, check=False)
    assert proc.returncode == 0
    return path


async def test_the_bash_completion_loads(tmp_path: Path) -> None:
    script = _completion("bash", tmp_path)
    code, out, err = await run_subprocess(
        ["bash", "-c", f"source {script} && complete -p bulkdelete"], cli_env())
    assert code == 0, err
    assert out.strip().endswith(" bulkdelete")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
async def test_the_zsh_and_fish_completions_parse(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed here (apt-get install {shell})")
    script = _completion(shell, tmp_path)
    code, _, err = await run_subprocess([shell, "-n", str(script)], cli_env())
    assert code == 0, err
    if shell == "fish":  # and completes what the parser holds
        code, out, err = await run_subprocess(
            ["fish", "-c", f"source {script}; complete -C'bulkdelete delete x --reg'"],
            cli_env())
        assert out.startswith("--region"), (out, err)


async def test_a_stopped_verify_json_still_prints_its_counts_so_far(
    tmp_path: Path, server: FakeServer,
) -> None:
    ids = make_ids(3000)
    source = write_ids(tmp_path / "ids.txt", ids)
    # No baseline: every lookup of a job's ID the server then hears is the verify's.
    code, _, err = await run_subprocess([*CLI, *delete_args(source, "--baseline", "0")],
                                        cli_env(server.base_url))
    assert code == 0, err
    proc = await cli_start([*CLI, "verify", str(source), "--id-type", "guid", "--sample", "3000",
                            "--json", "--no-progress"], server.base_url)
    async with asyncio.timeout(60):
        while len(set(server.stats.looked_up) & set(ids)) < 300:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 143, stderr
    counts = json.loads(stdout.decode())
    assert 300 <= counts["checked"] < len(ids)
    assert counts["gone"] == counts["checked"]
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
