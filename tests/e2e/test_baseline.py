"""The baseline and the calibration (docs/verify.md, "Baseline and calibration"): a new job
looks up a seeded sample of its IDs before anything is deleted, learns what "not found"
looks like from a random ID, and refuses an input none of whose sampled IDs exists. Run as
an operator runs it: a CLI subprocess against the shipped fake server over loopback; every
run that deletes ends with the nothing-lost check against the server's record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bulkdelete.fake.config import absent_by_share
from bulkdelete.settings import Settings
from bulkdelete.verify.stats import interval_95
from tests.conftest import (
    CLI,
    ServerFactory,
    assert_nothing_lost,
    cli_env,
    delete_argv,
    make_ids,
    write_ids,
)
from tests.e2e.support import ckpt_dir, one_error_line, report_of, run_subprocess

CAUSES = ("--column", "--id-type", "delimiter", "account or region", "--allow-absent")


def _identity(source: Path, *extra: str) -> list[str]:
    argv = delete_argv(source, *extra)
    argv[argv.index("guid")] = "identity"
    return argv


def _baseline(source: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ckpt_dir(source) / "baseline.json").read_text())
    return data


def _refused(code: int, out: str, err: str, server: Any, source: Path) -> None:
    """Exit 2 at the baseline naming the likely causes; nothing deleted, nothing written."""
    assert code == 2, err
    line = one_error_line(err, "none of the", "sampled IDs exists", *CAUSES)
    assert "Traceback" not in out + err, line
    assert server.stats.requests == 0
    assert not server.stats.acknowledged
    assert not ckpt_dir(source).exists()


async def test_a_wrong_column_ends_at_the_baseline(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """The identities are in one column, the run reads the e-mail column: no profile has
    those identities, so every sampled ID is absent and the run is refused."""
    ids = make_ids(400)
    source = tmp_path / "people.csv"
    source.write_text("identity,email\n" + "".join(f"{i},{i}@example.com\n" for i in ids))
    async with fake_server(known_ids=frozenset(ids)) as server:
        code, out, err = await run_subprocess(
            _identity(source, "--column", "email"), cli_env(server.base_url))
        _refused(code, out, err, server, source)
        assert server.stats.profile_requests == 1 + Settings.baseline


async def test_a_wrong_id_type_ends_at_the_baseline_unless_absent_is_allowed(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Identities sent as GUIDs: no objectId names them. Refused; with --allow-absent the
    operator says it is expected, and the run goes on and deletes every ID."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(profiles_under="identity") as server:
        code, out, err = await run_subprocess(delete_argv(source), cli_env(server.base_url))
        _refused(code, out, err, server, source)
        code, out, err = await run_subprocess(delete_argv(source, "--allow-absent"),
                                              cli_env(server.base_url))
        assert code == 0, err
        assert "baseline_all_absent" in err
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    baseline = _baseline(source)
    assert (baseline["sampled"], baseline["absent"]) == (Settings.baseline, Settings.baseline)
    assert report_of(source)["baseline"]["present"] == 0


async def test_a_whole_row_read_as_lines_ends_at_the_baseline(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """An Excel export with ';' separators read with --format lines: each whole row would
    be an "ID". None names a profile: refused, nothing deleted."""
    ids = make_ids(250)
    source = tmp_path / "export.txt"
    source.write_text("identity;email\n" + "".join(f"{i};{i}@example.com\n" for i in ids))
    async with fake_server(known_ids=frozenset(ids)) as server:
        code, out, err = await run_subprocess(
            _identity(source, "--format", "lines"), cli_env(server.base_url))
        _refused(code, out, err, server, source)


async def test_a_job_with_a_share_absent_states_it_and_runs(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """30 % of the input names no profile: the dry run's plan states the sampled count
    present with its exact interval, its progress logged; the run goes on, keeps each
    sampled ID's state (as the server's rule has it) in baseline.json, 0600, and the
    report's summary holds no ID."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    size = 200
    async with fake_server(absent_share=0.3, latency=0.01) as server:
        code, out, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "identity", "--dry-run", "--baseline",
             str(size)], cli_env(server.base_url, BULKDELETE_PROGRESS_INTERVAL="0.05"))
        assert code == 0, err
        assert f"of {size} sampled IDs exist in the account (95 % interval " in out
        assert "stage=baseline" in err  # off a terminal, its progress is logged
        assert not ckpt_dir(source).exists()
        code, out, err = await run_subprocess(_identity(source, "--baseline", str(size)),
                                              cli_env(server.base_url))
        assert code == 0, err
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    baseline = _baseline(source)
    states = {entry["id"]: entry["state"] for entry in baseline["ids"]}
    assert len(states) == size
    assert set(states) <= set(ids)
    assert states == {i: "absent" if absent_by_share(i, 0.3) else "present" for i in states}
    present = sum(state == "present" for state in states.values())
    exists = sum(not absent_by_share(i, 0.3) for i in ids) / len(ids)  # about 70 %
    assert abs(present / size - exists) < 0.15  # over 5 standard errors of a 200 sample
    assert baseline["interval_95"] == list(interval_95(present, size))
    assert (ckpt_dir(source) / "baseline.json").stat().st_mode & 0o777 == 0o600
    summary = report_of(source)["baseline"]
    assert (summary["present"], summary["absent"], summary["unclear"]) == (
        present, size - present, 0)
    assert summary["seed"] == baseline["seed"]
    for name in ("report.json", "state.json"):
        text = (ckpt_dir(source) / name).read_text()
        assert not any(ident in text for ident in states), name


