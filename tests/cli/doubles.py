"""Stand-ins for the prompt's and the display's unit tests: a plan, a terminal."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

from bulkdelete.job import Plan


def a_plan(**changes: Any) -> Plan:
    plan = Plan(
        input=Path("ids.txt"), format="lines", account_id="ACC-1", host="in1.api.clevertap.com",
        id_type="guid", ids_total=1_000, lines_invalid=0, invalid_samples=[],
        batches_total=10, ids_remaining=1_000, ids_this_run=1_000, resumed=False,
        concurrency=3, batch_size=100, rate=None,
    )
    return dataclasses.replace(plan, **changes)


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True
