"""``verify`` (docs/verify.md): ``--sample N`` checks a seeded sample in memory; ``--all`` every
deleted ID through delete's run lifecycle, in the checkpoint's ``verify/``, so it resumes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import structlog

from bulkdelete.answer import Verdict
from bulkdelete.batcher import Batch, make_batches
from bulkdelete.checkpoint import Binding, CheckpointStore, Progress, RunRecord, State, Totals
from bulkdelete.engine import StopRequest
from bulkdelete.errors import InputError, StorageError, UsageError
from bulkdelete.failed import MemoryFailures
from bulkdelete.lifecycle import drive
from bulkdelete.lifecycle.plan import (
    Observer,
    Plan,
    QuietObserver,
    binding_for,
    check_same_job,
    make_plan,
    open_input,
    read_batches,
)
from bulkdelete.logs import utc_timestamp
from bulkdelete.outputs import VERIFY_FOLDER
from bulkdelete.reader import Input, Record
from bulkdelete.report import build_report, save_report
from bulkdelete.settings import JobFiles, Settings
from bulkdelete.verify import output, paired
from bulkdelete.verify.stats import reservoir

log = structlog.get_logger("bulkdelete")

DEFAULT_SAMPLE = 1000


@dataclass(slots=True)
class VerifyResult:
    """verify.json's object (a stopped verify's: the counts so far, unwritten), the exit
    code, and the list of IDs found present (None when none is, or the verify stopped)."""

    summary: dict[str, Any]
    exit_code: int
    still_present: Path | None


async def verify_job(settings: Settings, files: JobFiles, *, sample: int | None = DEFAULT_SAMPLE,
                     seed: int | None = None, stop: StopRequest | None = None,
                     observer: Observer | None = None, run_id: str | None = None,
                     resume_command: str = "") -> VerifyResult:
    """Check a seeded sample of the job's deleted IDs, or every one when ``sample`` is None
    (``resume_command`` is kept with an --all's progress, for ``status``).
    Exit 2 and 3 are raised as :class:`BulkDeleteError`; every event logged has ``run_id``."""
    run_id = run_id or drive.new_run_id()
    with structlog.contextvars.bound_contextvars(run_id=run_id):
        if sample is not None and sample < 1:
            raise UsageError(f"--sample must be at least 1, got {sample}")
        source = open_input(files, settings)
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
            source = await asyncio.to_thread(source.watched)
            check_same_job(state, await binding_for(settings, source), files, store.directory,
                           "nothing was looked up", "Verify a job with the input, format, "
                           "--id-type and target its delete ran with")
            # What a pipeline needs to tie this verify's events to its job and target.
            log.info("verify_start", input=str(files.input), account_id=settings.account_id,
                     host=settings.host, id_type=settings.id_type,
                     sample="all" if sample is None else sample,
                     population=state.progress.ids_deleted)
            failed = failed_ids(store.directory / state.failed)
            baseline = paired.load(store.directory)
            job = _Verify(settings, files, source, state, stop or StopRequest(), run_id, partial(
                deleted_batches, source, settings.batch_size, state, failed), resume_command)
            if baseline is not None and baseline.calibration is not None:
                job.calibration = baseline.calibration.shape
            # The profiles present before the delete that the job deleted: looked up again.
            wanted = set(baseline.present_ids()) - failed if baseline is not None else set()
            pairs: set[str] = set()
            if sample is None:
                # The pairs first: a stop among them leaves the --all's progress untouched.
                # A complete job deleted every baseline ID it did not fail: no pass to find
                # them (on ten million lines, one more read of the whole input).
                if wanted and state.complete:
                    pairs = wanted
                elif wanted:
                    await asyncio.to_thread(paired.drain,
                                            paired.noting(job.batches(), wanted, pairs))
                again = await job.check(sorted(pairs), job.pair_shapes)
                checked = paired.Checked(Progress(), again.stopped, []) if again.stopped else (
                    await job.check_all(store.directory / VERIFY_FOLDER,
                                        observer or QuietObserver()))
            else:
                seed = secrets.randbits(32) if seed is None else seed
                checked = await job.check_sample(sample, seed, wanted, pairs)
                again = (paired.Checked(Progress(), checked.stopped, []) if checked.stopped
                         else await job.check(sorted(pairs), job.pair_shapes))
            end_code = checked.stopped or again.stopped
            # Given to this verify (--requester/--ticket), else the job's.
            summary = output.summarize(
                state.progress.ids_deleted, *checked.counts(), sample=sample,
                seed=None if sample is None else seed, runs=state.runs,
                names=(settings.requester, settings.ticket))
            summary["gone_shapes"] = job.shapes.listing()
            summary["baseline"] = paired.block(baseline, rechecked=len(pairs), **dict(zip(
                ("gone", "present", "unknown"), again.counts(), strict=True)))
            summary["baseline"]["gone_shapes"] = job.pair_shapes.listing()
            summary["calibration"] = paired.calibration_block(baseline)
            if end_code is not None:  # stopped: nothing is final yet
                return VerifyResult(summary, end_code, None)
            # A baseline ID still present is listed like any other, once.
            present = list(dict.fromkeys([*checked.present, *again.present]))
            try:
                still = output.write_outputs(store.directory, summary, present, job.list_name
                                             or output.new_list_name(store.directory))
            except OSError as exc:
                # Not "progress saved, resume": a sample is drawn anew, and a complete --all
                # checks every deleted ID again. The lists handed out before are untouched.
                again_what = "a new sample" if sample is not None else "every deleted ID again"
                raise StorageError(
                    f"cannot write {exc.filename or store.directory}: {exc.strerror or exc}; "
                    f"this verify's findings were not kept (the lists and verify.json are as "
                    f"they were). Free space, then run it again: it checks {again_what}"
                ) from None
            state.verify = summary
            store.finish(state)
            last = state.runs[-1].exit_code if state.runs else None
            save_report(files.report_path, build_report(state, exit_code=last))
            log.info("verified", **{k: summary[k]
                                    for k in ("checked", "gone", "present", "unknown")},
                     erased=summary["baseline"].get("erased"))
            clean = checked.progress.ids_failed == 0 and again.progress.ids_failed == 0
            return VerifyResult(summary, 0 if clean else 1, still)


def failed_ids(path: Path) -> set[str]:
    """Expected to remain, so never checked."""
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            return {line.strip() for line in lines if line.strip()}
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise InputError(f"cannot read the job's failed file {path}: {exc.strerror}") from None


def deleted_batches(source: Input, batch_size: int, state: State, failed: set[str], *,
                    start: tuple[int, int, int] = (0, 0, 1)) -> Iterator[Batch]:
    """The job's batches from ``start`` on, read as the job read them (batch numbers are a
    pure function of the input and the batch size), each holding only its deleted IDs: a
    done batch's (of a batch not done, the head a --limit did), less the failed file's."""
    p = state.progress
    for batch in read_batches(source, batch_size, start):
        if not p.is_done(batch.seq):
            batch.ids = batch.ids[:p.head_done.get(batch.seq, 0)]
        if failed and batch.ids:
            batch.ids = [ident for ident in batch.ids if ident not in failed]
        yield batch


async def look_up(settings: Settings, binding: Binding, ids: list[str], stop: StopRequest,
                  run_id: str, *, shapes: output.GoneShapes, calibration: dict[str, Any] | None
                  = None, plan: Plan | None = None, observer: Observer | None = None,
                  ) -> tuple[State, list[tuple[str, str, str]]]:
    """Each ID looked up once, read-only and in memory (nothing to resume): verify's sample,
    and the baseline before a delete (bulkdelete.job.baseline). Its state, and the (ID,
    reason, detail) of each ID not gone; ``plan`` and ``observer`` show its progress."""
    state = State(binding=binding,
                  totals=Totals(len(ids), 0, math.ceil(len(ids) / settings.batch_size)))
    findings = MemoryFailures()
    run = RunRecord(run_id=run_id, started=utc_timestamp())
    await drive.run_recorded(
        drive.Run(settings, findings, stop, state, run, calibration=calibration, plan=plan,
                  operation=partial(output.check_operation, shapes=shapes),
                  observer=observer or QuietObserver()),
        make_batches((Record(i, 0, 0) for i in ids), settings.batch_size))
    return state, findings.items


@dataclass(slots=True)
class _Verify:
    settings: Settings
    files: JobFiles
    source: Input  # watched
    job: State
    stop: StopRequest
    run_id: str
    batches: partial[Iterator[Batch]]  # deleted_batches, all but ``start`` given
    resume_command: str
    list_name: str | None = None  # an --all's list, named when it began
    shapes: output.GoneShapes = dataclasses.field(default_factory=output.GoneShapes)
    pair_shapes: output.GoneShapes = dataclasses.field(default_factory=output.GoneShapes)
    # The account's not-found shape, from the job's baseline (docs/verify.md, "Calibration").
    calibration: dict[str, Any] | None = None

    async def check_sample(self, size: int, seed: int, wanted: set[str],
                           pairs: set[str]) -> paired.Checked:
        """The pass that draws the sample also finds which of ``wanted`` the job deleted
        (into ``pairs``): the input is read once."""
        # The pass over the input runs in a thread, so signals are still heard meanwhile.
        chosen = await asyncio.to_thread(reservoir, paired.noting(self.batches(), wanted, pairs),
                                         size, random.Random(seed))
        log.info("verify_sample", sample=len(chosen), seed=seed)
        return await self.check(chosen, self.shapes)

    async def check(self, chosen: list[str], shapes: output.GoneShapes) -> paired.Checked:
        """``chosen`` looked up in memory: nothing to resume."""
        if not chosen:
            return paired.Checked(Progress(), None, [])
        state, findings = await look_up(self.settings, self.job.binding, chosen, self.stop,
                                        self.run_id, shapes=shapes, calibration=self.calibration)
        stopped = drive.stopped_code(self.stop, complete=state.complete)
        present = (ident for ident, reason, _ in findings if reason == Verdict.PRESENT.value)
        return paired.Checked(state.progress, stopped, list(dict.fromkeys(present)))

    async def check_all(self, folder: Path, observer: Observer) -> paired.Checked:
        store = CheckpointStore(folder)
        store.lock()
        with contextlib.closing(store):
            state, fresh = self._open_all(store)
            p = state.progress
            findings = output.Findings(folder, truncate=fresh, recorded=p.is_done)
            with contextlib.closing(findings):
                if not fresh:
                    self.shapes = output.GoneShapes((state.verify or {}).get("gone_shapes", ()))
                    log.info("verify_resume", watermark=p.watermark,
                             checked=p.ids_done)
                plan = make_plan(self.settings, self.source, state.totals, None if fresh else p)
                run = RunRecord(run_id=self.run_id, started=utc_timestamp(), resumed=not fresh)

                def closing() -> None:
                    state.verify = {**(state.verify or {}), "gone_shapes": self.shapes.listing()}

                operation = partial(output.check_operation, findings=findings, shapes=self.shapes)
                await drive.run_recorded(
                    drive.Run(self.settings, findings, self.stop, state, run, store=store,
                              operation=operation, resumed=not fresh, closing=closing,
                              plan=plan, observer=observer, calibration=self.calibration),
                    self.batches(start=p.anchor))
                stopped = drive.stopped_code(self.stop, complete=state.complete)
                present = findings.present_ids() if stopped is None else []
        return paired.Checked(p, stopped, present)

    def _open_all(self, store: CheckpointStore) -> tuple[State, bool]:
        """The --all under way, or a new one; a verify that began on another progress of the
        job would check a population that is no longer the job's."""
        p = self.job.progress
        marker = (f"{self.job.binding.fingerprint}|{p.watermark}|"
                  f"{','.join(map(str, sorted(p.done_above)))}|{p.ids_deleted}|{p.ids_failed}")
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
        self.list_name = output.new_list_name(self.files.checkpoint_dir, every=True)
        state = State(binding=self.job.binding,
                      totals=Totals(p.ids_deleted, 0, self.job.totals.batches_total),
                      input=self.job.input, updated=utc_timestamp(),
                      resume_command=self.resume_command,
                      verify={"job": marker, "list": self.list_name})
        store.create(state)
        return state, True
