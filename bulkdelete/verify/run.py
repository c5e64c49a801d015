"""``verify``: are a job's deleted profiles really gone? (docs/verify.md)

The job's checkpoint must match and stays locked. ``--sample N`` checks a seeded sample in
memory; ``--all`` checks every deleted ID through delete's run lifecycle, its progress in
the checkpoint's ``verify/`` folder, so it resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import structlog

from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import CheckpointStore, Progress, RunRecord, State, Totals
from bulkdelete.engine import RunEnd, StopRequest
from bulkdelete.errors import CheckpointMismatch, StorageError, UsageError
from bulkdelete.failed import check_lists_all
from bulkdelete.lifecycle.drive import (
    Recorded,
    RunCounters,
    Send,
    new_run_id,
    run_recorded,
    send_ids,
    stopped_code,
)
from bulkdelete.lifecycle.observer import Observer, QuietObserver
from bulkdelete.lifecycle.plan import binding_for, make_plan, open_input
from bulkdelete.logs import utc_timestamp
from bulkdelete.profile import Verdict
from bulkdelete.reader import InputFormat
from bulkdelete.reader.guard import Watch
from bulkdelete.report import build_report, write_report
from bulkdelete.settings import JobFiles, Settings
from bulkdelete.verify.output import (
    VERIFY_FOLDER,
    Counts,
    Findings,
    new_list_name,
    summarize,
    write_outputs,
)
from bulkdelete.verify.population import deleted_batches, failed_ids, reservoir, sample_batches
from bulkdelete.verify.shapes import GoneShapes, check_operation

log = structlog.get_logger("bulkdelete")

DEFAULT_SAMPLE = 1000


@dataclass(slots=True)
class VerifyResult:
    """verify.json's object (a stopped verify's: the counts so far, unwritten), the exit
    code, and the list of IDs found present (None when none is, or the verify stopped)."""

    summary: dict[str, Any]
    exit_code: int
    still_present: Path | None


async def verify_job(
    settings: Settings, files: JobFiles, *, sample: int | None = DEFAULT_SAMPLE,
    seed: int | None = None, stop: StopRequest | None = None,
    observer: Observer | None = None, run_id: str | None = None,
) -> VerifyResult:
    """Check a seeded sample of the job's deleted IDs, or every one when ``sample`` is None.
    Exit 2 and 3 are raised as :class:`BulkDeleteError`; every event logged carries
    ``run_id``."""
    run_id = run_id or new_run_id()
    with structlog.contextvars.bound_contextvars(run_id=run_id):
        if sample is not None and sample < 1:
            raise UsageError(f"--sample must be at least 1, got {sample}")
        fmt = open_input(files, settings)
        store = CheckpointStore(files.checkpoint_dir)
        if not store.exists():
            raise UsageError(
                f"no checkpoint at {store.directory}: verify checks the deleted IDs of a job, so "
                "run the delete first (or pass its --checkpoint)")
        store.lock()
        with contextlib.closing(store):
            state = store.load()
            # Batches are read as the job read them; no other batch size would match.
            settings = dataclasses.replace(settings, batch_size=state.binding.batch_size,
                                           limit=None, max_delete=None)
            # Before the fingerprint, as a run does: an edit after it is seen by every read.
            watch = await asyncio.to_thread(Watch.start, files.input)
            diffs = state.binding.differences(await binding_for(settings, files, fmt))
            if diffs:
                raise CheckpointMismatch(
                    f"checkpoint {store.directory} belongs to a different job; nothing was looked "
                    f"up. Differs: {'; '.join(diffs)}. Verify a job with the input, format, "
                    "--id-type and target its delete ran with")
            state.bind_failed_file(files.failed_path, store.directory)
            # Else failed IDs would pass as deleted.
            check_lists_all(files.failed_path, state.failed_listed)
            failed = failed_ids(store.directory / state.failed)
            job = _Verify(settings, files, fmt, watch, state, failed, stop or StopRequest(),
                          observer or QuietObserver(), run_id)
            if sample is None:
                counts, end_code, present = await job.check_all(store.directory / VERIFY_FOLDER)
            else:
                seed = secrets.randbits(32) if seed is None else seed
                counts, end_code, present = await job.check_sample(sample, seed)
            # Given to this verify (--requester/--ticket), else the job's.
            summary = summarize(counts, sample=sample, seed=None if sample is None else seed,
                                runs=state.runs, names=(settings.requester, settings.ticket))
            summary["gone_shapes"] = job.shapes.listing()
            if end_code is not None:  # stopped: nothing is final yet
                return VerifyResult(summary, end_code, None)
            try:
                still = write_outputs(store.directory, summary, present,
                                      job.list_name or new_list_name(store.directory))
            except OSError as exc:
                # Not "progress saved, resume": a sample is drawn anew, and a complete --all
                # checks every deleted ID again. The lists handed out before are untouched.
                again = "a new sample" if sample is not None else "every deleted ID again"
                raise StorageError(
                    f"cannot write {exc.filename or store.directory}: {exc.strerror or exc}; "
                    f"this verify's findings were not kept (the lists and verify.json are as "
                    f"they were). Free space, then run it again: it checks {again}") from None
            state.verify = summary
            state.updated = utc_timestamp()
            store.finish(state)
            last = state.runs[-1].exit_code if state.runs else None
            write_report(files.report_path, build_report(state, exit_code=last))
            log.info("verified", **{k: summary[k]
                                    for k in ("checked", "gone", "present", "unknown")})
            return VerifyResult(summary, 0 if counts.checked == counts.gone else 1, still)


@dataclass(slots=True)
class _Verify:
    settings: Settings
    files: JobFiles
    fmt: InputFormat
    watch: Watch
    job: State
    failed: set[str]
    stop: StopRequest
    observer: Observer
    run_id: str
    list_name: str | None = None  # an --all's list, named when it began
    shapes: GoneShapes = dataclasses.field(default_factory=GoneShapes)

    def _batches(self, start: tuple[int, int, int] = (0, 0, 1)) -> Iterator[Batch]:
        return deleted_batches(self.settings, self.files, self.fmt, self.job, self.failed,
                               self.watch, start=start)

    async def check_sample(self, size: int, seed: int) -> tuple[Counts, int | None, list[str]]:
        # In memory: nothing to resume. The pass over the input runs in a thread, so
        # signals are still heard meanwhile.
        chosen = await asyncio.to_thread(reservoir, self._batches(), size, random.Random(seed))
        log.info("verify_sample", sample=len(chosen), seed=seed)
        progress = Progress()
        counters = RunCounters(RunRecord(run_id=self.run_id, started=utc_timestamp()))
        findings = Findings()
        send = Send(self.settings, findings, self.stop,
                    operation=partial(check_operation, shapes=self.shapes))
        await send_ids(send, sample_batches(chosen, self.settings.batch_size), counters,
                       progress)
        batches_total = -(-len(chosen) // self.settings.batch_size)
        stopped = stopped_code(self.stop, complete=progress.watermark >= batches_total)
        return self._counts(progress), stopped, findings.present_ids()

    async def check_all(self, folder: Path) -> tuple[Counts, int | None, list[str]]:
        store = CheckpointStore(folder)
        store.lock()
        with contextlib.closing(store):
            state, fresh = self._open_all(store)
            findings = Findings(folder, truncate=fresh, recorded=state.progress.is_done)
            with contextlib.closing(findings):
                code = await self._send_all(store, state, findings, fresh)
                present = findings.present_ids() if code is None else []
        return self._counts(state.progress), code, present

    def _counts(self, p: Progress) -> Counts:
        """From the progress (journalled, so exact after a kill): a Check's success is gone,
        a failure is present by its label, else unknown."""
        present = p.reasons.get(Verdict.PRESENT.value, 0)
        return Counts(self.job.progress.ids_deleted, p.ids_deleted, present,
                      p.ids_failed - present)

    def _open_all(self, store: CheckpointStore) -> tuple[State, bool]:
        marker = _job_marker(self.job)
        if store.exists():
            state = store.load()
            begun = state.verify or {}
            if begun.get("job") != marker:
                log.warning("verify_restarted", why="the job's progress changed since this "
                            "verify began: every deleted ID is checked again")
            elif state.complete:
                log.info("verify_again", why="the last verify --all completed; checking "
                         "every deleted ID again")
            else:
                self.list_name = begun["list"]  # written with the marker
                return state, False
            store.discard()
        job = self.job
        self.list_name = new_list_name(self.files.checkpoint_dir, every=True)
        state = State(binding=job.binding,
                      totals=Totals(job.progress.ids_deleted, 0, job.totals.batches_total),
                      input=job.input, updated=utc_timestamp(),
                      verify={"job": marker, "list": self.list_name})
        store.create(state)
        return state, True

    async def _send_all(self, store: CheckpointStore, state: State, findings: Findings,
                        fresh: bool) -> int | None:
        p = state.progress
        if not fresh:
            self.shapes = GoneShapes((state.verify or {}).get("gone_shapes", ()))
            log.info("verify_resume", watermark=p.watermark,
                     checked=p.ids_deleted + p.ids_failed)
        plan = make_plan(self.settings, self.files, self.fmt, state.totals,
                         None if fresh else p)
        run = RunRecord(run_id=self.run_id, started=utc_timestamp(), resumed=not fresh)

        def closing() -> None:
            state.verify = {**(state.verify or {}), "gone_shapes": self.shapes.listing()}

        job = Recorded(store, state, run, resumed=not fresh, closing=closing)
        send = Send(self.settings, findings, self.stop, operation=partial(
            check_operation, findings=findings, shapes=self.shapes))
        stopped: int | None = None

        def exit_code(_end: RunEnd) -> int:  # the run's own, in the verify's list of runs
            nonlocal stopped
            stopped = stopped_code(self.stop, complete=state.complete)
            return stopped if stopped is not None else (1 if p.ids_failed else 0)

        await run_recorded(job, send, self._batches(p.anchor), plan=plan,
                           observer=self.observer, exit_code=exit_code)
        return stopped


def _job_marker(job: State) -> str:
    """What the job's progress is now: a verify --all that began on another progress
    would check a population that is no longer the job's."""
    p = job.progress
    above = ",".join(map(str, sorted(p.done_above)))
    return f"{job.binding.fingerprint}|{p.watermark}|{above}|{p.ids_deleted}|{p.ids_failed}"
