"""``invalid.jsonl``: every invalid line of the input listed in the checkpoint folder
(docs/checkpoint.md, docs/guarantees.md §7), written once per job and never before yes."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from bulkdelete.fake import FakeServer
from tests.conftest import (
    CLI,
    ServerFactory,
    assert_nothing_lost,
    cli_env,
    delete_args,
    make_ids,
)
from tests.e2e.support import ckpt_dir, cli, report_of, run_subprocess

pytestmark = pytest.mark.usefixtures("reset_logging")


def _listed(source: Path) -> list[dict[str, Any]]:
    path = ckpt_dir(source) / "invalid.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").splitlines()]


def _write_24_invalid(path: Path) -> tuple[list[str], dict[int, tuple[str, str]]]:
    """1,000 valid IDs and 24 invalid lines spread among them: 8 over 512 characters,
    8 with undecodable bytes, 8 with a control character. Returns the IDs and, per invalid
    line number, its reason and the value invalid.jsonl must hold."""
    ids = make_ids(1_000)
    expected: dict[int, tuple[str, str]] = {}
    number = 0
    with path.open("wb") as out:
        for index, ident in enumerate(ids):
            out.write(f"{ident}\n".encode())
            number += 1
            if index % 40 == 7 and len(expected) < 24:
                kind = len(expected) % 3
                number += 1
                if kind == 0:
                    long = f"long{number:04d}" + "x" * 700
                    out.write(f"{long}\r\n".encode())
                    expected[number] = ("longer than 512 characters", long[:512])
                elif kind == 1:
                    out.write(b"bad-\xff\xfe-" + str(number).encode() + b"\n")
                    expected[number] = ("not valid UTF-8", f"bad-\\xff\\xfe-{number}")
                else:
                    out.write(f"ctl\x01{number}\n".encode())
                    expected[number] = ("control character", f"ctl\x01{number}")
    assert len(expected) == 24
    return ids, expected


def test_every_invalid_line_is_listed_with_its_number_reason_and_value(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """24 invalid lines of mixed reasons: the report keeps 10 and the plan shows 5, but
    invalid.jsonl (0600) lists all 24 in order, with the right line numbers, the value cut
    to 512 characters and undecodable bytes escaped; a resume does not write it again."""
    source = tmp_path / "ids.txt"
    ids, expected = _write_24_invalid(source)
    code, _, err = cli(capsys, *delete_args(source, "--limit", "300"))
    assert code == 0, err
    listed = _listed(source)
    assert [item["line"] for item in listed] == sorted(expected)
    for item in listed:
        assert (item["reason"], item["value"]) == expected[item["line"]], item
    assert report_of(source)["lines_invalid"] == 24
    written = (ckpt_dir(source) / "invalid.jsonl").stat().st_mtime_ns

    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    assert (ckpt_dir(source) / "invalid.jsonl").stat().st_mtime_ns == written
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


def test_dry_run_plan_mentions_the_file_and_writes_nothing(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "ids.txt"
    _write_24_invalid(source)
    code, out, err = cli(capsys, *delete_args(source, "--dry-run"))
    assert code == 0, err
    assert "invalid.jsonl" in out + err
    assert not ckpt_dir(source).exists()


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("ids.csv", b"name,guid\na,id-1\nb,  \xff\xfe \nid-2\nc,id-3\n",
     [(3, "not valid UTF-8", "  \\xff\\xfe "), (4, "no column 'guid'", "id-2")]),
    ("ids.jsonl", b'{"guid":"id-1"}\n{"guid":"a\\u0001b"}\n[1]\n{"x":1}\n{"guid":2.5}\n',
     [(2, "control character", "a\x01b"), (3, "not a JSON object", "[1]"),
      (4, "no field 'guid'", '{"x":1}'), (5, "field 'guid' is not a string", '{"guid":2.5}')]),
])
def test_csv_and_jsonl_values_are_the_cell_or_the_line(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str],
    name: str, content: bytes, expected: list[tuple[int, str, str]],
) -> None:
    """CSV lists the ID cell as it stood (the row when the cell is missing); JSON Lines
    lists the field's value, or the whole line when there is no usable field."""
    source = tmp_path / name
    source.write_bytes(content)
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    assert [(i["line"], i["reason"], i["value"]) for i in _listed(source)] == expected


def test_thousands_of_invalid_lines_are_all_listed(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """More invalid lines than one write gathers, the last one at the end of the file."""
    source = tmp_path / "ids.txt"
    lines = []
    for n in range(3_000):
        lines.append(f"id-{n:06d}")
        lines.append(f"bad\x7f{n}")
    source.write_text("\n".join(lines) + "\n")
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    listed = _listed(source)
    assert [i["line"] for i in listed] == list(range(2, 6_001, 2))
    assert listed[-1]["value"] == "bad\x7f2999"


# invalid.jsonl is written right after the checkpoint is created; that the checkpoint is
# created only after yes is the work of issue 12 item 5, which lands separately.
async def test_a_refused_confirmation_leaves_no_invalid_file(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """No --yes off a terminal: refused, and neither invalid.jsonl nor any checkpoint is
    left behind (nothing is written before yes)."""
    source = tmp_path / "ids.txt"
    _write_24_invalid(source)
    async with fake_server() as srv:
        code, _, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "guid", "--no-progress"],
            cli_env(srv.base_url))
    assert code == 2, err
    assert not (ckpt_dir(source) / "invalid.jsonl").exists()
    assert not ckpt_dir(source).exists()


async def test_every_json_file_the_tool_writes_parses_with_a_plain_parser(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """After a run with rejected IDs, invalid lines (undecodable bytes among them) and a
    stop: state.json and report.json parse whole, every line of every .jsonl parses."""
    source = tmp_path / "ids.txt"
    ids, _ = _write_24_invalid(source)
    async with fake_server(poison_ids=frozenset(ids[5::97])) as srv:
        code, _, err = await run_subprocess(
            [*CLI, *delete_args(source, "--limit", "500")], cli_env(srv.base_url))
        assert code == 1, err
        code, _, err = await run_subprocess([*CLI, *delete_args(source)],
                                            cli_env(srv.base_url))
        assert code == 1, err
    folder = ckpt_dir(source)
    names = {path.name for path in folder.iterdir()}
    assert {"state.json", "report.json", "invalid.jsonl", "failed.txt.reasons.jsonl"} <= names
    for name in names:
        data = (folder / name).read_bytes()
        if name.endswith(".json"):
            assert isinstance(json.loads(data), dict), name
        elif name.endswith(".jsonl"):
            assert all(isinstance(json.loads(line), dict) for line in data.splitlines()), name
