"""The command line as an operator drives it, before anything is sent or without sending:
help and version, usage errors, unusable input, the dry run, and ``status``
(docs/cli.md, docs/exit-codes.md, docs/guarantees.md §7).

Most tests call ``main(argv)`` in-process (fast, output through capsys). ``main`` runs
``asyncio.run``, so the fake server for those runs on its own loop in a background thread
(:func:`tests.e2e.support.serve_in_thread`). What only a real process shows — ``python -m``,
stdin that is not a terminal — runs as a subprocess. Every test that sends anything ends
with the nothing-lost check against the server's record of acknowledged IDs
(docs/guarantees.md §1).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bulkdelete import __version__
from bulkdelete.fake import FakeServer
from tests.conftest import (
    CLI,
    PASSCODE,
    assert_nothing_lost,
    cli_env,
    delete_args,
    make_ids,
    write_ids,
)
from tests.e2e.support import (
    assert_one_error_line,
    ckpt_dir,
    cli,
    report_of,
    run_subprocess,
    write_mixed,
)

pytestmark = pytest.mark.usefixtures("reset_logging")


# --------------------------------------------------------------------------- help, version


@pytest.mark.parametrize("command", [[], ["delete"], ["status"], ["fake-server"], ["demo"]])
def test_help_works_for_every_command(
    command: list[str], creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--help`` exits 0 with a usage text for the top level and every subcommand."""
    code, out, err = cli(capsys, *command, "--help")
    assert code == 0, err
    assert out.startswith("usage: bulkdelete")
    if not command:
        for name in ("delete", "status", "fake-server", "demo"):
            assert name in out


