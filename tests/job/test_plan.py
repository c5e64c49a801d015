"""The plan: what a run will send, and how long the dry run says it takes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bulkdelete.checkpoint import Totals
from bulkdelete.job import plan_job
from bulkdelete.lifecycle.plan import make_plan
from bulkdelete.reader import Input
from bulkdelete.settings import JobFiles
from tests.conftest import make_settings, write_ids


@pytest.mark.parametrize(("limit", "this_run"), [(None, 950), (1, 1), (100, 100), (101, 101),
                                             (5_000, 950)])
def test_limit_is_exact_within_what_remains(
    limit: int | None, this_run: int
) -> None:
    settings = make_settings("http://127.0.0.1:1", batch_size=100, limit=limit)
    plan = make_plan(settings, Input(Path("ids.txt"), "lines", "guid"),
                     Totals(ids_total=950, lines_invalid=2, batches_total=10))
    assert (plan.ids_remaining, plan.ids_this_run, plan.resumed) == (950, this_run, False)
    assert plan.requests_this_run == -(-this_run // 100)


@pytest.mark.parametrize(("concurrency", "rate", "seconds"), [(3, None, 10 / 3), (10, None, 1.0),
                                                        (10, 2.0, 5.0), (1, 100.0, 10.0)])
def test_the_estimate_takes_the_tighter_of_concurrency_and_rate(
    concurrency: int, rate: float | None, seconds: float
) -> None:
    settings = make_settings("http://127.0.0.1:1", concurrency=concurrency, rate=rate)
    plan = make_plan(settings, Input(Path("ids.txt"), "lines", "guid"),
                     Totals(ids_total=1_000, lines_invalid=0, batches_total=10))
    assert plan.estimated_seconds() == pytest.approx(seconds)


async def test_a_dry_run_counts_the_input_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "ids.txt"
    write_ids(source, [f"id-{n}" for n in range(250)] + ["", "x" * 600])
    plan = await plan_job(make_settings("http://127.0.0.1:1"), JobFiles(input=source))
    # The blank line is skipped; the over-long one is invalid.
    assert (plan.ids_total, plan.lines_invalid, plan.batches_total) == (250, 1, 3)
    names = await asyncio.to_thread(lambda: sorted(path.name for path in tmp_path.iterdir()))
    assert names == ["ids.txt"]
