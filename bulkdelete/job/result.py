"""What a run of a job returns: its report and the exit code the report stands for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkdelete.checkpoint import State
from bulkdelete.engine import RunEnd, StopRequest
from bulkdelete.errors import InputError
from bulkdelete.lifecycle.drive import stopped_code


@dataclass(slots=True)
class JobResult:
    report: dict[str, Any]
    exit_code: int
    checkpoint: Path | None = None
    failed_path: Path | None = None
    failed_ids: list[str] | None = None  # only for delete_ids(): no failed file there
    already_finished: bool = False  # the job was finished before this run: nothing sent


def exit_code_for(state: State) -> int:
    return 1 if state.progress.ids_failed else 0


def exit_code_after(state: State, end: RunEnd, stop: StopRequest) -> int:
    """Raises InputError when the input ended short of the pre-count."""
    stopped = stopped_code(stop, complete=state.complete)
    if stopped is not None:
        return stopped
    if end.input_exhausted and not end.limit_reached and not state.complete \
            and state.totals.batches_total:
        # Every batch read was recorded, yet batches are missing: the file changed under us.
        raise InputError(
            f"the input ended after {state.progress.watermark:,} of "
            f"{state.totals.batches_total:,} batches: it changed during the run. Progress is "
            "saved; restore the original file to resume, or use --restart"
        )
    return exit_code_for(state)
