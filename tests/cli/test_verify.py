"""The ``verify`` command's grammar: delete's shared options, its own, and what it lacks."""

from __future__ import annotations

import pytest

from bulkdelete.cli.arguments import build_parser

BASE = ["verify", "ids.txt", "--id-type", "guid"]


def test_verify_defaults_to_a_sample_of_1000_at_concurrency_3() -> None:
    ns = build_parser().parse_args(BASE)
    assert (ns.command, ns.ids_file, ns.sample, ns.all, ns.seed, ns.concurrency) == (
        "verify", "ids.txt", 1000, False, None, 3)


def test_verify_takes_deletes_input_target_and_output_options() -> None:
    ns = build_parser().parse_args([
        *BASE, "--format", "csv", "--column", "email", "--checkpoint", "job", "--region",
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
        build_parser().parse_args([*BASE, *extra])
    assert exc.value.code == 2
    capsys.readouterr()
