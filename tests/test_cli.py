"""The command line as an operator drives it (spec §3, §4.7, §4.8, §5, §6).

Most tests call ``main(argv)`` in-process (fast, output through capsys). ``main`` runs
``asyncio.run``, so the fake server for those runs on its own loop in a background thread
(:func:`serve_in_thread`). What only a real process shows — ``python -m``, stdin that is not
a terminal, the log file, the demo, signals to the fake server — runs as a subprocess
against the fake server in the test's own loop. Every test that sends anything ends with
the nothing-lost check against the server's record of acknowledged IDs (spec §4.1).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog

from bulkdelete import __version__
from bulkdelete.cli import main
from bulkdelete.fake import FakeServer, FakeServerConfig
from tests.conftest import (
    ACCOUNT,
    CLI,
    PASSCODE,
    ServerFactory,
    assert_nothing_lost,
    cli_env,
    make_ids,
    write_ids,
)

# --------------------------------------------------------------------------- helpers


@contextmanager
def serve_in_thread(**knobs: Any) -> Iterator[FakeServer]:
    """The shipped fake server on its own event loop in a background thread, for callers
    that block the test's thread: in-process ``main()`` (it calls ``asyncio.run``) and
    pexpect. Keyword arguments are FakeServerConfig knobs; it accepts the test account."""
    knobs.setdefault("account_id", ACCOUNT)
    knobs.setdefault("passcode", PASSCODE)
    knobs.setdefault("seed", 1234)
    server = FakeServer(FakeServerConfig(**knobs))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-server", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """main() configures structlog process-wide; leave it as other test modules expect."""
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials by environment, as an operator would set them; no region or base URL."""
    for name in ("CLEVERTAP_REGION", "CLEVERTAP_BASE_URL", "CLEVERTAP_ACCOUNT_ID",
                 "CLEVERTAP_PASSCODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLEVERTAP_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLEVERTAP_PASSCODE", PASSCODE)
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps help to this width


@pytest.fixture
def server(creds: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """A fake server in a thread, with CLEVERTAP_BASE_URL pointing at it."""
    with serve_in_thread(latency=0.001) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        yield srv


def run_main(argv: list[str]) -> int:
    """``main(argv)``; argparse's own exits (--help, usage errors) become their code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run main() in-process; return the exit code, stdout and stderr."""
    code = run_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def delete_args(source: Path, *extra: str) -> list[str]:
    """An unattended delete: --yes, no progress bar, a short request timeout."""
    return ["delete", str(source), "--id-type", "guid", "--yes", "--no-progress",
            "--timeout", "5", *extra]


def ckpt_dir(source: Path) -> Path:
    return source.with_name(source.name + ".bulkdelete")


def report_of(source: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ckpt_dir(source) / "report.json").read_text())
    return data


def assert_one_error_line(code: int, out: str, err: str, *fragments: str) -> str:
    """Exit 2, no traceback, exactly one ``error:`` line, naming every fragment."""
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


