"""A run as the library drives it, with a stand-in for the API: what the engine is given
and what the observer sees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from bulkdelete.checkpoint import CheckpointStore
from bulkdelete.client import SUCCESS, Result
from bulkdelete.errors import (
    CheckpointLocked,
    ConfirmationRefused,
    StoppedMidRun,
    StorageError,
)
from bulkdelete.job import Plan, Snapshot, delete_ids, run_job
from bulkdelete.lifecycle import drive
from bulkdelete.settings import JobFiles
from tests.conftest import make_settings, write_ids

NOWHERE = "http://127.0.0.1:1"  # never connected to: the deleter stands in for the API


class Recording:
    """Accepts every delete and remembers each request's IDs."""

    def __init__(self) -> None:
        self.requests: list[list[str]] = []

    async def delete(self, ids: Sequence[str]) -> Result:
        self.requests.append(list(ids))
        return SUCCESS


async def test_delete_ids_trims_counts_blanks_and_batches_in_order() -> None:
    """Blank items are blanks (as an empty CSV cell is), counted, never invalid."""
    deleter = Recording()
    ids = [" a ", "", "b\n", "   ", "c", "d\t", "e"]
    result = await delete_ids(make_settings(NOWHERE, batch_size=2, concurrency=1), ids,
                              deleter=deleter)
    assert deleter.requests == [["a", "b"], ["c", "d"], ["e"]]
    assert (result.report["ids_total"], result.report["batches_total"]) == (5, 3)
    assert (result.report["lines_blank"], result.report["lines_invalid"]) == (2, 0)
    assert result.report["invalid_samples"] == []
    assert (result.exit_code, result.failed_ids) == (0, [])


async def test_delete_ids_of_nothing_sends_nothing() -> None:
    deleter = Recording()
    result = await delete_ids(make_settings(NOWHERE), ["", " "], deleter=deleter)
    assert deleter.requests == []
    assert (result.report["ids_total"], result.exit_code) == (0, 0)
    assert (result.report["lines_blank"], result.report["lines_invalid"]) == (2, 0)


class Watching:
    """An observer that keeps what it is shown."""

    def __init__(self) -> None:
        self.plans: list[Plan] = []
        self.snapshot: Callable[[], Snapshot] | None = None
        self.done_before = -1
        self.finished_with: Snapshot | None = None

    async def confirm(self, plan: Plan) -> None:
        self.plans.append(plan)

    def started(self, plan: Plan, snapshot: Callable[[], Snapshot], done_before: int, *,
                failed_before: int = 0, throttled_before: int = 0,
                present_before: int = 0) -> None:
        self.snapshot, self.done_before = snapshot, done_before

    def tick(self) -> None:
        pass

    def finished(self) -> None:
        assert self.snapshot is not None
        self.finished_with = self.snapshot()


async def test_the_observer_confirms_the_plan_then_reads_snapshots(tmp_path: Path) -> None:
    source = write_ids(tmp_path / "ids.txt", [f"id-{n}" for n in range(250)])
    settings = make_settings(NOWHERE, batch_size=100, concurrency=2)
    watching = Watching()
    result = await run_job(settings, JobFiles(input=source), observer=watching,
                           deleter=Recording())
    assert result.exit_code == 0
    assert [(p.ids_this_run, p.resumed) for p in watching.plans] == [(250, False)]
    assert watching.done_before == 0
    end = watching.finished_with
    assert end is not None
    assert (end.ids_deleted, end.ids_failed, end.ids_attempted, end.requests) == (250, 0, 250, 3)
    assert (end.in_flight, end.ceiling) == (0, 2)


async def test_rerunning_a_finished_job_sends_nothing_and_asks_nothing(tmp_path: Path) -> None:
    source = write_ids(tmp_path / "ids.txt", [f"id-{n}" for n in range(30)])
    settings = make_settings(NOWHERE, batch_size=10)
    await run_job(settings, JobFiles(input=source), deleter=Recording())
    again, watching = Recording(), Watching()
    result = await run_job(settings, JobFiles(input=source), observer=watching, deleter=again)
    assert (again.requests, watching.plans) == ([], [])
    assert (result.exit_code, result.report["ids_deleted"]) == (0, 30)


class CheckingTheFolder(Watching):
    """Refuses, having looked at the job's folder from the prompt: is anything of the job on
    disk yet, and is it locked?"""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.at_prompt: tuple[bool, bool] | None = None

    async def confirm(self, plan: Plan) -> None:
        self.plans.append(plan)
        self.at_prompt = (self.folder.exists(),
                          CheckpointStore(self.folder).is_locked_elsewhere())
        raise ConfirmationRefused("not confirmed")


