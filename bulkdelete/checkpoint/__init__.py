"""The job's durable progress: what is done, so a rerun resumes where the last one stopped.

``model`` is the state in memory and its JSON form; ``journal`` the records between
snapshots, their replay, and the ledger; ``store`` the folder (lock, load, snapshots);
``folder`` that folder held by a run. The format and its recovery: docs/checkpoint.md.
"""

from __future__ import annotations

from bulkdelete.checkpoint.journal import JournalWriter, Ledger
from bulkdelete.checkpoint.model import (
    Binding,
    Progress,
    RunRecord,
    State,
    Totals,
    Traffic,
)
from bulkdelete.checkpoint.store import (
    LOCK_NAME,
    STATE_NAME,
    CheckpointStore,
    check_binding,
    describe_saved,
)

__all__ = [
    "LOCK_NAME",
    "STATE_NAME",
    "Binding",
    "CheckpointStore",
    "JournalWriter",
    "Ledger",
    "Progress",
    "RunRecord",
    "State",
    "Totals",
    "Traffic",
    "check_binding",
    "describe_saved",
]