@pytest.mark.parametrize(("id_type", "probes"), [("identity", 1), ("guid", 2)])
async def test_the_calibration_is_the_answer_for_a_random_id_of_the_job_s_key(
    id_type: str, probes: int, tmp_path: Path, fake_server: ServerFactory
) -> None:
    """An identity job's preflight lookup is its calibration; a guid job sends one more,
    for a random objectId. Kept with its ID type, the ID masked out of it."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    argv = delete_argv(source, "--baseline", "20")
    argv[argv.index("guid")] = id_type
    async with fake_server() as server:
        code, _, err = await run_subprocess(argv, cli_env(server.base_url))
        assert code == 0, err
        assert server.stats.profile_requests == probes + 20
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    calibration = _baseline(source)["calibration"]
    assert calibration["id_type"] == id_type
    assert calibration["shape"] == {"http": 200, "status": "fail", "code": 404,
                                    "error": "Profile not found"}
    assert _baseline(source)["present"] == 20


async def test_a_random_id_that_comes_back_present_is_no_calibration(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A server that says "found" for a random ID: no calibration, the plan says so, and
    absence rests on the phrase rule."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    absent = frozenset(ids[::2])
    async with fake_server(random_ids_present=True, absent_ids=absent) as server:
        code, out, err = await run_subprocess(
            _identity(source, "--dry-run", "--baseline", "40"), cli_env(server.base_url))
        assert code == 0, err
        assert "calibration: could not be made: a random identity came back present" in out
        assert "calibration_failed" in err
        code, _, err = await run_subprocess(_identity(source, "--baseline", "40"),
                                            cli_env(server.base_url))
        assert code == 0, err
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    baseline = _baseline(source)
    assert baseline["calibration"] is None
    assert "came back present" in baseline["calibration_note"]
    # The phrase rule reads the fake's not-found answer as absent all the same.
    assert {e["id"] for e in baseline["ids"] if e["state"] == "absent"} == {
        e["id"] for e in baseline["ids"]} & absent


async def test_a_resume_never_looks_up_again_and_zero_skips_it(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A canary takes the baseline; a dry run of the started job and the rerun that
    finishes it show it as kept and send only the preflight's lookup. --restart
    --baseline 0 replaces it with a skipped one, which the plan and the report say."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        code, _, err = await run_subprocess(_identity(source, "--limit", "200"),
                                            cli_env(server.base_url))
        assert code == 0, err
        assert server.stats.profile_requests == 1 + Settings.baseline
        first = _baseline(source)
        code, out, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "identity", "--dry-run"],
            cli_env(server.base_url))
        assert code == 0, err
        assert f"{Settings.baseline} of {Settings.baseline} sampled IDs exist" in out
        assert f"(when the job started, {first['checked_at']})" in out  # as kept, not redone
        code, _, err = await run_subprocess(_identity(source), cli_env(server.base_url))
        assert code == 0, err
        assert server.stats.profile_requests == 1 + Settings.baseline + 2  # two preflights
        assert _baseline(source) == first
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")

        looked = server.stats.profile_requests
        code, out, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "identity", "--restart", "--dry-run",
             "--baseline", "0"], cli_env(server.base_url))
        assert code == 0, err
        assert "baseline:   skipped (--baseline 0)" in out
        code, _, err = await run_subprocess(_identity(source, "--restart", "--baseline", "0"),
                                            cli_env(server.base_url))
        assert code == 0, err
        assert server.stats.profile_requests == looked + 2  # the two preflights only
    summary = report_of(source)["baseline"]
    assert (summary["size"], summary["sampled"]) == (0, 0)
    assert summary["calibration"] is not None  # kept also when the sample is skipped
    assert _baseline(source)["ids"] == []


async def test_mostly_unclear_answers_warn_and_never_refuse(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Most lookups of the input's IDs stay unclear (a fail body with code 500 to the end):
    a warning, not a refusal; the run deletes every ID, and the baseline counts those
    unclear, never absent. When no lookup at all gets a clear answer, the engine's own
    rule ends it (exit 3), saying it was the baseline and that nothing was written."""
    ids = make_ids(200)
    source = write_ids(tmp_path / "ids.txt", ids)
    unclear = frozenset(ids[:180])
    async with fake_server(unclear_ids=unclear) as server:
        code, _, err = await run_subprocess(_identity(source, "--baseline", "40"),
                                            cli_env(server.base_url))
        assert code == 0, err
        assert "baseline_unclear" in err
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    baseline = _baseline(source)
    assert {e["id"] for e in baseline["ids"] if e["state"] == "unclear"} == {
        e["id"] for e in baseline["ids"]} & unclear
    assert baseline["unclear"] * 2 > baseline["sampled"]
    assert baseline["absent"] == 0

    other = write_ids(tmp_path / "other.txt", ids)
    async with fake_server(unclear_ids=frozenset(ids)) as server:
        code, _, err = await run_subprocess(_identity(other, "--baseline", "20"),
                                              cli_env(server.base_url))
        assert code == 3, err
        one_error_line(err, "baseline:", "nothing was deleted or written", "--baseline 0")
        assert server.stats.requests == 0
    assert not ckpt_dir(other).exists()
