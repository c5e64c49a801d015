"""The command lines the CLI hands back to the operator after a stop or a canary."""

from __future__ import annotations

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
                                   ["--restart", "--limit", "5"]])
def test_continue_drops_the_canary_and_the_restart(extra: list[str]) -> None:
    assert continue_command([*BASE, *extra, "--yes"]) == \
        "bulkdelete delete ids.txt --id-type guid --yes"


def test_resume_keeps_the_limit_but_never_restarts() -> None:
    argv = [*BASE, "--restart", "--limit", "1000", "--base-url", "http://127.0.0.1:8 x"]
    assert resume_command(argv) == ("bulkdelete delete ids.txt --id-type guid --limit 1000 "
                                    "--base-url 'http://127.0.0.1:8 x'")


def test_the_parser_without_the_fake_servers_options_still_parses_delete() -> None:
    ns = build_parser(fake_server_options=False).parse_args([*BASE, "--format", "csv"])
    assert (ns.command, ns.ids_file, ns.id_type, ns.format) == ("delete", "ids.txt", "guid",
                                                                "csv")


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
