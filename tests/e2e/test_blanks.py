"""Blanks are blanks in every format (docs/cli.md, docs/report.md): blank lines of a lines
file, blank CSV cells and lines, blank JSON Lines values and lines are one count in the plan,
the summary and the report, never "invalid: empty value" one by one; invalid.jsonl and the
printed samples list only the real invalid values. Real subprocesses against the fake
server over loopback, each ending with the nothing-lost check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ServerFactory, assert_nothing_lost, cli_run, delete_argv, make_ids
from tests.e2e.support import ckpt_dir, report_of

IDS = make_ids(40)
BAD = "ctl\x01char"  # one real invalid value, on line 7 of every input below


def _lines(path: Path) -> list[str]:
    rows = [*IDS[:5], "", BAD, "   ", *IDS[5:], "", ""]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ["--format", "lines"]


def _csv(path: Path) -> list[str]:
    rows = ["guid,n", *(f"{i},x" for i in IDS[:4]), "", f'"{BAD}",y', ",z", "  ,w",
            *(f"{i},x" for i in IDS[4:]), ""]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ["--format", "csv"]


def _jsonl(path: Path) -> list[str]:
    rows = [*(json.dumps({"guid": i}) for i in IDS[:5]), json.dumps({"guid": ""}),
            json.dumps({"guid": BAD}), "  ", *(json.dumps({"guid": i}) for i in IDS[5:]),
            json.dumps({"guid": " "}), ""]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ["--format", "jsonl"]


@pytest.mark.parametrize("make", [_lines, _csv, _jsonl])
async def test_blanks_are_counted_once_and_only_real_invalid_values_listed(
    tmp_path: Path, fake_server: ServerFactory, make: object,
) -> None:
    source = tmp_path / "ids.in"
    assert callable(make)
    fmt = make(source)
    async with fake_server() as server:
        code, output = await cli_run(delete_argv(source, *fmt, "--dry-run"), server.base_url)
        assert code == 0, output
        assert f"{len(IDS)} valid, 4 blank, 1 invalid line," in output
        assert "invalid line 7: control character" in output
        assert "empty value" not in output
        code, output = await cli_run(delete_argv(source, *fmt), server.base_url)
        assert code == 0, output
        assert "1 invalid line, 4 blank, of 40 IDs" in output
        assert "empty value" not in output
        report = report_of(source)
        assert (report["lines_blank"], report["lines_invalid"]) == (4, 1)
        assert report["invalid_samples"] == [{"line": 7, "reason": "control character"}]
        listed = (ckpt_dir(source) / "invalid.jsonl").read_text().splitlines()
        assert [json.loads(line)["line"] for line in listed] == [7]
        assert set(server.stats.acknowledged) == set(IDS)
        assert_nothing_lost(IDS, server, ckpt_dir(source) / "failed.txt")


async def test_an_id_column_of_blanks_only_is_refused_not_a_finished_job(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """A column holding nothing is most likely the wrong column: refused as an input with no
    valid ID (exit 2, nothing sent or written), not taken for an empty job."""
    source = tmp_path / "ids.csv"
    source.write_text("name,guid,email\nA,,a@x\nB,,b@x\nC,  ,c@x\n", encoding="utf-8")
    async with fake_server() as server:
        code, output = await cli_run(delete_argv(source), server.base_url)
        assert code == 2, output
        assert "the input has no valid ID: 0 invalid lines, 3 blank; nothing was sent" in output
        assert server.stats.requests == 0
        assert not ckpt_dir(source).exists()
