"""Exit codes of a canary and of a finished job, and what a rerun of a finished job says
(docs/exit-codes.md): it sends nothing, and when IDs failed it prints the command that
retries them, which a subprocess then runs to the end. Nothing lost throughout
(docs/guarantees.md §1)."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import (
    CLI,
    assert_nothing_lost,
    cli_env,
    delete_args,
    make_ids,
    read_lines,
    write_ids,
)
from tests.e2e.support import ckpt_dir, cli, report_of, serve_in_thread

pytestmark = pytest.mark.usefixtures("reset_logging")


def test_a_canary_with_one_rejected_id_exits_1_and_says_the_job_is_incomplete(
    tmp_path: Path, creds: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 1 means some IDs of the job failed, for a --limit canary too; whether the job
    is complete is in the summary line and the report's ``complete``."""
    ids = make_ids(3_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(poison_ids=frozenset({ids[10]})) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        code, _, err = cli(capsys, *delete_args(source, "--limit", "1000"))
        failed = assert_nothing_lost(ids[:1_000], srv, ckpt_dir(source) / "failed.txt")
    assert code == 1, err
    assert failed == {ids[10]}
    assert "job incomplete (1,000 of 3,000 handled)" in err
    assert "Continue with:" in err
    report = report_of(source)
    assert (report["complete"], report["exit_code"], report["ids_failed"]) == (False, 1, 1)


def test_delete_help_states_the_exit_codes_as_the_docs_do(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``delete --help`` lists the exit codes in docs/exit-codes.md's terms: 1 is "some
    IDs failed", whether or not the job is complete, for a canary too."""
    code, out, _ = cli(capsys, "delete", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "exit codes (docs/exit-codes.md):" in text
    assert ("0 this run finished what it was asked (the whole job, or a --limit canary) and "
            "no ID of the job has failed") in text
    assert ("1 this run finished what it was asked and some IDs of the job failed (in the "
            "failed file); whether the job is complete is in the summary line and the "
            'report\'s "complete", for a canary too') in text
    for code_text in ("2 usage, input or precondition error", "3 aborted",
                      "130, 143, 129 stopped by SIGINT, SIGTERM, SIGHUP"):
        assert code_text in text


def test_a_finished_job_rerun_prints_a_retry_command_that_retries_the_failed_ids(
    tmp_path: Path, creds: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Rerunning a finished job with failed IDs sends nothing, exits 1 and prints the exact
    command that retries them; run as a subprocess once the cause is gone, that command
    deletes them all and exits 0."""
    ids = make_ids(500)
    poison = {ids[7], ids[321]}
    source = write_ids(tmp_path / "ids.csv", ["guid", *ids])
    argv = delete_args(source, "--column", "guid", "--concurrency", "2")
    with serve_in_thread(poison_ids=frozenset(poison)) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        assert cli(capsys, *argv)[0] == 1
        sent = srv.stats.requests
        code, _, err = cli(capsys, *argv)
        assert srv.stats.requests == sent  # the rerun sent nothing
        assert assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt") == poison
    assert code == 1, err
    assert "already finished: nothing was sent" in err
    assert "job complete: 498 deleted, 2 failed" in err
    lines = err.splitlines()
    command = lines[lines.index(next(line for line in lines if "retry the failed IDs" in line))
                    + 1].strip()
    retry = shlex.split(command)
    assert retry[:3] == ["bulkdelete", "delete", str(ckpt_dir(source) / "failed.txt")]
    new_checkpoint = tmp_path / "ids.csv-retry.bulkdelete"
    assert retry[-4:] == ["--format", "lines", "--checkpoint", str(new_checkpoint)]
    assert "--column" not in retry
    assert "--restart" in err

    with serve_in_thread() as fixed:
        done = subprocess.run([*CLI, *retry[1:]], env=cli_env(fixed.base_url), cwd=tmp_path,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert assert_nothing_lost(poison, fixed, new_checkpoint / "failed.txt") == set()
        assert set(fixed.stats.acknowledged) == poison
    assert read_lines(new_checkpoint / "failed.txt") == []
    retried = json.loads((new_checkpoint / "report.json").read_text())
    assert (retried["ids_total"], retried["ids_deleted"], retried["complete"]) == (2, 2, True)


def test_a_dry_run_of_a_finished_job_says_finished_not_resume(
    tmp_path: Path, creds: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The plan of a finished job is not a "(resume)": it says the job is finished, that a
    run sends nothing, and prints the retry command for its failed IDs."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(poison_ids=frozenset({ids[1]})) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        assert cli(capsys, *delete_args(source))[0] == 1
        sent = srv.stats.requests
        code, out, plan = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run")
        assert srv.stats.requests == sent
        assert assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt") == {ids[1]}
    plan += out
    assert code == 0, plan
    assert "(resume)" not in plan
    assert "3 batches (finished)" in plan
    assert "this run:   sends nothing: the job is finished" in plan
    assert f"bulkdelete delete {ckpt_dir(source) / 'failed.txt'} --id-type guid" in plan
    assert f"--checkpoint {tmp_path / 'ids.txt-retry.bulkdelete'}" in plan
