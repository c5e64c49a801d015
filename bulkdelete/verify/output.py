"""What a verify finds and leaves (docs/verify.md): the check and the "gone" shapes it
counts, ``verify.json``, the list of IDs still present (never rewritten: a list is fed to a
new delete), the summary line. ``--all`` keeps its findings durably as it goes."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bulkdelete.answer import Verdict, gone_shape, verdict
from bulkdelete.checkpoint import CheckpointStore, RunRecord
from bulkdelete.client import BoundClient, Result
from bulkdelete.durable import LineFiles, write_private_atomic
from bulkdelete.engine import Check, OperationFactory
from bulkdelete.errors import StorageError
from bulkdelete.logs import utc_timestamp
from bulkdelete.outputs import STILL_PRESENT_PREFIX as STILL_PRESENT_PREFIX
from bulkdelete.outputs import VERIFY_FOLDER, VERIFY_NAME
from bulkdelete.report import is_early, purge_dates
from bulkdelete.verify import paired
from bulkdelete.verify.stats import present_upper_95

PRESENT_NAME, UNKNOWN_NAME = "present.txt", "unknown.txt"  # --all's findings, in verify/


def new_list_name(folder: Path, *, every: bool = False, now: datetime | None = None) -> str:
    """``still_present-<UTC time>[-all][-N].txt``, a name no file in ``folder`` has."""
    stem = STILL_PRESENT_PREFIX + (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    stem += "-all" if every else ""
    names = (f"{stem}{f'-{n}' if n > 1 else ''}.txt" for n in itertools.count(1))
    return next(name for name in names if not (folder / name).exists())


class Findings(LineFiles):
    """``--all``'s failure sink: present and unknown IDs durably in ``folder`` as
    ``<batch>\\t<ID>`` lines. The lists are fsync'd per batch but the journal about once a
    second, so after a power loss they keep only the batches the progress ``recorded``, and
    the present count equals the list's lines."""

    def __init__(self, folder: Path, *, truncate: bool = False,
                 recorded: Callable[[int], bool] | None = None) -> None:
        self._batches: dict[str, list[int]] = {}  # ID -> batches that found it, oldest first
        if recorded is not None and not truncate:
            for name in (PRESENT_NAME, UNKNOWN_NAME):
                _keep_recorded(folder / name, recorded)
        try:
            super().__init__((folder / PRESENT_NAME, folder / UNKNOWN_NAME), truncate=truncate)
        except OSError as exc:
            raise StorageError(f"cannot open {exc.filename}: {exc.strerror or exc}") from None

    def note(self, seq: int, ids: Iterable[str]) -> None:
        """Batch ``seq`` found ``ids`` not gone: their lines, added next, name it."""
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
        present = [self._line(i) for i, reason, _ in failures if reason == Verdict.PRESENT.value]
        unknown = [self._line(i) for i, reason, _ in failures if reason != Verdict.PRESENT.value]
        await asyncio.to_thread(self._write, present, unknown)

    def _write(self, present: list[str], unknown: list[str]) -> None:
        try:
            self.write(["".join(f"{line}\n" for line in ids).encode()
                        for ids in (present, unknown)])
        except OSError as exc:
            raise StorageError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None

    def present_ids(self) -> list[str]:
        """Every present ID once (a batch re-checked after a kill may list one twice)."""
        with self.paths[0].open(encoding="utf-8") as lines:
            return list(dict.fromkeys(line.rstrip("\n").rpartition("\t")[2]
                                      for line in lines if line.strip()))


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


def percent(share: float) -> str:
    """A share as a percentage with two significant digits, and never fewer than two
    decimals: 0.003 → "0.30", 0.000015 → "0.0015" (never a misleading "0.00")."""
    value = share * 100
    if value == 0:
        return "0"
    return f"{value:.{max(2, 1 - math.floor(math.log10(value)))}f}"


