"""Verify paired with the baseline (docs/verify.md, "Erased, or only not found"): the profiles
looked up *before* the delete and found present are looked up again, so "gone now" on them
means *erased*, not merely *not found*. Also what "gone" rested on: the job's calibration
(the account's own not-found answer), or the phrase rule when there is none."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkdelete.answer import Verdict
from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import Progress
from bulkdelete.checkpoint.evidence import Baseline, load_baseline
from bulkdelete.errors import CheckpointError

ERASED = "present before the delete (looked up in the baseline) and gone now"
NOT_FOUND = "gone now, its state before the delete unknown (it may never have existed)"
WORDS = {"erased": ERASED, "not_found": NOT_FOUND}


@dataclass(slots=True)
class Checked:
    """One check's progress, its stop code (None: it ran to the end), and the IDs found
    present, each once."""

    progress: Progress
    stopped: int | None
    present: list[str]

    def counts(self) -> tuple[int, int, int]:
        """Gone, present, unknown, from the progress (journalled, so exact after a kill): a
        Check's success is gone, a failure is present by its label, else unknown."""
        p = self.progress
        found = p.reasons.get(Verdict.PRESENT.value, 0)
        return p.ids_deleted, found, p.ids_failed - found


def load(folder: Path) -> Baseline | None:
    try:
        return load_baseline(folder)
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}; nothing was looked up") from None


def drain(batches: Iterator[Batch]) -> None:
    for _ in batches:
        pass


def noting(batches: Iterable[Batch], wanted: set[str], found: set[str]) -> Iterator[Batch]:
    """``batches`` as they are, adding to ``found`` each ID of ``wanted`` they hold: the
    baseline IDs the job deleted, picked up on a pass the verify makes anyway."""
    for batch in batches:
        if wanted:
            found.update(ident for ident in batch.ids if ident in wanted)
        yield batch


def block(baseline: Baseline | None, *, rechecked: int, gone: int, present: int,
          unknown: int) -> dict[str, Any]:
    """verify.json's ``baseline``: the pairing's counts, or why there is none. ``rechecked``
    is how many of the present-before IDs the job deleted (failed ones are expected to
    remain, so not looked up again)."""
    if baseline is None or baseline.skipped or not baseline.ids:
        why = ("skipped when the job started (--baseline 0)" if baseline is not None
               and baseline.skipped else "the job kept none (it was started before baselines "
               "were kept, or through the library's iterable path)")
        return {"kept": False, "why": why, "words": WORDS}
    counts = baseline.counts()
    return {
        "kept": True,
        "checked_at": baseline.checked_at,
        "sampled": counts["sampled"],
        "present_before": counts["present"],
        "absent_before": counts["absent"],
        "unclear_before": counts["unclear"],
        "present_before_rechecked": rechecked,
        "present_before_now_gone": gone,
        "present_before_still_present": present,
        "unknown": unknown,
        "erased": gone,
        "words": WORDS,
    }


def calibration_block(baseline: Baseline | None) -> dict[str, Any]:
    """verify.json's ``calibration``: the shape "gone" rested on and when it was seen."""
    calibration = None if baseline is None else baseline.calibration
    if calibration is None:
        return {"rule": "phrase", "shape": None, "seen_at": None,
                "why": "no calibration was made for this job: gone rests on the fixed "
                       "not-found phrases (docs/verify.md)"}
    return {"rule": "calibration", "shape": calibration.shape, "seen_at": calibration.seen_at,
            "id_type": calibration.id_type}


def lines(summary: dict[str, Any]) -> list[str]:
    """The pairing and the rule, for people."""
    paired = summary.get("baseline") or {}
    out: list[str] = []
    if paired.get("kept"):
        rechecked = paired["present_before_rechecked"]
        line = (f"{paired['present_before_now_gone']:,} of the {rechecked:,} sampled profiles "
                f"that existed before the delete are gone now (erased)")
        rest = [f"{paired['present_before_still_present']:,} still present"
                if paired["present_before_still_present"] else "",
                f"{paired['unknown']:,} unknown" if paired["unknown"] else ""]
        if rest := [part for part in rest if part]:
            line += f"; {', '.join(rest)}"
        if (left := paired["present_before"] - rechecked) > 0:
            line += f" ({left:,} more not deleted by the job: failed or not reached yet)"
        out.append(line)
        if not paired["present_before"]:
            out.append("no sampled profile existed before the delete: every gone ID is only "
                       "'not found', none is shown erased")
    elif paired:
        out.append(f"no baseline: {paired['why']}; so gone IDs are 'not found', "
                   "never shown 'erased'")
    rule = summary.get("calibration") or {}
    if rule.get("rule") == "phrase":
        out.append("gone rests on the fixed not-found phrases: no calibration was made for "
                   "this job")
    return out
