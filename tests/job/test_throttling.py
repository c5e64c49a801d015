"""Throttling changes for people: every step at debug, a summary at info at most once
per interval, and the rest when the run ends."""

from __future__ import annotations

import pytest
import structlog
from structlog.testing import capture_logs

from bulkdelete.lifecycle.drive import LimitChangeLog


@pytest.fixture(autouse=True)
def _plain_structlog() -> None:
    structlog.reset_defaults()


def test_the_first_change_is_said_at_once_then_summaries_per_interval() -> None:
    now = [0.0]
    changes = LimitChangeLog(interval=60, clock=lambda: now[0])
    with capture_logs() as events:
        changes(3, 2, "throttled")  # said at once
        for step in range(10):      # a storm within the interval: gathered
            now[0] = 1 + step
            if step % 2:
                changes(1, 2, "probe")
            else:
                changes(2, 1, "throttled")
        now[0] = 61
        changes(2, 3, "probe")      # the interval has passed: one summary
        changes(3, 2, "throttled")  # gathered again ...
        changes.flush()             # ... and said when the run ends
        changes.flush()             # nothing left: nothing said
    info = [e for e in events if e["log_level"] == "info"]
    debug = [e for e in events if e["log_level"] == "debug"]
    assert len(debug) == 13
    assert [(e["old"], e["new"], e["changes"]) for e in info] == [
        (3, 2, 1), (2, 3, 11), (3, 2, 1)]
    assert info[1]["why"] == {"probe": 6, "throttled": 5}
    assert info[1]["lowest"] == 1
