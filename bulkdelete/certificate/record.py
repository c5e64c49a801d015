"""The certificate's record (docs/certificate.md): what a job holds, as canonical JSON an
auditor can hash, with no raw ID in it. Read from the checkpoint folder only; nothing sent."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from bulkdelete.checkpoint import CheckpointStore, State
from bulkdelete.checkpoint.evidence import load_baseline
from bulkdelete.checkpoint.model import canonical
from bulkdelete.errors import BulkDeleteError, CheckpointError
from bulkdelete.logs import utc_timestamp
from bulkdelete.outputs import STILL_PRESENT_PREFIX, VERIFY_FOLDER
from bulkdelete.reader import Input, InputFormat, Record
from bulkdelete.report import build_report, purge_dates

FORMAT = "bulkdelete-certificate"
VERSION = 1
MASK = "<ID>"

# The headline states, worst first (docs/certificate.md, "The headline").
INCOMPLETE = "incomplete"
NOT_VERIFIED = "deleted, not yet verified"
EARLY = "verified early"
STILL_PRESENT = "some profiles still present"
VERIFIED = "verified"

# Values the tool itself makes (timestamps, digests, run IDs, the target): never free text,
# so never scanned for IDs — a short ID such as "2026" must not mask a date.
_STRUCTURAL = frozenset({
    "account_id", "checked_at", "ended", "fingerprint", "format", "host", "id_type",
    "made_at", "purge_due_by", "requested_at", "run_id", "seen_at", "sha256", "started",
    "state", "updated", "verified_at", "version", "rule", "sample", "input_format",
})


def build(folder: Path, *, version: str, now: datetime | None = None) -> dict[str, Any]:
    """The record of the job in checkpoint ``folder``. Raises CheckpointError (exit 2) when
    a run holds the job: a certificate of a job mid-run would be out of date at once."""
    store = CheckpointStore(folder)
    if store.is_locked_elsewhere():
        raise CheckpointError(f"a run holds the job in {folder} right now; make the "
                              "certificate once it has ended")
    state = store.load()
    baseline = load_baseline(folder)
    now = now or datetime.now(UTC)
    report = build_report(state, exit_code=state.runs[-1].exit_code if state.runs else None)
    named = next(((r.requester, r.ticket) for r in reversed(state.runs)
                  if r.requester or r.ticket), (None, None))
    failed = folder / state.failed if state.failed else None
    record: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "status": headline(state, now),
        "input": _input(state),
        "id_type": state.binding.id_type,
        "target": report["target"],
        "requester": named[0],
        "ticket": named[1],
        "runs": [_run(run.to_json()) for run in state.runs],
        "job": {key: report[key] for key in (
            "complete", "ids_total", "ids_deleted", "ids_failed", "lines_invalid",
            "ids_duplicate", "batches_total", "batches_done")},
        "failed": {"count": report["ids_failed"], "top_reasons": report["top_failure_reasons"],
                   "file": None if failed is None else _failed_file(failed)},
        **purge_dates(state.runs),
        "baseline": None if baseline is None else baseline.summary(),  # never its IDs
        "verify": _verify(state.verify),
        "tool": {"name": "bulkdelete", "version": version},
        "made_at": utc_timestamp(now),
    }
    # Every ID of the input, read as the job read it, then the files that list IDs (they
    # are the job's when the input has moved): none may stand in the record.
    scan = {"input_read": True}
    ids = itertools.chain(
        (ident for ident, _ in (baseline.ids if baseline is not None else [])),
        _input_ids(state, scan), _lines(_known_id_files(folder, failed)))
    masked = mask_ids(record, ids)
    record["id_scan"] = {**scan, "masked": masked}
    return record


def _input_ids(state: State, scan: dict[str, bool]) -> Iterator[str]:
    b = state.binding
    try:
        # The binding holds the format the job resolved, never "auto".
        source = Input(Path(state.input), cast(InputFormat, b.format), b.id_type, b.column,
                       b.delimiter, encoding=b.encoding)
        with contextlib.closing(source.records()) as records:
            for found in records:
                if isinstance(found, Record):
                    yield found.value
    except (BulkDeleteError, OSError):
        scan["input_read"] = False  # moved or removed: the lists of IDs are still scanned


def headline(state: State, now: datetime) -> dict[str, Any]:
    """The job's status in one plain phrase, and why."""
    p, verify = state.progress, state.verify
    due = purge_dates(state.runs)["purge_due_by"]
    if not state.complete:
        done = p.ids_done
        return {"state": INCOMPLETE, "why": f"{done:,} of {state.totals.ids_total:,} IDs "
                "handled so far: the job has not finished"}
    # A verify of another population (a delete ran after it) says nothing of this one.
    if not verify or verify.get("population") != p.ids_deleted or not verify.get("checked"):
        return {"state": NOT_VERIFIED, "why": "no verify has checked the job as it stands; "
                f"run verify after {due or 'the purge is due'}"}
    present = verify.get("present", 0) + (verify.get("baseline") or {}).get(
        "present_before_still_present", 0)
    if verify.get("early"):
        return {"state": EARLY, "why": f"the last verify ran before the purge was due "
                f"({verify.get('purge_due_by')}): profiles may still have been waiting for it; "
                "verify again after that"}
    if present:
        return {"state": STILL_PRESENT, "why": f"the last verify found {present:,} "
                "profiles still there after the purge was due"}
    if verify.get("unknown"):
        return {"state": NOT_VERIFIED, "why": f"the last verify had {verify['unknown']:,} "
                "unclear answers: run it again once the API answers clearly"}
    return {"state": VERIFIED, "why": "the job is complete and a verify after the purge was "
            "due found every checked profile gone"}


