"""The audit trail's dates: when the deletes were asked for, and when CleverTap's purge is
due (docs/verify.md). A success only marks a profile; CleverTap purges marked profiles in a
nightly window within 48 hours, so a profile found before then may simply not be purged yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bulkdelete.logs import utc_timestamp

if TYPE_CHECKING:
    from bulkdelete.checkpoint.model import RunRecord

PURGE_WINDOW = timedelta(hours=48)


def requested_at(runs: Sequence[RunRecord]) -> str | None:
    """When the last run with a delete acknowledged ended (a killed run: when it started)."""
    for run in reversed(runs):
        if run.traffic.ids_deleted > 0:
            return run.ended or run.started
    return None


def purge_dates(runs: Sequence[RunRecord]) -> dict[str, str | None]:
    """The report's and verify.json's ``requested_at`` and ``purge_due_by``."""
    requested = requested_at(runs)
    return {"requested_at": requested,
            "purge_due_by": purge_due_by(requested) if requested else None}


def purge_due_by(requested: str) -> str:
    return utc_timestamp(_parse(requested) + PURGE_WINDOW)


def is_early(due_by: str, now: datetime | None = None) -> bool:
    return (now or datetime.now(UTC)) < _parse(due_by)


def _parse(when: str) -> datetime:
    parsed = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