def summarize(population: int, gone: int, present: int, unknown: int, *, sample: int | None,
              seed: int | None, runs: Sequence[RunRecord], now: datetime | None = None,
              names: tuple[str | None, str | None] = (None, None)) -> dict[str, Any]:
    """verify.json's object, ``population`` the job's deleted IDs; the requester and ticket
    are this verify's (``names``) when given, else the job's last named ones."""
    checked = gone + present + unknown
    now = now or datetime.now(UTC)
    dates = purge_dates(runs)
    due = dates["purge_due_by"]
    named = next(((r.requester, r.ticket) for r in reversed(runs) if r.requester or r.ticket),
                 (None, None))
    requester, ticket = names[0] or named[0], names[1] or named[1]
    return {
        "population": population,
        "checked": checked,
        "gone": gone,
        "present": present,
        "unknown": unknown,
        "sample": "all" if sample is None else sample,
        "seed": seed,
        "present_upper_95": present_upper_95(present, checked),
        "present_share": present / checked if checked else None,  # exact with --all
        **dates,
        "early": is_early(due, now) if due else False,
        "requester": requester,
        "ticket": ticket,
        "verified_at": utc_timestamp(now),
    }


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


def all_under_way(folder: Path) -> list[str]:
    """For ``status``: an ``--all`` begun in the job's checkpoint ``folder`` and not
    finished, how far it got and how to go on; nothing when there is none."""
    store = CheckpointStore(folder / VERIFY_FOLDER)
    if not store.exists():
        return []
    state = store.load()
    if state.complete:
        return []
    p = state.progress
    lines = [f"verify --all: stopped after checking {p.ids_done:,} of "
             f"{state.totals.ids_total:,} deleted IDs ({p.ids_deleted:,} gone so far); "
             "it continues where it stopped"]
    if state.resume_command:
        lines += ["continue it with:", f"  {state.resume_command}"]
    return lines


def summary_lines(summary: dict[str, Any]) -> list[str]:
    checked, present = summary["checked"], summary["present"]
    if summary["sample"] == "all":
        # Every deleted ID was checked: the share is exact, a bound would only blur it.
        share = percent(present / checked if checked else 0.0)
        what = f"{share} % of them present" + (
            f" (and {summary['unknown']:,} unknown)" if summary["unknown"] else " (exact)")
    else:
        what = (f"at most {percent(summary['present_upper_95'])} % remain "
                "(95 % confidence)")
    lines = [f"{checked:,} of {summary['population']:,} deleted IDs checked: "
             f"{summary['gone']:,} gone, {present:,} present, "
             f"{summary['unknown']:,} unknown — {what}", *paired.lines(summary)]
    if summary["early"]:
        lines.append(
            f"early: the last delete run ended {summary['requested_at']}, and CleverTap "
            f"purges within 48 h, so present profiles may still be waiting for the nightly "
            f"purge until {summary['purge_due_by']}; verify again after that")
    return lines


# A server that words each answer its own way (a request number, an ID in a form the mask
# does not know) would otherwise make one shape per lookup: a listing as long as the
# verify, in memory and in every checkpoint. Past this many, shapes are counted together.
MAX_SHAPES = 20
OTHER_SHAPES = {"http": 200, "other": f"answers past the first {MAX_SHAPES} distinct "
                                      "shapes, counted together; their texts not kept"}


class GoneShapes:
    """The shapes the "gone" answers rested on, counted for verify.json; seeded with an
    earlier run's listing when a verify resumes."""

    def __init__(self, earlier: Iterable[dict[str, Any]] = ()) -> None:
        self._counts: Counter[str] = Counter()
        for entry in earlier:
            if isinstance(entry, dict):
                count = entry.get("count", 0)
                self.add({k: v for k, v in entry.items() if k != "count"},
                         count if isinstance(count, int) else 0)

    def add(self, shape: dict[str, Any], count: int) -> None:
        key = _key(shape)
        if key not in self._counts and len(self._counts) >= MAX_SHAPES:
            key = _key(OTHER_SHAPES)
        self._counts[key] += count

    def listing(self) -> list[dict[str, Any]]:
        return [{**json.loads(key), "count": count}
                for key, count in self._counts.most_common()]


def _key(shape: dict[str, Any]) -> str:
    return json.dumps(shape, sort_keys=True, ensure_ascii=False)


def check_operation(client: BoundClient, *, shapes: GoneShapes,
                    findings: Findings | None = None) -> OperationFactory:
    """A verify's check (the engine's :class:`Check`), its "gone" answers' shapes counted;
    with ``findings``, each batch tells them which batch found its IDs not gone."""

    async def lookup(ident: str) -> Result:
        result = await client.profile(ident)
        if verdict(result) is Verdict.GONE:
            shapes.add(gone_shape(result), 1)
        return result

    return partial(Check, lookup, note=None if findings is None else findings.note)
