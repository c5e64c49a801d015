"""The baseline's words and judgement (docs/verify.md, "Baseline and calibration"): the
plan's lines, the refusal when every sampled ID is clearly absent, and what is kept (IDs in
baseline.json only, never in the summary the state and the report hold)."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bulkdelete.checkpoint.evidence import (
    Baseline,
    Calibration,
    Seen,
    load_baseline,
    save_baseline,
)
from bulkdelete.errors import InputError
from bulkdelete.job.baseline import describe, judge
from bulkdelete.verify.stats import interval_95
from tests.conftest import make_ids, make_settings


def _taken(present: int, absent: int, unclear: int) -> Baseline:
    ids = make_ids(present + absent + unclear)
    states = [Seen.PRESENT] * present + [Seen.ABSENT] * absent + [Seen.UNCLEAR] * unclear
    baseline = Baseline(size=len(ids), seed=7, population=1_000,
                        ids=list(zip(ids, states, strict=True)),
                        interval=interval_95(present, len(ids)),
                        calibration=Calibration({"http": 200, "status": "success",
                                                 "record": "absent"}, "guid", "T"),
                        calibration_note="not found looks like HTTP 200 success record absent")
    return baseline


def test_the_plan_states_the_counts_and_the_interval() -> None:
    baseline = _taken(97, 2, 1)
    low, high = interval_95(97, 100)
    assert describe(baseline) == [
        f"baseline:   97 of 100 sampled IDs exist in the account (95 % interval "
        f"{low * 100:.1f}–{high * 100:.1f} %); 2 absent, 1 unclear",
        "calibration: not found looks like HTTP 200 success record absent",
    ]
    assert describe(Baseline(size=0))[0] == "baseline:   skipped (--baseline 0)"
    assert describe(Baseline(size=5))[0] == "baseline:   no valid ID to sample"
    assert describe(None) == []


def test_every_id_absent_is_refused_unless_allowed() -> None:
    counts = _taken(0, 30, 0).counts()
    with pytest.raises(InputError, match="none of the 30 sampled IDs exists") as info:
        judge(make_settings(), counts)
    assert info.value.exit_code == 2
    for cause in ("--column", "--id-type", "delimiter", "account or region", "--allow-absent"):
        assert cause in str(info.value)
    with capture_logs() as logs:
        judge(make_settings(allow_absent=True), counts)
    assert [e["event"] for e in logs] == ["baseline_all_absent"]


def test_unclear_answers_warn_and_never_refuse() -> None:
    """One unclear answer among absent ones is no refusal; mostly unclear is a warning."""
    with capture_logs() as logs:
        judge(make_settings(), _taken(0, 29, 1).counts())
        judge(make_settings(), _taken(0, 4, 6).counts())
        judge(make_settings(), _taken(3, 0, 0).counts())
    assert [e["event"] for e in logs] == ["baseline_unclear"]


def test_only_baseline_json_holds_the_ids(tmp_path: Path) -> None:
    baseline = _taken(5, 3, 2)
    save_baseline(tmp_path, baseline)
    assert load_baseline(tmp_path) == baseline
    assert (tmp_path / "baseline.json").stat().st_mode & 0o777 == 0o600
    summary = str(baseline.summary())
    assert not any(ident in summary for ident, _ in baseline.ids)
    assert baseline.summary()["interval_95"] == list(interval_95(5, 10))


def test_a_started_job_shows_its_baseline_as_kept(tmp_path: Path) -> None:
    from bulkdelete.job.baseline import kept

    baseline = _taken(2, 1, 0)
    baseline.checked_at = "2026-12-07T00:00:00.000Z"
    lines = describe(baseline, resumed=True)
    assert lines[0].endswith("(when the job started, 2026-12-07T00:00:00.000Z)")
    assert lines[1] == describe(baseline)[1]
    assert kept(tmp_path) is None
    (tmp_path / "baseline.json").write_text("[1, 2]")
    assert kept(tmp_path) is None  # damaged: no line in the plan, never a traceback
    save_baseline(tmp_path, baseline)
    assert kept(tmp_path) == baseline
