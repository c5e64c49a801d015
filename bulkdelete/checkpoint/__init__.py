"""The job's durable progress: what is done, so a rerun resumes where the last one stopped.

- :mod:`~bulkdelete.checkpoint.model`: the state in memory (binding, totals, progress,
  runs), and its JSON form; touches no file.
- :mod:`~bulkdelete.checkpoint.journal`: the append-only records between snapshots, their
  replay, and the ledger: progress and journal updated by one call.
- :mod:`~bulkdelete.checkpoint.store`: the checkpoint directory (lock, load, snapshots).
- :mod:`~bulkdelete.checkpoint.folder`: that directory held by a run: the user's alone, and
  the same folder throughout.

The format and its recovery are described in docs/checkpoint.md.
"""

from __future__ import annotations

from bulkdelete.checkpoint.journal import Journal, JournalWriter, Ledger
from bulkdelete.checkpoint.model import (
    FORMAT_VERSION,
    MAX_REASONS,
    Binding,
    DoneBatch,
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
    "FORMAT_VERSION",
    "LOCK_NAME",
    "MAX_REASONS",
    "STATE_NAME",
    "Binding",
    "CheckpointStore",
    "DoneBatch",
    "Journal",
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