def test_fake_server_help_lists_its_own_options(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fake server's options are in the one parser, listed in its help."""
    code, out, _ = cli(capsys, "fake-server", "--help")
    assert code == 0
    for option in ("--latency", "--concurrency-limit", "--record", "--p-429", "--seed"):
        assert option in out


def test_starting_the_cli_leaves_anyio_unimported() -> None:
    """anyio was measured out (asyncio's TaskGroup and timeout do the same, cheaper): no
    part of the delete command may bring it back in."""
    probe = (
        "import sys; from bulkdelete.cli import build_parser; "
        "build_parser().parse_args(['delete', 'x', '--id-type', 'guid']); "
        "print(sorted(m for m in ('anyio',) if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_delete_help_shows_examples_and_every_option(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``delete --help`` documents every option of docs/cli.md's table, the environment
    variables and worked examples."""
    code, out, _ = cli(capsys, "delete", "--help")
    assert code == 0
    assert "examples:" in out
    assert "bulkdelete delete ids.txt --id-type guid --dry-run" in out
    options = [
        "--id-type", "--account-id", "CLEVERTAP_ACCOUNT_ID", "CLEVERTAP_PASSCODE",
        "--passcode-file", "--region", "CLEVERTAP_REGION", "--base-url", "CLEVERTAP_BASE_URL",
        "--concurrency", "--rate", "--batch-size", "--timeout", "--format", "--column",
        "--checkpoint", "--restart", "--failed", "--report", "--dry-run", "--limit",
        "--max-delete", "--max-errors", "--stall-timeout", "--yes", "--no-progress",
        "--log-format", "--log-file", "-q",
    ]
    missing = [option for option in options if option not in out]
    assert not missing, missing
    for choice in ("guid", "identity", "lines", "csv", "jsonl", "console", "json"):
        assert choice in out


async def test_python_m_version() -> None:
    """``python -m bulkdelete --version`` prints the package version and exits 0."""
    code, out, err = await run_subprocess([*CLI, "--version"], cli_env())
    assert code == 0, err
    assert out.strip() == f"bulkdelete {__version__}"


# --------------------------------------------------------------------------- usage errors


USAGE_ERRORS: dict[str, tuple[list[str], dict[str, str | None], tuple[str, ...]]] = {
    # name: (extra argv, environment changes (None = unset), fragments of the error line)
    "missing --id-type": (["--no-id-type"], {}, ("required", "--id-type")),
    "batch size 0": (["--batch-size", "0"], {}, ("--batch-size", "1..100")),
    "batch size 101": (["--batch-size", "101"], {}, ("--batch-size", "1..100")),
    "concurrency 0": (["--concurrency", "0"], {}, ("--concurrency",)),
    "missing account": ([], {"CLEVERTAP_ACCOUNT_ID": None}, ("account",
                                                              "CLEVERTAP_ACCOUNT_ID")),
    "missing passcode": ([], {"CLEVERTAP_PASSCODE": None}, ("passcode",
                                                            "CLEVERTAP_PASSCODE")),
    "unreadable passcode file": (["--passcode-file", "{tmp}/no-such-passcode"],
                                 {"CLEVERTAP_PASSCODE": None}, ("--passcode-file",)),
    "passcode file is a directory": (["--passcode-file", "{tmp}"], {}, ("--passcode-file",)),
    "unknown region": (["--region", "xx9"], {"CLEVERTAP_BASE_URL": None},
                       ("--region", "xx9", "eu1")),
    "plain http off loopback": (["--base-url", "http://10.1.2.3"], {},
                                ("http://", "10.1.2.3")),
    "bad --max-errors": (["--max-errors", "abc"], {}, ("--max-errors",)),
    "bad --format": (["--format", "xml"], {}, ("--format",)),
}


@pytest.mark.parametrize("name", list(USAGE_ERRORS))
def test_usage_errors_exit_2_with_one_clear_line(
    name: str, tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad flag or missing credential: exit 2, one ``error:`` line naming the problem, no
    traceback, nothing sent and no checkpoint left behind."""
    extra, env, fragments = USAGE_ERRORS[name]
    source = write_ids(tmp_path / "ids.txt", make_ids(10))
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    argv = delete_args(source, *[a.replace("{tmp}", str(tmp_path)) for a in extra])
    if "--no-id-type" in argv:
        argv = [a for a in argv if a not in ("--no-id-type", "--id-type", "guid")]
    code, out, err = cli(capsys, *argv)
    assert_one_error_line(code, out, err, *fragments)
    assert server.stats.requests == 0
    assert not ckpt_dir(source).exists()
    assert PASSCODE not in out + err


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("missing", ("not found", "missing.txt")),
        ("directory", ("is a directory",)),
        ("-", ("stdin", "cannot be resumed")),
    ],
)
def test_unusable_input_exits_2_and_sends_nothing(
    name: str, fragments: tuple[str, ...], tmp_path: Path, server: FakeServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """A missing file, a directory or stdin ("-") is refused with one clear line saying
    why (stdin: a pipe cannot be resumed), before anything is sent or written."""
    monkeypatch.chdir(tmp_path)  # "-" would put its checkpoint in the working directory
    if name == "missing":
        source = tmp_path / "missing.txt"
    elif name == "directory":
        source = tmp_path / "a-directory"
        source.mkdir()
    else:
        source = Path("-")
    code, out, err = cli(capsys, *delete_args(source))
    assert_one_error_line(code, out, err, *fragments)
    assert server.stats.requests == 0
    assert list(tmp_path.glob("*.bulkdelete")) == []


def test_csv_without_the_requested_column_names_the_columns_it_has(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--column`` that the CSV header lacks: exit 2, the message lists the header's
    columns so the operator can pick the right one; nothing is sent."""
    source = tmp_path / "ids.csv"
    source.write_text("user_id,name\nid-1,Ann\nid-2,Bob\n", encoding="utf-8")
    code, out, err = cli(capsys, *delete_args(source, "--column", "email"))
    assert_one_error_line(code, out, err, "email", "user_id", "name", "--column")
    assert server.stats.requests == 0


def test_jsonl_without_the_requested_field_names_the_fields_it_has(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSON field that the first object lacks: exit 2, naming the fields it has."""
    source = tmp_path / "ids.jsonl"
    source.write_text('{"user_id": "id-1", "name": "Ann"}\n', encoding="utf-8")
    code, out, err = cli(capsys, *delete_args(source, "--column", "email"))
    assert_one_error_line(code, out, err, "email", "user_id", "--column")
    assert server.stats.requests == 0


def test_empty_file_finishes_with_zero_ids_and_sends_nothing(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty input is not an error: the job is complete with 0 IDs (exit 0), the
    summary says so, nothing is sent and the report records it."""
    source = tmp_path / "empty.txt"
    source.write_bytes(b"")
    code, out, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    assert "Traceback" not in out + err
    assert "job complete: 0 deleted, 0 failed, 0 invalid lines, of 0 IDs" in err
    assert server.stats.requests == 0
    report = report_of(source)
    assert (report["ids_total"], report["complete"], report["exit_code"]) == (0, True, 0)
    assert_nothing_lost([], server, ckpt_dir(source) / "failed.txt")


# --------------------------------------------------------------------------- dry run


def test_dry_run_prints_the_plan_and_sends_nothing(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--dry-run`` (no --yes, no terminal) counts valid IDs, lists invalid lines with
    their numbers and reasons, the batches and a time estimate; it sends nothing and
    creates no checkpoint."""
    source = tmp_path / "ids.txt"
    write_mixed(source)
    code, out, err = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run")
    assert code == 0, err
    text = out + err
    assert "nothing will be sent" in text
    assert "300 valid, 3 invalid lines, 3 batches" in text
    assert "invalid line 251: longer than 512 characters" in text
    assert "invalid line 252: not valid UTF-8" in text
    assert "invalid line 253: control character" in text
    # With credentials the preflight's measured round trip sets the pace: under 1 s here.
    assert re.search(r"estimate:.*3 requests.*\(the preflight's round trip\): under 1 s",
                     text), text
    assert "about under" not in text
    assert server.stats.requests == 0
    assert not ckpt_dir(source).exists()
    assert "x" * 600 not in text  # invalid lines are described, never echoed


def test_dry_run_estimate_follows_the_batch_size(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """300 IDs at --batch-size 10 are 30 requests; one at a time at ~1 s each (assumed
    without a preflight) that is about 30 s, not 3 s."""
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    code, out, _ = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run",
                       "--batch-size", "10", "--concurrency", "1", "--no-preflight")
    assert code == 0
    assert "30 requests at concurrency 1" in out
    assert "about 30 s" in out, out


def test_dry_run_estimate_counts_this_runs_requests_under_limit(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --limit 100 a 300-ID job sends 1 request this run; the estimate says so."""
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    code, out, _ = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run",
                       "--limit", "100")
    assert code == 0
    assert "deletes 100 IDs" in out
    assert re.search(r"estimate:\s+1 requests?\b", out), out


def test_dry_run_estimate_respects_the_rate_ceiling(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """10 requests at ``--rate 0.5`` cannot take less than ~18 s, whatever the
    concurrency; the estimate must not promise 3 s. (No baseline: its 100 lookups would
    take 200 s at that rate, and are not what this test is about.)"""
    source = write_ids(tmp_path / "ids.txt", make_ids(1_000))
    code, out, _ = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run",
                       "--rate", "0.5", "--baseline", "0")
    assert code == 0
    match = re.search(r"about (\d+) s\b", out)
    assert match is not None, out
    assert int(match.group(1)) >= 18, out


def test_dry_run_on_a_started_job_plans_what_remains(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a canary, the dry run shows a resume that deletes only what remains, and
    leaves the checkpoint untouched."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    assert cli(capsys, *delete_args(source, "--limit", "200"))[0] == 0
    before = snapshot(ckpt_dir(source))
    sent = server.stats.requests
    code, plan, _ = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run")
    assert code == 0
    assert server.stats.requests == sent
    assert snapshot(ckpt_dir(source)) == before
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    assert "(resume)" in plan, plan
    assert "deletes 800 IDs" in plan, plan


# --------------------------------------------------------------------------- status


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file's bytes, mtime and mode: what "read-only" must leave unchanged."""
    return {
        path.name: (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_mode)
        for path in sorted(directory.iterdir())
    }


def test_status_shows_progress_and_the_resume_command_read_only(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``status`` on an incomplete job prints done/total and the command to resume;
    ``status --json`` prints the report; neither changes a byte or an mtime in the
    checkpoint directory, and the job still finishes afterwards."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    assert cli(capsys, *delete_args(source, "--limit", "200"))[0] == 0
    before = snapshot(ckpt_dir(source))
    time.sleep(0.01)  # an mtime touched by status would differ

    code, out, err = cli(capsys, "status", str(ckpt_dir(source)))
    assert code == 0, err
    assert "200 of 1,000 IDs handled" in out
    assert "incomplete" in out
    assert "resume with:" in out
    assert f"bulkdelete delete {source} --id-type guid" in out

    code, out, err = cli(capsys, "status", str(ckpt_dir(source)), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["ids_total"], report["ids_deleted"], report["complete"]) == \
        (1_000, 200, False)
    assert snapshot(ckpt_dir(source)) == before

    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


def test_status_of_a_missing_checkpoint_exits_2(
    tmp_path: Path, creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``status`` on a directory that holds no checkpoint: exit 2, one line, and it
    creates nothing."""
    missing = tmp_path / "nothing.bulkdelete"
    code, out, err = cli(capsys, "status", str(missing))
    assert_one_error_line(code, out, err, "no checkpoint", str(missing))
    assert not missing.exists()
