"""baseline.json round-trips, owner-only, and a job without one reads as None."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from bulkdelete.checkpoint.evidence import (
    BASELINE_NAME,
    Baseline,
    Calibration,
    Seen,
    load_baseline,
    save_baseline,
)
from bulkdelete.errors import CheckpointError


def test_a_saved_baseline_loads_as_it_was_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    baseline = Baseline(
        size=3, seed=7, population=10, checked_at="2026-12-07T00:00:00.000Z",
        calibration=Calibration({"http": 200, "status": "fail", "code": 404,
                                 "error": "User <ID> not found"}, "guid", "2026-12-07T00:00:00Z"),
        ids=[("a", Seen.PRESENT), ("b", Seen.ABSENT), ("c", Seen.UNCLEAR)])
    save_baseline(tmp_path, baseline)
    assert load_baseline(tmp_path) == baseline
    assert stat.S_IMODE((tmp_path / BASELINE_NAME).stat().st_mode) == 0o600
    data = json.loads((tmp_path / BASELINE_NAME).read_text())
    assert (data["sampled"], data["present"], data["absent"], data["unclear"]) == (3, 1, 1, 1)
    assert baseline.present_ids() == ["a"]


def test_a_job_without_a_baseline_has_none(tmp_path: Path) -> None:
    assert load_baseline(tmp_path) is None
    assert Baseline(size=0).skipped


def test_a_damaged_baseline_is_one_checkpoint_error_naming_the_folder(tmp_path: Path) -> None:
    for damage in ("[1, 2", "[1, 2]", '{"size": 1}', '{"size": 1, "population": 1, "ids": [1]}'):
        (tmp_path / BASELINE_NAME).write_text(damage)
        with pytest.raises(CheckpointError, match="cannot read the job's baseline in"):
            load_baseline(tmp_path)
