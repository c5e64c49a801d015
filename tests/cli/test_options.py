"""The grammar's conventions (docs/cli.md): help groups with units and defaults, durations
where a time is asked, the output options before the command as after it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bulkdelete.cli.arguments import build_parser
from bulkdelete.cli.options import option_groups, parse_duration

BASE = ["delete", "ids.txt", "--id-type", "guid"]


def _command(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command: argparse.ArgumentParser = sub.choices[name]
    return command


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("1h", 3600.0), ("1.5m", 90.0),
    ("0.25", 0.25), (" 2M ", 120.0), (".5h", 1800.0),
])
def test_a_duration_is_seconds_or_a_number_with_its_unit(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "10x", "1h30m", "10 mins", "m5", "1e", "h h"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="90s, 10m or 1h"):
        parse_duration(text)


@pytest.mark.parametrize("command", ["delete", "verify"])
def test_both_times_take_durations(command: str) -> None:
    """(A number out of range, 1e9 or nan, passes here: Settings refuses it naming the range,
    tests/e2e/test_option_bounds.py.)"""
    ns = build_parser().parse_args([command, "ids.txt", "--id-type", "guid", "--timeout", "2m",
                                    "--stall-timeout", "1h"])
    assert (ns.timeout, ns.stall_timeout) == (120.0, 3600.0)


def test_a_bad_duration_is_a_usage_error_naming_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args([*BASE, "--stall-timeout", "10 mins"])
    assert stop.value.code == 2
    assert "argument --stall-timeout: expected seconds or a duration" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["delete", "verify"])
def test_every_option_with_a_default_shows_it_and_a_value_has_a_named_metavar(
    command: str,
) -> None:
    quiet = (False, None, argparse.SUPPRESS)
    for action in _command(command)._actions:
        if action.option_strings and action.default not in quiet and action.dest != "help":
            assert "default" in (action.help or ""), action.option_strings
        if action.option_strings and action.nargs != 0 and not action.choices:
            # argparse's own metavar would be the dest in capitals (STALL_TIMEOUT)
            assert action.metavar is not None, action.option_strings


def test_the_groups_are_those_an_operator_scans() -> None:
    titles = [title for title, _ in option_groups("delete")]
    assert titles == ["target and credentials", "input", "job files", "pacing", "safety",
                      "output", "audit trail"]
    shown = [group.title for group in _command("delete")._action_groups]
    assert shown[-len(titles):] == titles


def test_verify_help_speaks_of_lookups() -> None:
    text = " ".join(_command("verify").format_help().split())  # unwrapped
    for wording in ("body key", "acknowledged batch"):
        assert wording not in text
    assert "lookups in flight" in text
    assert "acknowledged batch" in " ".join(_command("delete").format_help().split())


def test_status_argument_is_explained() -> None:
    action = next(a for a in _command("status")._actions if a.dest == "checkpoint")
    assert action.help
    assert "checkpoint folder" in action.help


@pytest.mark.parametrize(("argv", "expected"), [
    (["--log-format", "json", "-q", "--no-progress", *BASE], ("json", True, True, "l.jsonl")),
    ([*BASE, "--log-format", "json", "-q", "--no-progress"], ("json", True, True, "l.jsonl")),
    (["--log-format", "json", *BASE, "--log-format", "console"], ("console", False, False,
                                                                  "l.jsonl")),
    (["--log-format=console", *BASE, "--log-format=json"], ("json", False, False, "l.jsonl")),
    (BASE, ("console", False, False, None)),
])
def test_output_options_are_taken_before_the_command_and_the_later_one_stands(
    argv: list[str], expected: tuple[str, bool, bool, str | None],
) -> None:
    log_file = ["--log-file", "l.jsonl"] if expected[3] else []
    before = build_parser().parse_args([*log_file, *argv])
    after = build_parser().parse_args([*argv, *log_file])
    for ns in (before, after):
        assert (ns.log_format, ns.quiet, ns.no_progress,
                str(ns.log_file) if ns.log_file else None) == expected


def test_output_options_before_demo_and_status_are_taken_too() -> None:
    assert build_parser().parse_args(["-q", "demo"]).quiet
    assert build_parser().parse_args(["--log-format", "json", "status", "x"]).log_format == "json"


DOCS = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["delete", "verify"])
def test_docs_cli_md_names_every_option_and_group_help_shows(command: str) -> None:
    """docs/cli.md, the README and --help say the same (issue #21): every option of the
    parser is in the command's table, and the groups are named as --help names them."""
    text = (DOCS / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text[text.index(f"## `{command}`"):]
    section = section[:section.index("\n## ", 1)]
    flags = {flag for action in _command(command)._actions for flag in action.option_strings
             if flag.startswith("--") and flag != "--help"}
    assert [flag for flag in sorted(flags) if f"`{flag}" not in section] == []
    groups = ", ".join(title for title, _ in option_groups("delete"))
    assert groups in " ".join(text.split())
    readme = (DOCS / "README.md").read_text(encoding="utf-8")
    for shell in ("bash", "zsh", "fish"):
        assert f"bulkdelete completion {shell} >" in readme
