"""A resumable run: open the input and the checkpoint, plan, confirm, send, close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import structlog

from bulkdelete.batcher import Batch, within_precount
from bulkdelete.checkpoint import CheckpointStore, RunRecord, State, check_binding, describe_saved
from bulkdelete.client import Deleter
from bulkdelete.engine import StopRequest
from bulkdelete.errors import (
    AbortError,
    CheckpointLocked,
    ConfirmationRefused,
    InputError,
    StorageError,
    UsageError,
)
from bulkdelete.failed import FailedFile, check_lists_all, check_not_in_use, check_unclaimed
from bulkdelete.job.invalid import listed_whole, remove_stale, write_invalid_lines
from bulkdelete.job.preflight import preflight as check_credentials
from bulkdelete.job.result import JobResult, exit_code_after, exit_code_for
from bulkdelete.lifecycle.drive import Recorded, Send, new_run_id, run_recorded, was_killed
from bulkdelete.lifecycle.observer import Observer, QuietObserver
from bulkdelete.lifecycle.plan import (
    Plan,
    binding_for,
    make_plan,
    open_input,
    precount,
    read_batches,
)
from bulkdelete.logs import utc_timestamp
from bulkdelete.reader import InputFormat
from bulkdelete.reader.guard import Watch
from bulkdelete.report import build_report, save_report
from bulkdelete.settings import JobFiles, Settings
from bulkdelete.verify.output import VERIFY_NAME
from bulkdelete.wording import counted

log = structlog.get_logger("bulkdelete")


async def run_job(
    settings: Settings,
    files: JobFiles,
    *,
    stop: StopRequest | None = None,
    observer: Observer | None = None,
    deleter: Deleter | None = None,
    resume_command: str = "",
    run_id: str | None = None,
) -> JobResult:
    """Run (or resume) the job to its end, a --limit, a stop or an abort: exit 0, 1 or
    128+signal returned; 2 and 3 raised as :class:`BulkDeleteError` (an abort's report
    already written). Every event it logs carries ``run_id``."""
    run_id = run_id or new_run_id()
    with structlog.contextvars.bound_contextvars(run_id=run_id):
        fmt = open_input(files, settings)
        stop = stop or StopRequest()
        store = CheckpointStore(files.checkpoint_dir)
        # A started job is locked before it is read, so two runs never share it. A new job
        # writes nothing, not even its folder, until the operator has said yes (docs/cli.md).
        if store.exists():
            store.lock()
        job = _Job(settings, files, fmt, store, stop, observer or QuietObserver(), deleter,
                   run_id)
        try:
            state = await job.recover(resume_command)
            if not job.resumed and not state.totals.ids_total and state.totals.lines_invalid:
                job.refuse_nothing_valid(state)  # an empty file is a job of 0 IDs, complete
            if state.complete:
                return job.report_unchanged(state)
            # After the checks that need no server, so theirs are the errors a run shows; an
            # injected deleter talks to no server of its own: nothing to check.
            checked = settings.preflight and deleter is None
            accepted = await check_credentials(settings, stop) if checked else None
            plan = replace(job.plan(state), preflight=accepted)
            await job.observer.confirm(plan)
            if job.stop.requested:
                raise ConfirmationRefused(
                    f"stopped ({job.stop.reason}) before the run started; nothing was sent")
            if not job.resumed:
                job.create(state)
            return await job.send(state, plan)
        except StorageError as exc:
            saved_in = store.moved_to() or store.directory  # a folder moved away keeps the job
            with contextlib.suppress(OSError):
                store.close()  # the journal's own failure is the one being reported
            # Said from what is on disk now, after the run's last save was tried.
            raise StorageError(f"{exc}; the run stopped at once. {describe_saved(saved_in)}"
                               ) from None
        finally:
            store.close()


@dataclass(slots=True)
class _Job:
    settings: Settings
    files: JobFiles
    fmt: InputFormat
    store: CheckpointStore
    stop: StopRequest
    observer: Observer
    deleter: Deleter | None
    run_id: str
    resumed: bool = False
    restarting: bool = False
    watch: Watch | None = None

    async def recover(self, resume_command: str) -> State:
        """The started job's state, or a new one from the pre-count (nothing written)."""
        store, files = self.store, self.files
        # The input as this run finds it: every read of the run must find it unchanged.
        self.watch = await asyncio.to_thread(Watch.start, files.input)
        binding = await binding_for(self.settings, files, self.fmt)
        # --restart discards only a job this run locked before reading it.
        self.restarting = files.restart and store.locked
        self.resumed = store.exists() and not files.restart
        if self.resumed:
            state = store.load()
            check_binding(state.binding, binding, store.directory)
            state.bind_failed_file(files.failed_path, store.directory)
            check_lists_all(files.failed_path, state.failed_listed)
            self._repair_invalid_list(state)
        else:
            store.check_creatable()
            log.info("counting_input", input=str(files.input), format=self.fmt)
            totals = await asyncio.to_thread(precount, files, self.fmt, self.settings, self.watch)
            state = State(binding=binding, totals=totals, input=str(files.input),
                          resume_command=resume_command, updated=utc_timestamp())
            state.bind_failed_file(files.failed_path, store.directory)
        check_not_in_use(files.failed_path)  # another job's failed file: refused now
        if not (self.resumed or self.restarting):  # --restart empties its own on purpose
            check_unclaimed(files.failed_path)
        if resume_command:
            state.resume_command = resume_command
        return state

    def create(self, state: State) -> None:
        """The new job's first write, once the operator has said yes. A job another run
        created meanwhile is refused, never shared."""
        store = self.store
        if not store.locked:
            store.lock()
        if store.exists():
            if not self.restarting:
                raise CheckpointLocked(
                    f"checkpoint {store.directory} was created by another run while this one "
                    "waited to start; nothing was sent. Rerun the same command to resume it")
            log.info("restart", checkpoint=str(store.directory))
            store.discard()
            # The last verify.json spoke of the discarded job. The still-present lists
            # stay: each may be another job's input.
            with contextlib.suppress(FileNotFoundError):
                (store.directory / VERIFY_NAME).unlink()
        # Listed before the state exists: a job whose state exists has its list whole.
        self._write_invalid_list(state)
        store.create(state)

    def _write_invalid_list(self, state: State) -> Path:
        return write_invalid_lines(self.store.directory, self.files, self.fmt,
                                   self.settings.id_type, self.watch, state.totals.lines_invalid)

    def _repair_invalid_list(self, state: State) -> None:
        directory = self.store.directory
        remove_stale(directory)
        if not listed_whole(directory, state.totals.lines_invalid):
            log.info("invalid_list_rewritten", lines_invalid=state.totals.lines_invalid)
            self._write_invalid_list(state)

    def refuse_nothing_valid(self, state: State) -> None:
        """Exit 2, the invalid lines listed first, never over a job's folder holding a state."""
        store, t = self.store, state.totals
        listed = ""
        if not store.exists():
            store.check_creatable()
            if not store.locked:
                store.lock()
            listed = f", listed in {self._write_invalid_list(state)}"
        raise InputError(
            f"the input has no valid ID: {counted(t.lines_invalid, 'invalid line')}"
            f"{listed}; nothing was sent. Check --format, --column and --id-type")

    def report_unchanged(self, state: State) -> JobResult:
        code = exit_code_for(state)
        report = build_report(state, exit_code=code)
        save_report(self.files.report_path, report)
        return JobResult(report, code, self.store.directory, self.files.failed_path,
                         already_finished=True)

    def plan(self, state: State) -> Plan:
        settings = self.settings
        plan = make_plan(settings, self.files, self.fmt, state.totals,
                         state.progress if self.resumed else None)
        if settings.max_delete is not None and plan.ids_this_run > settings.max_delete:
            raise UsageError(
                f"this run would send {counted(plan.ids_this_run, 'ID')}, more than --max-delete "
                f"{settings.max_delete:,}; nothing was sent. Raise --max-delete or use --limit"
            )
        return plan

    async def send(self, state: State, plan: Plan) -> JobResult:
        settings, p = self.settings, state.progress
        # A new job's failed file starts empty (emptied once locked).
        failed_file = FailedFile(self.files.failed_path, truncate=not self.resumed,
                                 folder_check=self.store.check_same_folder)
        if not self.resumed:
            log.info("start", input=str(self.files.input), format=self.fmt,
                     ids_total=plan.ids_total, batches=plan.batches_total, host=settings.host,
                     account_id=settings.account_id, id_type=settings.id_type,
                     concurrency=settings.concurrency, rate=settings.rate,
                     batch_size=settings.batch_size, limit=settings.limit)
        else:
            _, offset, line = p.anchor
            left = "in_flight_at_crash" if was_killed(state.runs) else "in_flight_at_stop"
            log.info("resume", watermark=p.watermark, offset=offset, line=line,
                     done=p.ids_deleted + p.ids_failed, ids_total=plan.ids_total,
                     **{left: len(p.sent_above)})
        run = RunRecord(run_id=self.run_id, started=utc_timestamp(), resumed=self.resumed,
                        requester=settings.requester, ticket=settings.ticket)
        job = Recorded(self.store, state, run, self.resumed, report=self.files.report_path)
        send = Send(settings, failed_file, self.stop, self.deleter)
        try:
            exit_code = await run_recorded(
                job, send, self._batches(state), plan=plan, observer=self.observer,
                exit_code=lambda end: exit_code_after(state, end, self.stop))
        except AbortError as exc:
            # Raised to the caller, who says it once (the CLI: its one error line, also in
            # the log file); an error event here would repeat it on the console.
            log.debug("aborted", reason=str(exc))
            raise
        finally:
            failed_file.close()
        report = build_report(state, exit_code=exit_code)
        if self.stop.requested:
            log.info("shutdown", reason=self.stop.reason, exit_code=exit_code,
                     watermark=state.progress.watermark)
        return JobResult(report, exit_code, self.store.directory, self.files.failed_path)

    def _batches(self, state: State) -> Iterator[Batch]:
        settings, files = self.settings, self.files
        batches = read_batches(files, self.fmt, settings.id_type, settings.batch_size,
                               state.progress.anchor, self.watch)
        return within_precount(batches, state.totals.ids_total, settings.batch_size,
                               files.input)
