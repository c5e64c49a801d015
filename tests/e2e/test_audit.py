"""The audit trail (docs/report.md, docs/checkpoint.md): who asked for each run and under
which reference, kept per run in the checkpoint and the report, and the dates CleverTap's
purge follows. CLI subprocesses against the shipped fake server over loopback; every run
that sends anything ends with the nothing-lost check (docs/guarantees.md §1)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import (
    ServerFactory,
    assert_nothing_lost,
    cli_env,
    delete_argv,
    make_ids,
    write_ids,
)
from tests.e2e.support import ckpt_dir, report_of, run_subprocess


def _state_runs(source: Path) -> list[dict[str, object]]:
    """The runs as state.json keeps them (its first line is the JSON, in either layout)."""
    text = (ckpt_dir(source) / "state.json").read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = json.loads(text.splitlines()[0])
    state = data.get("state", data)
    runs: list[dict[str, object]] = state["runs"]
    return runs


async def test_requester_and_ticket_are_kept_per_run_across_a_resume(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A canary run by one person under one ticket, the rest by another under another:
    state.json and the report keep each run's own; a run without them records none. The
    report dates the request by the last run that deleted, and the purge 48 hours on."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        runs = [
            ("--limit", "200", "--requester", "Ana Ruiz (privacy)", "--ticket", "DSR-1041"),
            ("--limit", "200"),
            ("--requester", "ops on-call", "--ticket", "CHG-77 / DSR-1041"),
        ]
        for extra in runs:
            code, _, err = await run_subprocess(delete_argv(source, *extra),
                                                cli_env(server.base_url))
            assert code == 0, err
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    expected = [("Ana Ruiz (privacy)", "DSR-1041"), (None, None),
                ("ops on-call", "CHG-77 / DSR-1041")]
    kept = [(run["requester"], run["ticket"]) for run in _state_runs(source)]
    assert kept == expected
    report = report_of(source)
    assert [(run["requester"], run["ticket"]) for run in report["runs"]] == expected
    assert report["requested_at"] == report["runs"][-1]["ended"]
    requested = datetime.fromisoformat(report["requested_at"])
    assert datetime.fromisoformat(report["purge_due_by"]) - requested == timedelta(hours=48)
    assert report["resent_after_stop"] == 0
    assert report["resent_after_crash"] == 0


@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--requester", "x" * 201, "at most 200 characters"),
    ("--ticket", "DSR-1\nDSR-2", "one line"),
    ("--ticket", "DSR-1\rDSR-2", "one line"),
    ("--requester", "Ana\u2028Ruiz", "one line"),
])
async def test_an_overlong_or_multiline_audit_value_is_refused_before_anything(
    flag: str, value: str, says: str, tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Over 200 characters or more than one line: exit 2, nothing sent (not even the
    preflight) and nothing written."""
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    async with fake_server() as server:
        code, out, err = await run_subprocess(delete_argv(source, flag, value),
                                              cli_env(server.base_url))
        assert code == 2, err
        assert says in err
        assert flag in err
        assert server.stats.requests == 0
        assert server.stats.profile_requests == 0
    assert not ckpt_dir(source).exists()
    assert "Traceback" not in out + err


async def test_exactly_200_characters_are_accepted(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """The limit is inclusive."""
    ids = make_ids(100)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        code, _, err = await run_subprocess(delete_argv(source, "--ticket", "t" * 200),
                                            cli_env(server.base_url))
        assert code == 0, err
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    assert report_of(source)["runs"][0]["ticket"] == "t" * 200
