"""Verify paired with the baseline (docs/verify.md, "Erased, or only not found"): the profiles
present before the delete are looked up again, on top of the sample or ``--all``, and
counted apart; against the shipped fake server over loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkdelete import JobFiles, run_job, verify_job
from bulkdelete.checkpoint.evidence import (
    Baseline,
    Calibration,
    Seen,
    load_baseline,
    save_baseline,
)
from bulkdelete.errors import CheckpointError
from bulkdelete.verify.output import summary_lines
from tests.conftest import ServerFactory, make_ids, make_settings, read_lines, write_ids

SHAPE = {"http": 200, "status": "fail", "code": 404, "error": "Profile <ID> not found"}


def _baseline(present: list[str], absent: list[str], unclear: list[str], *,
              calibration: Calibration | None = None) -> Baseline:
    ids = ([(i, Seen.PRESENT) for i in present] + [(i, Seen.ABSENT) for i in absent]
           + [(i, Seen.UNCLEAR) for i in unclear])
    return Baseline(size=len(ids), seed=5, population=300, checked_at="2026-01-01T00:00:00Z",
                    calibration=calibration, ids=ids)


@pytest.mark.parametrize("sample", [40, None], ids=["sample", "all"])
async def test_the_present_before_ids_are_rechecked_and_counted_apart(
    sample: int | None, tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """Present-before IDs the job deleted are looked up again whatever the sample: gone ones
    are erased, a re-created one is still present (listed, exit 1), an unclear answer is
    unknown; a failed one is never looked up; absent/unclear-before ones are not paired."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    poison, came_back, unclear = ids[290], ids[291], ids[292]
    erased = ids[280:285]
    async with fake_server(poison_ids=frozenset({poison}), recreated_ids=frozenset({came_back}),
                           unclear_ids=frozenset({unclear})) as server:
        settings = make_settings(server.base_url, batch_size=50)
        files = JobFiles(input=source)
        assert (await run_job(settings, files)).exit_code == 1  # the poison ID failed
        save_baseline(files.checkpoint_dir, _baseline(
            [*erased, poison, came_back, unclear], [ids[0]], [ids[1]]))
        result = await verify_job(settings, files, sample=sample, seed=3)
        looked_up = server.stats.looked_up
    block = result.summary["baseline"]
    assert block["kept"] is True
    assert (block["sampled"], block["present_before"], block["absent_before"],
            block["unclear_before"]) == (10, 8, 1, 1)
    assert (block["present_before_rechecked"], block["present_before_now_gone"],
            block["present_before_still_present"], block["unknown"], block["erased"]) == (
        7, 5, 1, 1, 5)
    assert "present before" in block["words"]["erased"]
    assert poison not in looked_up  # expected to remain, never looked up
    assert all(looked_up[i] >= 1 for i in [*erased, came_back, unclear])
    assert result.exit_code == 1
    assert result.still_present is not None
    assert came_back in read_lines(result.still_present)
    assert result.summary["calibration"]["rule"] == "phrase"
    text = "\n".join(summary_lines(result.summary))
    assert "5 of the 7 sampled profiles that existed before the delete are gone now" in text
    assert "1 still present, 1 unknown" in text
    assert "1 more not deleted by the job" in text
    assert "no calibration was made" in text


async def test_all_gone_pairs_exit_0_and_name_the_calibration(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """Gone rests on the job's calibration: with the shape the delete learned, every pair
    is erased and verify.json names that shape; with another shape (an account that
    answers otherwise), the same answers are unknown, never gone."""
    ids = make_ids(120)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        settings = make_settings(server.base_url)
        files = JobFiles(input=source)
        await run_job(settings, files)
        learned = load_baseline(files.checkpoint_dir)
        assert learned is not None
        assert learned.calibration is not None
        seen = learned.calibration
        save_baseline(files.checkpoint_dir, _baseline(ids[:4], [], [], calibration=seen))
        result = await verify_job(settings, files, sample=10, seed=1)
        other = Calibration(shape=SHAPE, id_type="guid", seen_at=seen.seen_at)
        save_baseline(files.checkpoint_dir, _baseline(ids[:4], [], [], calibration=other))
        mismatched = await verify_job(settings, files, sample=10, seed=1)
    assert result.exit_code == 0
    block = result.summary["baseline"]
    assert (block["present_before_rechecked"], block["erased"]) == (4, 4)
    assert result.summary["calibration"] == {"rule": "calibration", "shape": seen.shape,
                                             "seen_at": seen.seen_at, "id_type": "guid"}
    assert summary_lines(result.summary)[1] == (
        "4 of the 4 sampled profiles that existed before the delete are gone now (erased)")
    assert mismatched.exit_code == 1
    assert (mismatched.summary["gone"], mismatched.summary["unknown"]) == (0, 10)
    assert mismatched.summary["baseline"]["unknown"] == 4


@pytest.mark.parametrize(("kept", "why"), [(None, "kept none"), (0, "--baseline 0")])
async def test_a_job_without_a_baseline_says_so(
    kept: int | None, why: str, tmp_path: Path, fake_server: ServerFactory,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    async with fake_server() as server:
        settings = make_settings(server.base_url)
        files = JobFiles(input=source)
        await run_job(settings, files)
        (files.checkpoint_dir / "baseline.json").unlink(missing_ok=True)
        if kept is not None:
            save_baseline(files.checkpoint_dir, Baseline(size=kept))
        result = await verify_job(settings, files, sample=10, seed=1)
    assert result.exit_code == 0
    assert result.summary["baseline"]["kept"] is False
    assert why in result.summary["baseline"]["why"]
    assert any(line.startswith("no baseline:") and why in line
               for line in summary_lines(result.summary))


async def test_a_damaged_baseline_is_refused_in_one_line(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(20))
    async with fake_server() as server:
        settings = make_settings(server.base_url)
        files = JobFiles(input=source)
        await run_job(settings, files)
        (files.checkpoint_dir / "baseline.json").write_text("[1, 2")
        with pytest.raises(CheckpointError, match="cannot read the job's baseline"):
            await verify_job(settings, files, sample=5)


async def test_an_unfinished_jobs_pairs_are_only_the_ids_it_has_deleted(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """After a canary, a verify --all looks up again only the present-before IDs the canary
    deleted: the rest are "not deleted by the job", never looked up as if erased."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    deleted, waiting = ids[10:13], ids[250:253]
    async with fake_server() as server:
        settings = make_settings(server.base_url, batch_size=50)
        files = JobFiles(input=source)
        assert (await run_job(make_settings(server.base_url, batch_size=50, limit=100),
                               files)).exit_code == 0
        save_baseline(files.checkpoint_dir, _baseline([*deleted, *waiting], [], []))
        result = await verify_job(settings, files, sample=None)
        looked_up = server.stats.looked_up
    block = result.summary["baseline"]
    assert (block["present_before"], block["present_before_rechecked"],
            block["present_before_now_gone"]) == (6, 3, 3)
    assert not [i for i in waiting if looked_up[i]]
    assert "3 more not deleted by the job" in "\n".join(summary_lines(result.summary))
