"""The grammar (delete's and verify's options), the settings read from it, and the command
lines handed back to the operator after a stop, a canary or failures, rebuilt from it."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from bulkdelete.cli.arguments import (
    build_parser,
    continue_command,
    new_checkpoint,
    resume_command,
    retry_command,
    settings_from_args,
)
from bulkdelete.settings import Settings

BASE = ["delete", "ids.txt", "--id-type", "guid"]
VERIFY_BASE = ["verify", "ids.txt", "--id-type", "guid"]


@pytest.mark.parametrize("extra", [["--limit", "1000"], ["--limit=1000"], ["--restart"],
                                   ["--restart", "--limit", "5"], ["--lim", "5"]])
def test_continue_drops_the_canary_and_the_restart(extra: list[str]) -> None:
    ns = build_parser().parse_args([*BASE, *extra, "--yes"])
    assert continue_command(ns) == "bulkdelete delete ids.txt --id-type guid --yes"


def test_resume_keeps_the_limit_but_never_restarts() -> None:
    ns = build_parser().parse_args([*BASE, "--restart", "--limit", "1000", "--base-url",
                                    "http://127.0.0.1:8 x"])
    assert resume_command(ns) == ("bulkdelete delete ids.txt --id-type guid --base-url "
                                  "'http://127.0.0.1:8 x' --limit 1000")


def test_resume_reparses_to_the_same_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every option given comes back, as the parser reads it; what came from the
    environment (the account ID) or was left at its default stays out."""
    monkeypatch.setenv("CLEVERTAP_ACCOUNT_ID", "ACC")
    argv = [*BASE, "--region", "IN1", "--concurrency", "2", "--rate", "1.5", "--timeout",
            "5", "--format", "csv", "--column", "email", "--delimiter", ";", "--max-errors",
            "1%", "--requester", "a b", "-q", "--log-format=json", "--no-preflight",
            "--batch-size", "100"]
    ns = build_parser().parse_args(argv)
    command = resume_command(ns)
    assert "--account-id" not in command
    assert "--batch-size" not in command
    again = build_parser().parse_args(shlex.split(command)[1:])
    assert again == ns


def test_an_input_that_looks_like_an_option_comes_after_a_double_dash() -> None:
    ns = build_parser().parse_args(["delete", "--id-type", "guid", "--", "-ids.txt"])
    command = resume_command(ns)
    assert command == "bulkdelete delete --id-type guid -- -ids.txt"
    assert build_parser().parse_args(shlex.split(command)[1:]) == ns


def test_verify_resumes_with_its_own_options() -> None:
    ns = build_parser().parse_args(["verify", "ids.txt", "--id-type", "guid", "--all",
                                    "--concurrency", "2"])
    assert resume_command(ns) == ("bulkdelete verify ids.txt --id-type guid --concurrency 2 "
                                  "--all")


