"""Unit tests for :mod:`bulkdelete.verify.population`: the job's deleted IDs read back in the
job's own batches, and the seeded uniform sample drawn from them."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import Binding, State, Totals
from bulkdelete.reader.guard import Watch, fingerprint
from bulkdelete.settings import JobFiles
from bulkdelete.verify.population import deleted_batches, failed_ids, reservoir, sample_batches
from tests.conftest import make_ids, make_settings, write_ids


def _batches(count: int, size: int) -> list[Batch]:
    return [Batch(seq, 0, 0, [f"{seq}-{n}" for n in range(size)]) for seq in range(count)]


def test_reservoir_takes_everything_when_the_population_is_smaller() -> None:
    ids = [i for b in _batches(3, 4) for i in b.ids]
    assert sorted(reservoir(_batches(3, 4), 50, random.Random(1))) == sorted(ids)


def test_reservoir_is_repeatable_by_seed_and_differs_across_seeds() -> None:
    first = reservoir(_batches(50, 100), 100, random.Random(42))
    assert len(first) == len(set(first)) == 100
    assert reservoir(_batches(50, 100), 100, random.Random(42)) == first
    assert reservoir(_batches(50, 100), 100, random.Random(43)) != first


def test_reservoir_is_uniform_over_positions() -> None:
    """Every one of 60 IDs, in batches of uneven length, is drawn about equally often: a
    chi-square over 6,000 samples of 5 stays far below what any bias would give."""
    batches = [Batch(0, 0, 0, [str(n) for n in range(7)]),
               Batch(1, 0, 0, [str(n) for n in range(7, 8)]),
               Batch(2, 0, 0, [str(n) for n in range(8, 60)])]
    draws: Counter[str] = Counter()
    for seed in range(6000):
        draws.update(reservoir(batches, 5, random.Random(seed)))
    expected = 6000 * 5 / 60
    chi2 = sum((draws[str(n)] - expected) ** 2 / expected for n in range(60))
    assert len(draws) == 60
    assert chi2 < 110, chi2  # 59 degrees of freedom: p < 1e-5 beyond 110


def test_sample_batches_cut_the_sample_in_numbered_batches() -> None:
    batches = list(sample_batches([str(n) for n in range(250)], 100))
    assert [(b.seq, len(b.ids)) for b in batches] == [(0, 100), (1, 100), (2, 50)]


def test_deleted_batches_keep_the_job_numbering_and_drop_failed_and_undone_ids(
    tmp_path: Path,
) -> None:
    """Batches the job has not done come out empty, failed IDs are left out, the rest is
    the job's batch as the job read it — from any batch's position on."""
    ids = make_ids(250)
    source = write_ids(tmp_path / "ids.txt", ids)
    settings = make_settings("http://127.0.0.1:1", batch_size=100)
    state = State(binding=Binding(fingerprint(source), "lines", None, 100, "guid", "A", "h"),
                  totals=Totals(250, 0, 3))
    state.progress.mark_done(0, 0, 1, 98, 2)
    state.progress.mark_done(2, 200 * 12, 201, 50, 0)  # batch 1 not done
    failed = {ids[5], ids[6]}
    out = list(deleted_batches(settings, JobFiles(input=source), "lines", state, failed,
                               Watch.start(source)))
    assert [b.seq for b in out] == [0, 1, 2]
    assert out[0].ids == [i for i in ids[:100] if i not in failed]
    assert out[1].ids == []
    assert out[2].ids == ids[200:]
    resumed = list(deleted_batches(settings, JobFiles(input=source), "lines", state, failed,
                                   Watch.start(source), start=(2, 200 * 12, 201)))
    assert [(b.seq, b.ids) for b in resumed] == [(2, ids[200:])]


def test_failed_ids_reads_the_failed_file_and_tolerates_its_absence(tmp_path: Path) -> None:
    assert failed_ids(tmp_path / "none.txt") == set()
    path = tmp_path / "failed.txt"
    path.write_text("a\n\nb \na\n")
    assert failed_ids(path) == {"a", "b"}
