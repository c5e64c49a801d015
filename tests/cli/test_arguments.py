"""The command lines the CLI hands back to the operator after a stop or a canary."""

from __future__ import annotations

import pytest

from bulkdelete.cli.arguments import build_parser, continue_command, resume_command

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
