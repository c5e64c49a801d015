"""A resumable job: input file + checkpoint + engine + report. The library's front door.

:func:`run_job` is what ``bulkdelete delete`` runs; :func:`delete_ids` deletes from any
iterable of IDs without a checkpoint (a migration script's one-off); :func:`plan_job` is
the dry run. All three return or raise the same things the CLI turns into exit codes.

- :mod:`~bulkdelete.job.run`: the run's steps (open/recover, plan, confirm, send, close)
- :mod:`~bulkdelete.job.ids`: :func:`delete_ids`, the same send from an iterable
- :mod:`~bulkdelete.job.dry`: :func:`plan_job`, the dry run

The plan, the observer and the run lifecycle are :mod:`bulkdelete.lifecycle`'s, shared with
``verify``.
"""

from __future__ import annotations

from bulkdelete.engine import Snapshot
from bulkdelete.job.dry import plan_job
from bulkdelete.job.ids import delete_ids
from bulkdelete.job.result import JobResult
from bulkdelete.job.run import run_job
from bulkdelete.lifecycle.observer import Observer, QuietObserver
from bulkdelete.lifecycle.plan import Plan

__all__ = [
    "JobResult",
    "Observer",
    "Plan",
    "QuietObserver",
    "Snapshot",
    "delete_ids",
    "plan_job",
    "run_job",
]