@pytest.mark.parametrize(("base_url", "env", "shortened"), [
    ("http://127.0.0.1:8080", "1", True),
    ("http://localhost:8080", "1", True),
    ("http://[::1]:8080", "1", True),
    ("http://127.0.0.1:8080", None, False),
    ("https://in1.api.clevertap.com", "1", False),
    ("https://127.0.0.1.example.com", "1", False),
    ("https://10.0.0.1", "1", False),
])
def test_the_suites_short_pauses_apply_only_to_a_loopback_target(
    base_url: str, env: str | None, shortened: bool, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """BULKDELETE_TEST_PAUSES cannot change a production run: it is ignored unless the
    target is loopback (the fake server)."""
    monkeypatch.setenv("CLEVERTAP_PASSCODE", "p")
    if env is None:
        monkeypatch.delenv("BULKDELETE_TEST_PAUSES", raising=False)
    else:
        monkeypatch.setenv("BULKDELETE_TEST_PAUSES", env)
    ns = build_parser().parse_args([*BASE, "--account-id", "A", "--base-url", base_url])
    settings = settings_from_args(ns)
    defaults = (Settings.backoff_base, Settings.backoff_cap)
    assert (settings.backoff_base, settings.backoff_cap) == \
        ((0.01, 0.05) if shortened else defaults)


def test_the_retry_reads_the_failed_file_as_lines_with_a_checkpoint_of_its_own(
    tmp_path: Path,
) -> None:
    """What binds the old job (input, format, column, delimiter, checkpoint, failed file, report,
    --restart, --limit, --dry-run) is dropped, also as --opt=value or abbreviated; the
    target, ID type and tuning stay."""
    ckpt = tmp_path / "ids.csv.bulkdelete"
    argv = ["delete", "--format", "csv", "ids.csv", "--id-type", "identity", "--col", "email",
            "--delimiter", ";",
            "--checkpoint=" + str(ckpt), "--failed", "f.txt", "--report", "r.json",
            "--restart", "--limit", "1000", "--dry-run", "--concurrency", "5", "--yes",
            "--base-url", "http://127.0.0.1:9", "-q"]
    ns = build_parser().parse_args(argv)
    command = shlex.split(retry_command(ns, Path("f.txt"), ckpt))
    assert command == ["bulkdelete", "delete", "f.txt", "--id-type", "identity",
                       "--base-url", "http://127.0.0.1:9", "--concurrency", "5", "--yes",
                       "-q", "--format", "lines", "--checkpoint",
                       str(tmp_path / "ids.csv-retry.bulkdelete")]


def test_a_verify_retries_as_a_delete_without_its_own_options(tmp_path: Path) -> None:
    ns = build_parser().parse_args(["verify", "ids.txt", "--id-type", "guid", "--all",
                                    "--seed", "3", "--concurrency", "2"])
    command = retry_command(ns, Path("still.txt"), tmp_path / "ids.txt.bulkdelete",
                            tag="still")
    assert command == ("bulkdelete delete still.txt --id-type guid --concurrency 2 "
                       f"--format lines --checkpoint {tmp_path / 'ids.txt-still.bulkdelete'}")


def test_a_new_checkpoint_is_one_that_does_not_exist_yet(tmp_path: Path) -> None:
    ckpt = tmp_path / "ids.txt.bulkdelete"
    first = new_checkpoint(ckpt)
    assert first == tmp_path / "ids.txt-retry.bulkdelete"
    first.mkdir()
    second = new_checkpoint(ckpt)
    assert second == tmp_path / "ids.txt-retry2.bulkdelete"
    second.mkdir()
    # A retry of a retry counts on rather than growing the name.
    assert new_checkpoint(first) == tmp_path / "ids.txt-retry3.bulkdelete"
    assert new_checkpoint(tmp_path / "custom") == tmp_path / "custom-retry.bulkdelete"


def test_verify_defaults_to_a_sample_of_1000_at_concurrency_3() -> None:
    ns = build_parser().parse_args(VERIFY_BASE)
    assert (ns.command, ns.ids_file, ns.sample, ns.all, ns.seed, ns.concurrency) == (
        "verify", "ids.txt", 1000, False, None, 3)


def test_verify_takes_deletes_input_target_and_output_options() -> None:
    ns = build_parser().parse_args([
        *VERIFY_BASE, "--format", "csv", "--column", "email", "--checkpoint", "job", "--region",
        "in1", "--concurrency", "2", "--timeout", "5", "--max-errors", "1%",
        "--stall-timeout", "60", "--log-format", "json", "-q", "--all", "--seed", "9"])
    assert (ns.format, ns.column, str(ns.checkpoint), ns.region, ns.concurrency) == (
        "csv", "email", "job", "in1", 2)
    assert (ns.max_errors, ns.stall_timeout, ns.log_format, ns.quiet, ns.all, ns.seed) == (
        "1%", 60.0, "json", True, True, 9)


@pytest.mark.parametrize("extra", [["--sample", "5", "--all"], ["--yes"], ["--limit", "5"],
                                   ["--dry-run"], ["--restart"]])
def test_verify_refuses_what_it_has_no_use_for(extra: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """--sample and --all exclude each other; a read-only command has no --yes, and none
    of delete's run-shaping options."""
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*VERIFY_BASE, *extra])
    assert exc.value.code == 2
    capsys.readouterr()
