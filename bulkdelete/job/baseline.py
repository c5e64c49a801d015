"""The baseline (docs/verify.md, "Baseline and calibration"): before a new job deletes
anything, a seeded sample of its valid IDs, drawn in the pass that counts the input, is
looked up read-only through the engine as verify's sample is; the account's not-found answer
is learned from a random ID first. Every sampled ID clearly absent refuses the run."""

from __future__ import annotations

import dataclasses
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

import structlog

from bulkdelete.answer import Verdict
from bulkdelete.checkpoint import Binding, Totals
from bulkdelete.checkpoint.evidence import Baseline, Seen, load_baseline
from bulkdelete.engine import StopRequest
from bulkdelete.errors import (
    CheckpointError,
    ConfirmationRefused,
    InputError,
    StalledError,
    TooManyErrors,
)
from bulkdelete.job.preflight import check
from bulkdelete.lifecycle.plan import Observer, make_plan
from bulkdelete.logs import utc_timestamp
from bulkdelete.reader import Input
from bulkdelete.sample import Reservoir
from bulkdelete.settings import Settings
from bulkdelete.verify.output import GoneShapes
from bulkdelete.verify.run import look_up
from bulkdelete.verify.stats import interval_95
from bulkdelete.wording import counted

log = structlog.get_logger("bulkdelete")

IN_FLIGHT = 3  # lookups at once at most: Get User Profile's own limit (docs/api.md)


@dataclass(slots=True)
class Draw:
    """The seeded sample the pre-count fills (None when the baseline is skipped)."""

    seed: int
    reservoir: Reservoir | None

    @classmethod
    def new(cls, size: int) -> Draw:
        seed = secrets.randbits(32)
        return cls(seed, Reservoir(size, random.Random(seed)) if size else None)


async def before_confirm(settings: Settings, source: Input, binding: Binding, totals: Totals,
                         draw: Draw | None, stop: StopRequest, observer: Observer, *,
                         credentials: bool, run_id: str) -> tuple[str | None, Baseline | None]:
    """The preflight's answer for the confirmation, and a new job's baseline (with ``draw``;
    None for a resume, which never redoes it). Refuses (exit 2) a sample all absent."""
    if draw is None:
        if not credentials:
            return None, None
        return (await check(settings, stop, calibrate=False)).said, None
    if not (credentials or settings.baseline):  # asked to send nothing before the yes
        return None, Baseline(size=0, seed=draw.seed, population=totals.ids_total,
                              calibration_note="not made (--no-preflight and --baseline 0)")
    checked = await check(settings, stop, credentials=credentials)
    baseline = Baseline(size=settings.baseline, seed=draw.seed, population=totals.ids_total,
                        calibration=checked.calibration, calibration_note=checked.note)
    chosen = draw.reservoir.sample if draw.reservoir is not None else []
    if chosen:
        baseline.ids = await _look(settings, source, binding, chosen, baseline, stop,
                                   observer, run_id)
        baseline.checked_at = utc_timestamp()
        counts = baseline.counts()
        baseline.interval = interval_95(counts["present"], counts["sampled"])
        log.info("baseline", **counts, seed=draw.seed)
        judge(settings, counts)
    return checked.said, baseline


async def _look(settings: Settings, source: Input, binding: Binding, chosen: list[str],
                baseline: Baseline, stop: StopRequest, observer: Observer,
                run_id: str) -> list[tuple[str, Seen]]:
    # Read-only and whole: no canary or error budget of the delete applies to it.
    looking = dataclasses.replace(settings, concurrency=min(settings.concurrency, IN_FLIGHT),
                                  limit=None, max_delete=None, max_errors=None)
    plan = dataclasses.replace(make_plan(looking, source, Totals(len(chosen), 0, 1)),
                               label="baseline")
    calibration = None if baseline.calibration is None else baseline.calibration.shape
    try:
        state, findings = await look_up(looking, binding, chosen, stop, run_id,
                                        shapes=GoneShapes(), calibration=calibration,
                                        plan=plan, observer=observer)
    except (TooManyErrors, StalledError) as exc:  # an account that answers nothing clearly
        raise type(exc)(f"baseline: {exc} (nothing was deleted or written; --baseline 0 "
                        "skips the baseline)") from None
    if stop.requested and not state.complete:
        raise ConfirmationRefused(
            f"stopped ({stop.reason}) during the baseline; nothing was deleted or written")
    seen = {ident: Seen.PRESENT if reason == Verdict.PRESENT.value else Seen.UNCLEAR
            for ident, reason, _ in findings}
    return [(ident, seen.get(ident, Seen.ABSENT)) for ident in chosen]


def judge(settings: Settings, counts: dict[str, int]) -> None:
    sampled, absent, unclear = counts["sampled"], counts["absent"], counts["unclear"]
    if absent == sampled and not settings.allow_absent:
        raise InputError(
            f"baseline: none of the {counted(sampled, 'sampled ID')} exists in the account "
            "(every one clearly absent); nothing was deleted or written. Likely causes: the "
            "wrong --column, the wrong --id-type, the wrong CSV delimiter, or the wrong "
            "account or region. If these profiles are expected to be gone, rerun with "
            "--allow-absent")
    if absent == sampled:
        log.warning("baseline_all_absent", sampled=sampled, why="--allow-absent: going on")
    elif unclear * 2 > sampled:
        log.warning("baseline_unclear", sampled=sampled, unclear=unclear,
                    why="most sampled IDs got no clear answer: the baseline says little")


def kept(folder: Path) -> Baseline | None:
    """A started job's baseline, for its plan; a damaged one is none (verify words it)."""
    try:
        return load_baseline(folder)
    except CheckpointError:
        return None


def describe(baseline: Baseline | None, *, resumed: bool = False) -> list[str]:
    """The plan's lines about the baseline and the calibration (a resume's: as kept)."""
    if baseline is None:
        return []
    if resumed and baseline.checked_at:
        return [line + (f" (when the job started, {baseline.checked_at})"
                        if line.startswith("baseline:") else "")
                for line in describe(baseline)]
    lines = []
    if baseline.skipped:
        lines.append("baseline:   skipped (--baseline 0)")
    elif not baseline.ids:
        lines.append("baseline:   no valid ID to sample")
    else:
        c = baseline.counts()
        low, high = baseline.interval or (0.0, 1.0)
        lines.append(
            f"baseline:   {c['present']:,} of {counted(c['sampled'], 'sampled ID')} "
            f"{'exists' if c['present'] == 1 else 'exist'} in the account (95 % interval "
            f"{low * 100:.1f}–{high * 100:.1f} %); {c['absent']:,} absent, "
            f"{c['unclear']:,} unclear")
    if baseline.calibration_note:
        lines.append(f"calibration: {baseline.calibration_note}")
    return lines
