"""What a verify leaves (docs/verify.md): ``verify.json``, the list of IDs still present,
the summary line. A list is fed to a new delete, so it is never rewritten: each verify
writes its own. ``--all`` keeps its findings durably as it goes, as a delete keeps its
failed IDs, and writes the list whole from them once complete.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bulkdelete.answer import Verdict
from bulkdelete.checkpoint import RunRecord
from bulkdelete.durable import LineFiles, write_private_atomic
from bulkdelete.errors import StorageError
from bulkdelete.outputs import STILL_PRESENT_PREFIX as STILL_PRESENT_PREFIX
from bulkdelete.outputs import VERIFY_FOLDER as VERIFY_FOLDER
from bulkdelete.outputs import VERIFY_NAME as VERIFY_NAME
from bulkdelete.report import is_early, purge_dates
from bulkdelete.verify.bound import present_upper_95

PRESENT_NAME, UNKNOWN_NAME = "present.txt", "unknown.txt"  # --all's findings, in verify/


def new_list_name(folder: Path, *, every: bool = False, now: datetime | None = None) -> str:
    """``still_present-<UTC time>[-all][-N].txt``, a name no file in ``folder`` has."""
    stem = STILL_PRESENT_PREFIX + (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    stem += "-all" if every else ""
    n = 1
    while True:
        name = f"{stem}{f'-{n}' if n > 1 else ''}.txt"
        if not (folder / name).exists():
            return name
        n += 1


@dataclass(frozen=True, slots=True)
class Counts:
    population: int  # the job's deleted IDs
    gone: int
    present: int
    unknown: int

    @property
    def checked(self) -> int:
        return self.gone + self.present + self.unknown


class Findings:
    """A check's failure sink: present IDs in memory (a sample), or present and unknown
    durably in ``folder`` (``--all``) as ``<batch>\\t<ID>`` lines. The lists are fsync'd per
    batch but the journal about once a second, so after a power loss they keep only the
    batches the progress ``recorded``, and the present count equals the list's lines."""

    def __init__(self, folder: Path | None = None, *, truncate: bool = False,
                 recorded: Callable[[int], bool] | None = None) -> None:
        self.present: list[str] = []
        self._files: LineFiles | None = None
        self._batches: dict[str, list[int]] = {}  # ID -> batches that found it, oldest first
        if folder is not None:
            if recorded is not None and not truncate:
                for name in (PRESENT_NAME, UNKNOWN_NAME):
                    _keep_recorded(folder / name, recorded)
            try:
                self._files = LineFiles((folder / PRESENT_NAME, folder / UNKNOWN_NAME),
                                        truncate=truncate)
            except OSError as exc:
                raise StorageError(f"cannot open {exc.filename}: {exc.strerror or exc}"
                                   ) from None

    def note(self, seq: int, ids: Iterable[str]) -> None:
        """Batch ``seq`` found ``ids`` not gone: their lines, added next, name it."""
        if self._files is not None:
            for ident in ids:
                self._batches.setdefault(ident, []).append(seq)

    def _line(self, ident: str) -> str:
        seqs = self._batches.get(ident)
        if not seqs:
            return ident
        seq = seqs.pop(0)
        if not seqs:
            del self._batches[ident]
        return f"{seq}\t{ident}"

    async def add(self, failures: Sequence[tuple[str, str, str]]) -> None:
        present = [ident for ident, reason, _ in failures if reason == Verdict.PRESENT.value]
        unknown = [ident for ident, reason, _ in failures if reason != Verdict.PRESENT.value]
        if self._files is not None:
            await asyncio.to_thread(self._write, [self._line(i) for i in present],
                                    [self._line(i) for i in unknown])
        else:
            self.present += present

    def _write(self, present: list[str], unknown: list[str]) -> None:
        assert self._files is not None
        try:
            self._files.write(["".join(f"{line}\n" for line in ids).encode()
                               for ids in (present, unknown)])
        except OSError as exc:
            raise StorageError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None

    def present_ids(self) -> list[str]:
        """Every present ID once (a batch re-checked after a kill may list one twice)."""
        if self._files is None:
            return list(dict.fromkeys(self.present))
        with self._files.paths[0].open(encoding="utf-8") as lines:
            return list(dict.fromkeys(line.rstrip("\n").rpartition("\t")[2]
                                      for line in lines if line.strip()))

    def close(self) -> None:
        if self._files is not None:
            self._files.close()


def _keep_recorded(path: Path, recorded: Callable[[int], bool]) -> None:
    """Drop the lines of batches the progress does not record, and a torn last line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    lines = data.split(b"\n")[:-1]  # the part after the last newline is torn
    kept = [line for line in lines if _recorded_line(line, recorded)]
    if len(kept) != len(lines) or (not data.endswith(b"\n") and data):
        try:
            write_private_atomic(path, b"".join(line + b"\n" for line in kept))
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _recorded_line(line: bytes, recorded: Callable[[int], bool]) -> bool:
    seq, tab, _ = line.partition(b"\t")
    return not tab or not seq.isdigit() or recorded(int(seq))


def summarize(counts: Counts, *, sample: int | None, seed: int | None,
              runs: Sequence[RunRecord], now: datetime | None = None,
              names: tuple[str | None, str | None] = (None, None)) -> dict[str, Any]:
    """verify.json's object; the requester and ticket are this verify's (``names``) when
    given, else the job's."""
    now = now or datetime.now(UTC)
    dates = purge_dates(runs)
    due = dates["purge_due_by"]
    job_requester, job_ticket = _audit_names(runs)
    requester, ticket = names[0] or job_requester, names[1] or job_ticket
    return {
        "population": counts.population,
        "checked": counts.checked,
        "gone": counts.gone,
        "present": counts.present,
        "unknown": counts.unknown,
        "sample": "all" if sample is None else sample,
        "seed": seed,
        "present_upper_95": present_upper_95(counts.present, counts.checked),
        **dates,
        "early": is_early(due, now) if due else False,
        "requester": requester,
        "ticket": ticket,
        "verified_at": now.isoformat(timespec="seconds"),
    }


def _audit_names(runs: Sequence[RunRecord]) -> tuple[str | None, str | None]:
    for run in reversed(runs):
        if run.requester or run.ticket:
            return run.requester, run.ticket
    return None, None


def write_outputs(folder: Path, summary: dict[str, Any], present: Iterable[str],
                  name: str) -> Path | None:
    """The list as ``name`` when any ID is present, then verify.json naming it; each
    owner-only and installed whole."""
    data = "".join(f"{ident}\n" for ident in present).encode()
    still = folder / name if data else None
    if still is not None:
        write_private_atomic(still, data)
    summary["still_present"] = name if still is not None else None
    write_private_atomic(folder / VERIFY_NAME,
                         (json.dumps(summary, indent=2) + "\n").encode())
    return still


def summary_lines(summary: dict[str, Any]) -> list[str]:
    share = summary["present_upper_95"] * 100
    lines = [
        f"{summary['checked']:,} of {summary['population']:,} deleted IDs checked: "
        f"{summary['gone']:,} gone, {summary['present']:,} present, "
        f"{summary['unknown']:,} unknown — at most {share:.2f} % remain (95 % confidence)"
    ]
    if summary["early"]:
        lines.append(
            f"early: the last delete run ended {summary['requested_at']}, and CleverTap "
            f"purges within 48 h, so present profiles may still be waiting for the nightly "
            f"purge until {summary['purge_due_by']}; verify again after that"
        )
    return lines