def _input(state: State) -> dict[str, Any]:
    # The fingerprint is "v1:<size>:<digest of sampled blocks>" (docs/checkpoint.md).
    parts = state.binding.fingerprint.split(":")
    size = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
    return {"name": Path(state.input).name, "size": size, "format": state.binding.format,
            "fingerprint": state.binding.fingerprint,
            # Of the bytes as read (a .gz decompressed), taken by the counting pass of jobs
            # that keep it; null for a job started before it was kept.
            "sha256": state.totals.input_sha256}


def _run(run: dict[str, Any]) -> dict[str, Any]:
    keys = ("run_id", "started", "ended", "exit_code", "resumed", "ids_deleted", "ids_failed",
            "requests", "requester", "ticket")
    return {key: run.get(key) for key in keys}


def _failed_file(path: Path) -> dict[str, Any]:
    """Its name, SHA-256 and line count: an auditor can tie a copy of it to the record."""
    digest, lines = hashlib.sha256(), 0
    try:
        with path.open("rb") as data:
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
                lines += block.count(b"\n")
    except FileNotFoundError:
        return {"name": path.name, "sha256": None, "lines": None, "missing": True}
    except OSError as exc:
        raise CheckpointError(f"cannot read the failed file {path}: {exc.strerror}") from None
    return {"name": path.name, "sha256": digest.hexdigest(), "lines": lines}


def _verify(verify: dict[str, Any] | None) -> dict[str, Any] | None:
    if verify is None:
        return None
    # The list's name carries no ID; the job's marker (--all) is internal.
    return {key: value for key, value in verify.items() if key not in ("job", "list")}


def _known_id_files(folder: Path, failed: Path | None) -> list[Path]:
    """Files that hold the job's IDs: the failed file, the still-present lists, --all's."""
    files = [*sorted(folder.glob(f"{STILL_PRESENT_PREFIX}*.txt")),
             folder / VERIFY_FOLDER / "present.txt", folder / VERIFY_FOLDER / "unknown.txt"]
    return [*([failed] if failed is not None else []), *files]


def _lines(paths: Iterable[Path]) -> Iterator[str]:
    for path in paths:
        try:
            with path.open(encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    # --all's findings are "<batch>\t<ID>".
                    if ident := line.rstrip("\n").rpartition("\t")[2].strip():
                        yield ident
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise CheckpointError(f"cannot read {path}: {exc.strerror}") from None


def mask_ids(record: dict[str, Any], ids: Iterable[str]) -> int:
    """Replace in ``record``'s free-text values every occurrence of an ID from ``ids`` (read
    once, streamed: a failed file may be long) by ``<ID>``; how many values changed. The
    shapes' texts are masked already; this is the second line of defence."""
    leaves = list(_text_leaves(record))
    if not leaves:
        return 0
    blob = "\n".join(value for _, _, value in leaves)
    hits = {ident for ident in ids if ident and ident in blob}
    changed = 0
    for parent, key, value in leaves:
        masked = value
        for ident in sorted(hits, key=len, reverse=True):
            masked = masked.replace(ident, MASK)
        if masked != value:
            parent[key] = masked
            changed += 1
    return changed


def _text_leaves(node: Any, parent: Any = None, key: Any = None,
                 ) -> Iterator[tuple[Any, Any, str]]:
    if isinstance(node, dict):
        for k, value in node.items():
            if k not in _STRUCTURAL:
                yield from _text_leaves(value, node, k)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _text_leaves(value, node, i)
    elif isinstance(node, str):
        yield parent, key, node


def encode(record: dict[str, Any]) -> bytes:
    """Canonical: sorted keys, no whitespace, the checkpoint's own rule; hashed as written."""
    return canonical(record)
