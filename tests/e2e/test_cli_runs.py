"""The command line running deletes as an operator would: safety rails, every input format,
the report, logs and secrets, a corrupted checkpoint and the rate ceiling (docs/cli.md,
docs/report.md, docs/guarantees.md §8). Every run that sends anything ends with the
nothing-lost check (docs/guarantees.md §1).
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer
from tests.conftest import (
    ACCOUNT,
    CLI,
    PASSCODE,
    ServerFactory,
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
    serve_in_thread,
)

pytestmark = pytest.mark.usefixtures("reset_logging")


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
    """``--limit 250`` deletes exactly 250 IDs (2 batches and half of a third) and exits 0
    with the job incomplete and the command to continue; the rerun without the limit
    finishes; two runs are reported and no ID is sent twice."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    code, _, err = cli(capsys, *delete_args(source, "--limit", "250"))
    assert code == 0, err
    assert "Continue with:" in err
    first = report_of(source)
    assert (first["complete"], first["ids_deleted"]) == (False, 250)
    assert len(server.stats.acknowledged) == 250
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


# --------------------------------------------------------------------------- report


def test_report_has_every_field_and_the_console_agrees(
    tmp_path: Path, creds: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After a run with rejected IDs the report holds every field of docs/report.md, counts add
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
    assert (report["lines_invalid"], report["lines_blank"]) == (1, 1)  # "" is a blank
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
    assert "998 deleted, 2 failed, 1 invalid line, 1 blank, of 1,000 IDs" in err
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
    log_file.parent.mkdir()  # a --log-file's folder must exist (docs/cli.md)
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
    """A 401 (wrong passcode) met mid-run (the preflight skipped): exit 3 at once, one
    error line, the rejected passcode is nowhere in output, log file, report or
    checkpoint; the right passcode then resumes and finishes."""
    wrong = "Wr0ng-passcode-also-secret"
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    logs = ["--log-format", "json", "--log-file", str(tmp_path / "run.jsonl")]
    argv = [*CLI, *delete_args(source, "--no-preflight", "--baseline", "0", *logs)]
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
    # No baseline: its lookups, paced by the same ceiling, would take 20 s more.
    code, _, err = cli(capsys, *delete_args(source, "--rate", "5", "--baseline", "0"))
    elapsed = time.monotonic() - started
    assert code == 0, err
    assert server.stats.requests == 10
    assert elapsed >= 1.6, elapsed
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