async def test_a_refused_new_job_writes_nothing_and_a_resume_is_locked_first(
    tmp_path: Path,
) -> None:
    """A new job has no folder at the prompt, nor after a refusal; a started job is already
    locked when it asks."""
    source = write_ids(tmp_path / "ids.txt", [f"id-{n}" for n in range(300)])
    folder = tmp_path / "ids.txt.bulkdelete"
    settings = make_settings(NOWHERE, batch_size=100)
    refusing = CheckingTheFolder(folder)
    with pytest.raises(ConfirmationRefused):
        await run_job(settings, JobFiles(input=source), observer=refusing, deleter=Recording())
    assert refusing.at_prompt == (False, False)
    assert not folder.exists()
    await run_job(make_settings(NOWHERE, batch_size=100, limit=100), JobFiles(input=source),
                  deleter=Recording())
    held = CheckingTheFolder(folder)
    with pytest.raises(ConfirmationRefused):
        await run_job(settings, JobFiles(input=source), observer=held, deleter=Recording())
    assert held.plans[0].resumed
    assert held.at_prompt == (True, True)


async def test_a_new_job_created_by_another_run_while_this_one_asked_is_refused(
    tmp_path: Path,
) -> None:
    """The other run said yes first and finished the job: this run's yes must not share
    it. Simulated by running the other job from inside this one's prompt."""
    source = write_ids(tmp_path / "ids.txt", [f"id-{n}" for n in range(300)])
    settings = make_settings(NOWHERE, batch_size=100)
    other = Recording()

    async def other_run() -> None:
        await run_job(settings, JobFiles(input=source), deleter=other)

    class SaysYes(Watching):
        async def confirm(self, plan: Plan) -> None:
            await other_run()

    this = Recording()
    with pytest.raises(CheckpointLocked, match="created by another run"):
        await run_job(settings, JobFiles(input=source), observer=SaysYes(),
                      deleter=this)
    assert this.requests == []
    assert sum(len(r) for r in other.requests) == 300


class Slow(Recording):
    """Accepts every delete after a pause, so the periodic snapshot gets its turns."""

    async def delete(self, ids: Sequence[str]) -> Result:
        await asyncio.sleep(0.01)
        return await super().delete(ids)


async def test_a_failing_periodic_snapshot_ends_the_run_with_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The snapshot runs beside the engine in one TaskGroup: its failure ends the run by
    ordinary exception flow (the StorageError itself, not a group nor a cancellation), the
    engine stops sending, and the checkpoint keeps what was recorded."""
    monkeypatch.setattr(drive, "TICK", 0.005)
    monkeypatch.setattr(drive, "SNAPSHOT_INTERVAL", 0.0)
    source = write_ids(tmp_path / "ids.txt", [f"id-{n}" for n in range(2_000)])
    real = CheckpointStore.snapshot
    calls = 0

    def failing(store: CheckpointStore, data: bytes, gen: int) -> None:
        nonlocal calls
        calls += 1
        if calls > 2:  # the first snapshot of the run and one periodic one go through
            raise StorageError("cannot write the snapshot: No space left on device")
        real(store, data, gen)

    monkeypatch.setattr(CheckpointStore, "snapshot", failing)
    deleter = Slow()
    with pytest.raises(StorageError, match=r"No space left.*stopped at once") as info:
        await run_job(make_settings(NOWHERE, batch_size=10, concurrency=1),
                      JobFiles(input=source), deleter=deleter)
    sent = sum(len(r) for r in deleter.requests)
    assert 0 < sent < 2_000
    assert info.value.exit_code == StoppedMidRun.exit_code  # sending had begun: exit 4
    state = CheckpointStore(tmp_path / "ids.txt.bulkdelete").load()
    assert state.progress.ids_deleted <= sent
    assert state.runs[-1].exit_code is None  # ended by the error: no code recorded


async def test_a_checkpoint_that_cannot_be_written_before_sending_stays_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run's first snapshot, before any request, fails: nothing was sent, so this is a
    precondition found before sending (exit 2), not a run stopped part way (exit 4)."""
    source = write_ids(tmp_path / "ids.txt", [f"id-{n}" for n in range(50)])

    def failing(store: CheckpointStore, data: bytes, gen: int) -> None:
        raise StorageError("cannot write the snapshot: No space left on device")

    monkeypatch.setattr(CheckpointStore, "snapshot", failing)
    deleter = Recording()
    with pytest.raises(StorageError, match="No space left") as info:
        await run_job(make_settings(NOWHERE, batch_size=10), JobFiles(input=source),
                      deleter=deleter)
    assert deleter.requests == []
    assert info.value.exit_code == 2
    assert not isinstance(info.value, StoppedMidRun)
