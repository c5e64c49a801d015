"""Deleting from any iterable of IDs: the same send as a job's, without a file, a
checkpoint or a resume (docs/library.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from bulkdelete.batcher import make_batches, tally
from bulkdelete.checkpoint import Binding, RunRecord, State, Totals
from bulkdelete.client import Deleter
from bulkdelete.engine import RunEnd, StopRequest
from bulkdelete.errors import UsageError
from bulkdelete.failed import MemoryFailures
from bulkdelete.job.run import JobResult, exit_code_after
from bulkdelete.lifecycle.drive import Run, new_run_id, run_recorded
from bulkdelete.logs import utc_timestamp
from bulkdelete.reader import Record
from bulkdelete.reader.rule import check, trim, unusable
from bulkdelete.report import build_report
from bulkdelete.settings import Settings


def item_value(raw: object) -> tuple[str, str | None]:
    """The ID an item stands for, and why it is not one (None when it is), by a file's rule."""
    if not isinstance(raw, str):
        return "", "not a string"
    value = trim(raw)
    return value, check(value)


async def delete_ids(settings: Settings, ids: Iterable[object], *, stop: StopRequest | None = None,
                     deleter: Deleter | None = None) -> JobResult:
    """Failed IDs come back in ``JobResult.failed_ids``; an invalid item is counted in the
    report's ``lines_invalid`` by its position (from 1), never sent. Raises AbortError on
    401/403 and abort rules; UsageError when *ids* is a single string or not iterable."""
    # A str (or bytes) is an iterable of its characters: each would be sent as an ID.
    if isinstance(ids, (str, bytes, bytearray, memoryview)):
        raise UsageError(
            f"delete_ids takes an iterable of IDs, not a single string ({type(ids).__name__}):"
            " pass a list of one ID to delete one")
    try:
        ids = iter(ids)
    except TypeError:
        raise UsageError(f"delete_ids takes an iterable of IDs; a {type(ids).__name__} is not "
                         "iterable") from None
    stop = stop or StopRequest()
    state = State(binding=Binding("", "iterable", None, settings.batch_size, settings.id_type,
                                  settings.account_id, settings.host), totals=Totals(0, 0, 0))
    failures = MemoryFailures()
    totals = state.totals
    # No file: no offset; an item's position (from 1) stands for its line.
    items = (Record(value, n, 0) if reason is None else unusable(n, reason)
             for n, (value, reason) in enumerate(map(item_value, ids), 1))

    def exit_code(end: RunEnd) -> int:  # the batches are counted once all are read
        totals.batches_total = math.ceil(totals.ids_total / settings.batch_size)
        return exit_code_after(state, end, stop)

    run = RunRecord(run_id=new_run_id(), started=utc_timestamp())
    code = await run_recorded(Run(settings, failures, stop, state, run, deleter),
                              make_batches(tally(items, totals), settings.batch_size), exit_code)
    return JobResult(build_report(state, exit_code=code), code,
                     failed_ids=[i for i, _, _ in failures.items])
