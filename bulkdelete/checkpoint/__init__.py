"""The job's durable progress, so a rerun resumes where the last one stopped
(docs/checkpoint.md)."""

from bulkdelete.checkpoint.journal import Ledger
from bulkdelete.checkpoint.model import Binding, Progress, RunRecord, State, Totals
from bulkdelete.checkpoint.store import LOCK_NAME, STATE_NAME, CheckpointStore, describe_saved
from bulkdelete.engine.stats import Traffic

__all__ = [
    "LOCK_NAME", "STATE_NAME", "Binding", "CheckpointStore", "Ledger", "Progress", "RunRecord",
    "State", "Totals", "Traffic", "describe_saved",
]
