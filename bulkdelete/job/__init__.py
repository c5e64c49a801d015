"""A resumable job: input file + checkpoint + engine + report. The library's front door.

:func:`run_job` is what ``bulkdelete delete`` runs; :func:`delete_ids` deletes from any
iterable of IDs without a checkpoint (a migration script's one-off); :func:`plan_job` is
the dry run. All three return or raise the same things the CLI turns into exit codes.

- :mod:`~bulkdelete.job.plan`: what a run is about to do, and the input reads it needs
- :mod:`~bulkdelete.job.observer`: what a caller watches a run through
- :mod:`~bulkdelete.job.run`: the run's steps (open/recover, plan, confirm, send, close)
- :mod:`~bulkdelete.job.ids`: :func:`delete_ids`, the same send from an iterable
- :mod:`~bulkdelete.job.drive`: the only module that builds and drives the engine
"""

from __future__ import annotations

from bulkdelete.engine import Snapshot
from bulkdelete.job.ids import delete_ids
from bulkdelete.job.observer import Observer, QuietObserver
from bulkdelete.job.plan import Plan, plan_job
from bulkdelete.job.run import JobResult, run_job

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
