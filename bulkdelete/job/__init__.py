"""A resumable job, the library's front door: :func:`run_job` (``bulkdelete delete``),
:func:`delete_ids` (any iterable of IDs, no checkpoint) and :func:`plan_job` (the dry run)."""

from __future__ import annotations

from bulkdelete.engine import Snapshot
from bulkdelete.job.ids import delete_ids
from bulkdelete.job.run import JobResult, plan_job, run_job
from bulkdelete.lifecycle.plan import Observer, Plan, QuietObserver

__all__ = ["JobResult", "Observer", "Plan", "QuietObserver", "Snapshot", "delete_ids",
           "plan_job", "run_job"]
