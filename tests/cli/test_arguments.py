"""The command lines the CLI hands back to the operator after a stop or a canary, rebuilt
from the parsed command line."""

from __future__ import annotations

import shlex

import pytest

from bulkdelete.cli.arguments import (
    build_parser,
    continue_command,
    resume_command,
    settings_from_args,
)
from bulkdelete.settings import Settings

BASE = ["delete", "ids.txt", "--id-type", "guid"]



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
