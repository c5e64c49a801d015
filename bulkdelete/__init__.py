"""Delete CleverTap user profiles in bulk, resumably and safely: the library API."""

from __future__ import annotations

__version__ = "0.1.0"

import structlog as _structlog

from bulkdelete import logs as _logs
from bulkdelete.engine import StopRequest
from bulkdelete.errors import (
    AbortError,
    BulkDeleteError,
    CheckpointError,
    CheckpointLocked,
    CheckpointMismatch,
    ConfirmationRefused,
    FatalApiError,
    InputError,
    StalledError,
    StoppedMidRun,
    TooManyErrors,
    UsageError,
)
from bulkdelete.job import JobResult, Plan, delete_ids, plan_job, run_job
from bulkdelete.settings import (
    REGION_HOSTS,
    ErrorBudget,
    JobFiles,
    Secret,
    Settings,
    resolve_base_url,
)
from bulkdelete.verify import VerifyResult, verify_job

__all__ = [
    "REGION_HOSTS", "AbortError", "BulkDeleteError", "CheckpointError", "CheckpointLocked",
    "CheckpointMismatch", "ConfirmationRefused", "ErrorBudget", "FatalApiError", "InputError",
    "JobFiles", "JobResult", "Plan", "Secret", "Settings", "StalledError", "StopRequest",
    "StoppedMidRun", "TooManyErrors", "UsageError", "VerifyResult", "__version__", "delete_ids",
    "plan_job", "resolve_base_url", "run_job", "verify_job",
]

# A library caller who has not set structlog up gets the CLI's pipeline: events on stderr in
# the tool's one timestamp format (logs.utc_timestamp), not structlog's default (stdout,
# another format). A caller's own configuration, made before or after, stands.
if not _structlog.is_configured():
    _logs.configure()
