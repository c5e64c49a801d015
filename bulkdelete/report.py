"""The job's report (docs/report.md), regenerated from the checkpoint after every run: job
counts once per input position, traffic summed over the runs; no ID, no passcode."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bulkdelete.checkpoint import RunRecord, State
from bulkdelete.durable import write_private_atomic
from bulkdelete.errors import StorageError
from bulkdelete.logs import utc_timestamp
from bulkdelete.reader.rule import encoding_hint
from bulkdelete.wording import counted

# A success only marks a profile, purged within 48 hours (docs/verify.md).
PURGE_WINDOW = timedelta(hours=48)


def build_report(state: State, *, exit_code: int | None) -> dict[str, Any]:
    p = state.progress
    t = state.totals
    runs = state.runs
    top = sorted(p.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {
        "ids_total": t.ids_total,
        "ids_deleted": p.ids_deleted,
        "ids_failed": p.ids_failed,
        "ids_duplicate": t.ids_duplicate,
        "ids_distinct": t.ids_total - t.ids_duplicate,
        "lines_invalid": t.lines_invalid,
        "lines_blank": t.lines_blank,
        "invalid_samples": [{"line": line, "reason": reason}
                            for line, reason in t.invalid_samples],
        "batches_total": t.batches_total,
        "batches_done": p.watermark + len(p.done_above),
        "complete": state.complete,
        "exit_code": exit_code,
        "fingerprint": state.binding.fingerprint,
        "input_format": state.binding.format,
        "id_type": state.binding.id_type,
        "target": {"account_id": state.binding.account_id, "host": state.binding.host},
        **{k: sum(getattr(r.traffic, k) for r in runs)
           for k in ("requests", "retries", "throttled")},
        # Job-level, from the journal: right even when the runs that re-sent were killed
        # before their own counters were saved.
        "resent_after_crash": p.resent_after_crash,
        "resent_after_stop": p.resent_after_stop,
        "top_failure_reasons": [{"reason": r, "count": c} for r, c in top],
        "elapsed_s": round(sum(r.elapsed_s for r in runs), 3),
        "runs": [r.to_json() | {"elapsed_s": round(r.elapsed_s, 3)} for r in runs],
        **purge_dates(runs),
        "updated": state.updated,
        **({"verify": state.verify} if state.verify is not None else {}),
        **({"baseline": state.baseline} if state.baseline is not None else {}),
    }


def save_report(path: Path, report: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_atomic(path, (json.dumps(report, indent=2) + "\n").encode())
    except OSError as exc:
        raise StorageError(f"cannot write the report {path}: {exc.strerror or exc}") from None


def summary_lines(report: dict[str, Any]) -> list[str]:
    total = report["ids_total"]
    done = report["ids_deleted"] + report["ids_failed"]
    elapsed = report["elapsed_s"]
    state = "complete" if report["complete"] else f"incomplete ({done:,} of {total:,} handled)"
    lines = [
        f"job {state}: {report['ids_deleted']:,} deleted, {report['ids_failed']:,} failed, "
        f"{counted(report['lines_invalid'], 'invalid line')}{blanks(report['lines_blank'])}, "
        f"of {counted(total, 'ID')}{repeats(report['ids_duplicate'], total)}",
        f"traffic: {counted(report['requests'], 'request')}, "
        f"{counted(report['retries'], 'retry')}, {report['throttled']:,} throttled (429), "
        f"{_resent(report)}; {elapsed:,.1f}s over {counted(len(report['runs']), 'run')}"
        f"{_rate(report['ids_deleted'], elapsed)}",
    ]
    for item in report["top_failure_reasons"][:5]:
        lines.append(f"  failed: {item['count']:,} × {item['reason']}")
    for sample in report["invalid_samples"][:5]:
        lines.append(f"  invalid: line {sample['line']}: {sample['reason']}")
    if hint := encoding_hint(sample["reason"] for sample in report["invalid_samples"]):
        lines.append(f"  {hint}")
    return lines


def repeats(duplicate: int, total: int) -> str:
    """How the plan and the summary say the repeats (docs/report.md): each occurrence is
    counted as deleted, a repeat in the same batch is sent once."""
    if not duplicate:
        return ""
    return (f" ({duplicate:,} of them {'a repeat' if duplicate == 1 else 'repeats'} of an "
            f"earlier ID: {total - duplicate:,} distinct)")


def blanks(blank: int) -> str:
    """Blank lines, CSV cells and JSON values: one count, never listed one by one."""
    return f", {blank:,} blank" if blank else ""


def per_second(rate: float) -> str:
    """A rate for people, with decimals when slow: 0.43, never a rounded "0"; "–" for none."""
    if rate <= 0:
        return "–"
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:.2g}"


def _rate(deleted: int, elapsed: float) -> str:
    """Only once something was deleted (docs/cli.md): never "0 IDs/s"."""
    if deleted <= 0 or elapsed <= 0:
        return ""
    return f", {per_second(deleted / elapsed)} IDs/s"


def _resent(report: dict[str, Any]) -> str:
    """Each named only when it happened: a Ctrl-C is never reported as a crash."""
    crash, stop = report["resent_after_crash"], report["resent_after_stop"]
    if crash and stop:
        return f"{counted(crash, 'ID')} re-sent after a crash and {stop:,} after a stop"
    if stop:
        return f"{counted(stop, 'ID')} re-sent after a stop"
    return f"{counted(crash, 'ID')} re-sent after a crash" if crash else "0 IDs re-sent"


def purge_dates(runs: Sequence[RunRecord]) -> dict[str, str | None]:
    """``requested_at``: when the last run with a delete ended (killed: started)."""
    for run in reversed(runs):
        if run.traffic.ids_deleted > 0:
            requested = run.ended or run.started
            return {"requested_at": requested,
                    "purge_due_by": utc_timestamp(_parse(requested) + PURGE_WINDOW)}
    return {"requested_at": None, "purge_due_by": None}


def is_early(due_by: str, now: datetime | None = None) -> bool:
    return (now or datetime.now(UTC)) < _parse(due_by)


def _parse(when: str) -> datetime:
    parsed = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