async def run_subprocess(
    argv: list[str], env: dict[str, str], *, cwd: Path | None = None, timeout: float = 60,
) -> tuple[int, str, str]:
    """A CLI subprocess with stdin that is not a terminal; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def write_mixed(path: Path) -> list[str]:
    """300 valid IDs with three invalid lines in the middle (lines 251, 252, 253): one over
    512 characters, one with undecodable bytes, one with a control character."""
    ids = make_ids(300)
    with path.open("wb") as out:
        for ident in ids[:250]:
            out.write(f"{ident}\n".encode())
        out.write(b"x" * 600 + b"\n")
        out.write(b"bad-\xff\xfe-bytes\n")
        out.write(b"ctl\x01char\n")
        for ident in ids[250:]:
            out.write(f"{ident}\n".encode())
    return ids


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
    """The fake server's options are added only when its command is asked for; its help
    must still list them all."""
    code, out, _ = cli(capsys, "fake-server", "--help")
    assert code == 0
    for option in ("--latency", "--concurrency-limit", "--record", "--p-429", "--seed"):
        assert option in out


def test_starting_the_cli_leaves_the_server_side_and_unused_libraries_unimported() -> None:
    """Start-up cost is paid by every run: the delete command must not import aiohttp's
    server side (the fake server's), anyio, or aiolimiter (needed only with --rate)."""
    probe = (
        "import sys; from bulkdelete.cli import build_parser; "
        "build_parser(fake_server_options=False).parse_args(['delete', 'x', '--id-type', 'guid']); "
        "print(sorted(m for m in ('aiohttp.web', 'anyio', 'aiolimiter') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_delete_help_shows_examples_and_every_option(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``delete --help`` documents every option of spec §3's table, the environment
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
                       ("unknown region", "eu1")),
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
    assert re.search(r"estimate:.*3 requests.*about \d+ s", text), text
    assert server.stats.requests == 0
    assert not ckpt_dir(source).exists()
    assert "x" * 600 not in text  # invalid lines are described, never echoed


def test_dry_run_estimate_follows_the_batch_size(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """300 IDs at --batch-size 10 are 30 requests; one at a time at ~1 s each that is
    about 30 s, not 3 s."""
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    code, _, err = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run",
                       "--batch-size", "10", "--concurrency", "1")
    assert code == 0
    assert "30 requests at concurrency 1" in err
    assert "about 30 s" in err, err


def test_dry_run_estimate_counts_this_runs_requests_under_limit(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --limit 100 a 300-ID job sends 1 request this run; the estimate says so."""
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    code, _, err = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run",
                       "--limit", "100")
    assert code == 0
    assert "deletes 100 IDs" in err
    assert re.search(r"estimate:\s+1 requests?\b", err), err


def test_dry_run_estimate_respects_the_rate_ceiling(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """10 requests at ``--rate 0.5`` cannot take less than ~18 s, whatever the
    concurrency; the estimate must not promise 3 s."""
    source = write_ids(tmp_path / "ids.txt", make_ids(1_000))
    code, _, err = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run",
                       "--rate", "0.5")
    assert code == 0
    match = re.search(r"about (\d+) s\b", err)
    assert match is not None, err
    assert int(match.group(1)) >= 18, err


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
    code, _, plan = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run")
    assert code == 0
    assert server.stats.requests == sent
    assert snapshot(ckpt_dir(source)) == before
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    assert "(resume)" in plan, plan
    assert "deletes 800 IDs" in plan, plan


# --------------------------------------------------------------------------- safety rails


async def test_without_yes_off_a_terminal_refuses_and_sends_nothing(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """No --yes and stdin is not a terminal: exit 2, the message points to --yes (and
    --dry-run), and not a single request is sent."""
    source = write_ids(tmp_path / "ids.txt", make_ids(500))
    async with fake_server() as srv:
        code, out, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "guid", "--no-progress"],
            cli_env(srv.base_url),
        )
        assert code == 2, err
        assert "--yes" in err
        assert "Traceback" not in out + err
        assert srv.stats.requests == 0


def test_max_delete_refuses_a_bigger_run_and_allows_an_equal_one(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--max-delete 100`` on 1,000 IDs: exit 2, nothing sent, the message says how many
    it would send; ``--max-delete 1000`` goes ahead."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    code, out, err = cli(capsys, *delete_args(source, "--max-delete", "100"))
    assert_one_error_line(code, out, err, "--max-delete", "1,000")
    assert server.stats.requests == 0
    code, _, err = cli(capsys, *delete_args(source, "--max-delete", "1000"))
    assert code == 0, err
    assert report_of(source)["ids_deleted"] == 1_000
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


def test_limit_is_a_canary_and_a_rerun_finishes(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--limit 250`` deletes 3 whole batches and exits 0 with the job incomplete and the
    command to continue; the rerun without the limit finishes; two runs are reported and
    no ID is sent twice."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    code, _, err = cli(capsys, *delete_args(source, "--limit", "250"))
    assert code == 0, err
    assert "Continue with:" in err
    first = report_of(source)
    assert (first["complete"], first["ids_deleted"]) == (False, 300)
    assert len(server.stats.acknowledged) == 300
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    report = report_of(source)
    assert report["complete"] is True
    assert report["ids_deleted"] == 1_000
    assert [run["resumed"] for run in report["runs"]] == [False, True]
    assert [run["exit_code"] for run in report["runs"]] == [0, 0]
    assert max(server.stats.acknowledged.values()) == 1
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


# --------------------------------------------------------------------------- input formats


def _csv_input(path: Path, ids: list[str]) -> None:
    rows = ["name,user_id,note"]
    for n, ident in enumerate(ids):
        note = '"line one\nline two, with a comma"' if n == 7 else f"note {n}"
        rows.append(f'"Doe, {n}",{ident},{note}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _jsonl_input(path: Path, ids: list[str]) -> None:
    path.write_text("".join(json.dumps({"email": f"{n}@x", "user_id": ident}) + "\n"
                            for n, ident in enumerate(ids)), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("ids.csv", ["--column", "user_id"]),
        ("ids.csv.gz", ["--column", "user_id"]),
        ("ids.jsonl", ["--column", "user_id"]),
        ("ids.jsonl.gz", ["--column", "user_id"]),
        ("ids.export", ["--format", "csv", "--column", "user_id"]),
    ],
)
def test_input_formats_end_to_end(
    name: str, flags: list[str], tmp_path: Path, server: FakeServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """CSV (header, quoted fields holding commas and a newline) and JSON Lines, each also
    gzip'd, picked by extension with ``--format auto`` (or named with --format): every ID
    in the chosen column is deleted, no other column's value is ever sent."""
    ids = make_ids(450)
    source = tmp_path / name
    plain = tmp_path / "plain"
    (_jsonl_input if ".jsonl" in name else _csv_input)(plain, ids)
    if name.endswith(".gz"):
        source.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        plain.rename(source)
    code, _, err = cli(capsys, *delete_args(source, *flags))
    assert code == 0, err
    report = report_of(source)
    assert report["input_format"] == ("jsonl" if ".jsonl" in name else "csv")
    assert (report["ids_total"], report["ids_deleted"], report["lines_invalid"]) == \
        (450, 450, 0)
    assert set(server.stats.acknowledged) == set(ids)
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


def test_in_batch_duplicates_are_sent_once_and_counted_as_deleted(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ID repeated within a batch reaches the server once, yet each occurrence counts
    as deleted, so ids_deleted == ids_total."""
    ids = make_ids(300)
    lines = [ident for n, ident in enumerate(ids) for _ in range(2 if n % 6 == 0 else 1)]
    source = write_ids(tmp_path / "ids.txt", lines)
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    report = report_of(source)
    assert report["ids_total"] == len(lines) == 350
    assert report["ids_deleted"] == report["ids_total"]
    assert report["ids_failed"] == 0
    assert set(server.stats.acknowledged.values()) == {1}
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


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


# --------------------------------------------------------------------------- report


def test_report_has_every_field_and_the_console_agrees(
    tmp_path: Path, creds: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After a run with rejected IDs the report holds every field of spec §5, counts add
    up (deleted + failed == total), traffic matches what the server saw, and the console
    summary shows the same numbers."""
    ids = make_ids(1_000)
    poison = {ids[3], ids[500]}
    source = write_ids(tmp_path / "ids.txt", [*ids[:10], "", "y" * 513, *ids[10:]])
    with serve_in_thread(poison_ids=frozenset(poison), p_500=0.05) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        code, _, err = cli(capsys, *delete_args(source))
        assert code == 1, err
        failed = assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
        requests, host = srv.stats.requests, srv.base_url.split("//")[1]
    assert failed == poison
    report = report_of(source)
    fields = {"ids_total", "ids_deleted", "ids_failed", "lines_invalid", "batches_total",
              "complete", "exit_code", "fingerprint", "target", "requests", "retries",
              "throttled", "resent_after_crash", "runs", "elapsed_s"}
    assert fields <= set(report), fields - set(report)
    assert report["ids_total"] == 1_000
    assert (report["ids_deleted"], report["ids_failed"]) == (998, 2)
    assert report["ids_deleted"] + report["ids_failed"] == report["ids_total"]
    assert report["lines_invalid"] == 1
    assert report["batches_total"] == 10
    assert (report["complete"], report["exit_code"]) == (True, 1)
    assert report["fingerprint"]
    assert report["target"] == {"account_id": ACCOUNT, "host": host}
    assert report["requests"] == requests
    assert report["retries"] >= 1  # 5 % of ~30 requests answered 500, seeded
    assert report["resent_after_crash"] == 0
    assert isinstance(report["throttled"], int)
    (run,) = report["runs"]
    assert {"run_id", "started", "ended", "requests", "exit_code", "resumed"} <= set(run)
    assert (run["requests"], run["exit_code"], run["resumed"]) == (requests, 1, False)
    assert run["started"] <= run["ended"]
    assert report["elapsed_s"] == pytest.approx(run["elapsed_s"], abs=0.01)
    assert "998 deleted, 2 failed, 1 invalid lines, of 1,000 IDs" in err
    assert "failed IDs:" in err


# --------------------------------------------------------------------------- logs, secrets


def _assert_no_secret(secret: str, *texts: str, directory: Path) -> None:
    for text in texts:
        assert secret not in text
    for path in directory.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


async def test_json_log_file_has_events_not_ids_and_never_the_passcode(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """``--log-format json --log-file F`` on a run with 500s and rejected IDs: the file
    holds JSON events — a start with the run ID, the rejections — far fewer than IDs, and
    the passcode is nowhere: stdout, stderr, log file, report, checkpoint, failed files."""
    ids = make_ids(2_000)
    poison = {ids[42], ids[1_500]}
    source = write_ids(tmp_path / "ids.txt", ids)
    log_file = tmp_path / "logs" / "run.jsonl"
    async with fake_server(p_500=0.05, poison_ids=frozenset(poison)) as srv:
        code, out, err = await run_subprocess(
            [*CLI, *delete_args(source, "--log-format", "json", "--log-file", str(log_file))],
            cli_env(srv.base_url),
        )
        assert code == 1, err
        assert assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt") == poison
    events = [json.loads(line) for line in log_file.read_text().splitlines()]
    names = [event["event"] for event in events]
    assert "start" in names
    start = events[names.index("start")]
    assert start["run_id"]
    assert start["ids_total"] == 2_000
    assert "ids_rejected" in names
    assert len(events) < len(ids) / 50
    for ident in ids[:50]:
        assert ident not in log_file.read_text()
    _assert_no_secret(PASSCODE, out, err, log_file.read_text(), directory=tmp_path)


async def test_json_log_format_makes_every_stderr_line_json(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """With ``--log-format json`` a log shipper can parse stderr: every line is JSON,
    the summary included."""
    ids = make_ids(500)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as srv:
        code, _, err = await run_subprocess(
            [*CLI, *delete_args(source, "--log-format", "json")], cli_env(srv.base_url)
        )
        assert code == 0, err
        assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
    lines = err.splitlines()
    assert lines
    not_json = []
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            not_json.append(line)
    assert not not_json, not_json


async def test_wrong_passcode_exits_3_and_never_shows_it(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A 401 (wrong passcode): exit 3 at once, one error line, the rejected passcode is
    nowhere in output, log file, report or checkpoint; the right passcode then resumes
    and finishes."""
    wrong = "Wr0ng-passcode-also-secret"
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    log_file = tmp_path / "run.jsonl"
    argv = [*CLI, *delete_args(source, "--log-format", "json", "--log-file", str(log_file))]
    async with fake_server() as srv:
        code, out, err = await run_subprocess(
            argv, cli_env(srv.base_url, CLEVERTAP_PASSCODE=wrong)
        )
        assert code == 3, err
        assert "401" in err
        assert "Traceback" not in out + err
        assert srv.stats.unauthorized >= 1
        assert report_of(source)["exit_code"] == 3
        assert report_of(source)["ids_failed"] == 0
        _assert_no_secret(wrong, out, err, directory=tmp_path)
        _assert_no_secret(PASSCODE, out, err, directory=tmp_path)

        code, out, err = await run_subprocess(argv, cli_env(srv.base_url))
        assert code == 0, err
        assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
    _assert_no_secret(wrong, out, err, directory=tmp_path)
    _assert_no_secret(PASSCODE, out, err, directory=tmp_path)


# --------------------------------------------------------------------------- checkpoint


def test_corrupted_checkpoint_is_refused_then_restart_completes(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Flipped bytes in state.json: delete and status exit 2 naming --restart and send
    nothing; ``--restart`` then runs the job from the start to completion."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    assert cli(capsys, *delete_args(source, "--limit", "300"))[0] == 0
    state = ckpt_dir(source) / "state.json"
    data = bytearray(state.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 4):
        data[i] ^= 0x5A
    state.write_bytes(bytes(data))
    sent = server.stats.requests

    code, out, err = cli(capsys, *delete_args(source))
    assert_one_error_line(code, out, err, "--restart")
    code, out, err = cli(capsys, "status", str(ckpt_dir(source)))
    assert_one_error_line(code, out, err, "--restart")
    assert server.stats.requests == sent

    code, _, err = cli(capsys, *delete_args(source, "--restart"))
    assert code == 0, err
    report = report_of(source)
    assert (report["complete"], report["ids_deleted"]) == (True, 1_000)
    assert len(report["runs"]) == 1  # a restart is a new job
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


# --------------------------------------------------------------------------- rate


def test_rate_ceiling_spaces_requests_out(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--rate 5``: 10 requests cannot start faster than one per 0.2 s, so the run takes
    at least ~1.8 s even against a server that answers in a millisecond."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    started = time.monotonic()
    code, _, err = cli(capsys, *delete_args(source, "--rate", "5"))
    elapsed = time.monotonic() - started
    assert code == 0, err
    assert server.stats.requests == 10
    assert elapsed >= 1.6, elapsed
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


# --------------------------------------------------------------------------- demo, server


async def test_demo_runs_and_proves_nothing_lost(tmp_path: Path) -> None:
    """``bulkdelete demo --ids 2000 --no-progress`` runs the whole pipeline against its
    own fake server (with faults) and reports that nothing was lost."""
    code, out, err = await run_subprocess(
        [*CLI, "demo", "--ids", "2000", "--no-progress"], cli_env(), cwd=tmp_path
    )
    assert code == 0, err
    assert "nothing lost" in out
    assert "lost: 0" in out
    assert "Traceback" not in out + err


async def test_fake_server_listens_and_stops_on_sigterm(tmp_path: Path) -> None:
    """``bulkdelete fake-server --port 0`` prints the URL it listens on once ready and
    exits 0 with a summary on SIGTERM."""
    proc = await asyncio.create_subprocess_exec(
        *CLI, "fake-server", "--port", "0", env=cli_env(), cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=20)).decode()
        assert re.fullmatch(r"fake server listening on http://127\.0\.0\.1:\d+\n", line), line
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err
    assert "fake server stopped: requests=0" in out.decode()

