"""The job's state in memory and its JSON form (``state.json``); no file, no ID."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

from bulkdelete.engine.stats import Traffic as Traffic  # importable from here too
from bulkdelete.errors import CheckpointMismatch
from bulkdelete.reader.rule import READER_RULES

FORMAT_VERSION = 1
MAX_REASONS = 50  # distinct failure reasons kept with counts; the rest fold into "other"
SNAPSHOT_FORMAT = "bulkdelete-state"


def _bound(label: str, **default: Any) -> Any:  # how a mismatch names the setting
    return field(metadata={"label": label}, **default)


@dataclass(frozen=True, slots=True)
class Binding:
    """What a checkpoint belongs to; a mismatch is refused, never guessed at."""

    fingerprint: str = _bound("input content (file changed or another file)")
    format: str = _bound("--format")
    column: str | None = _bound("--column")
    batch_size: int = _bound("--batch-size")
    id_type: str = _bound("--id-type")
    account_id: str = _bound("--account-id")
    host: str = _bound("target host (--region/--base-url)")
    delimiter: str | None = _bound("CSV delimiter", default=None)  # CSV only
    # Decodes every ID: another would send other IDs (a checkpoint without it read UTF-8).
    encoding: str = _bound("--encoding", default="utf-8")
    # They shape the batches as the settings do.
    rules: int = _bound("the reader's ID rules (the job was started by another version "
                        "of bulkdelete)", default=READER_RULES)

    def differences(self, other: Binding) -> list[str]:
        pairs = [(f, getattr(self, f.name), getattr(other, f.name)) for f in fields(self)]
        return [f.metadata["label"] if f.name == "fingerprint"
                else f"{f.metadata['label']}: checkpoint has {old!r}, this run has {new!r}"
                for f, old, new in pairs if old != new]


@dataclass(slots=True)
class Totals:  # the input's pre-count, done once per job
    ids_total: int
    lines_invalid: int
    batches_total: int
    invalid_samples: list[tuple[int, str]] = field(default_factory=list)
    # Occurrences of an ID beyond its first anywhere in the input (docs/report.md).
    ids_duplicate: int = 0
    # Blank lines, CSV cells and JSON values: nothing to delete, and nothing wrong to list.
    lines_blank: int = 0
    # Of the input's bytes as read (a .gz decompressed), in the same pass (docs/report.md).
    input_sha256: str | None = None


@dataclass(slots=True)
class RunRecord:
    """One invocation; ``exit_code`` is None while it runs, or if it was killed."""

    run_id: str
    started: str
    ended: str | None = None
    elapsed_s: float = 0.0
    exit_code: int | None = None
    resumed: bool = False
    resent_after_crash: int = 0
    resent_after_stop: int = 0
    traffic: Traffic = field(default_factory=Traffic)
    requester: str | None = None
    ticket: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Flat. The traffic may be the engine's stats, a subclass: only Traffic's fields."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "traffic"}
        return own | {f.name: getattr(self.traffic, f.name) for f in fields(Traffic)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        own = dict(data)
        traffic = Traffic(**{f.name: own.pop(f.name) for f in fields(Traffic)})
        return cls(**own, traffic=traffic)


class DoneBatch(NamedTuple):
    offset: int
    line: int
    deleted: int
    failed: int


@dataclass(slots=True)
class Progress:
    """Batches finish out of order: a low watermark (every batch below it done) plus the
    few done above it; ``anchor`` is where a resume seeks."""

    watermark: int = 0
    anchor: tuple[int, int, int] = (0, 0, 1)  # (seq, byte offset, line) to resume from
    done_above: dict[int, DoneBatch] = field(default_factory=dict)
    sent_above: set[int] = field(default_factory=set)
    # seq → how many IDs at the head of a batch not yet done are done: a --limit ended the
    # run inside it (a canary never deletes more than asked). At most one in practice.
    head_done: dict[int, int] = field(default_factory=dict)
    ids_deleted: int = 0
    ids_failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    # seq → [sends by killed runs, by stopped runs] never recorded done. Its IDs count as
    # re-sent once per earlier send when it is done, so the counts survive repeated kills.
    left: dict[int, list[int]] = field(default_factory=dict)
    resent_after_crash: int = 0
    resent_after_stop: int = 0
    # The two counts when this run began (not saved).
    _resent_before_run: tuple[int, int] = field(default=(0, 0), init=False, compare=False,
                                                repr=False)

    @property
    def ids_done(self) -> int:
        """IDs whose batch is recorded done: deleted or failed."""
        return self.ids_deleted + self.ids_failed

    def is_done(self, seq: int) -> bool:
        return seq < self.watermark or seq in self.done_above

    def carry_over(self, *, killed: bool) -> None:
        """At a resume: what the last run sent unrecorded will be re-sent (killed or not)."""
        for seq in self.sent_above:
            self.left.setdefault(seq, [0, 0])[0 if killed else 1] += 1
        self.sent_above.clear()
        self._resent_before_run = (self.resent_after_crash, self.resent_after_stop)

    def resent_this_run(self) -> tuple[int, int]:
        crash, stop = self._resent_before_run
        return self.resent_after_crash - crash, self.resent_after_stop - stop


@dataclass(slots=True)
class State:
    binding: Binding
    totals: Totals
    progress: Progress = field(default_factory=Progress)
    runs: list[RunRecord] = field(default_factory=list)
    input: str = ""
    resume_command: str = ""
    updated: str = ""
    # The failed file, so the job's failed IDs stay in one file: relative to the checkpoint
    # folder when inside it (the folder can then be moved or copied whole), else absolute.
    failed: str = ""
    # Failed IDs counted before a failed file was bound: they may be listed in another
    # file, so the bound one need not list them.
    failed_elsewhere: int = 0
    # The last verify's counts (docs/verify.md): what the report shows after a verify.
    verify: dict[str, Any] | None = None
    # The baseline's summary, no ID (its IDs are in baseline.json): for the report.
    baseline: dict[str, Any] | None = None

    @property
    def complete(self) -> bool:
        return self.progress.watermark >= self.totals.batches_total

    def bind_failed_file(self, given: Path, checkpoint: Path) -> None:
        """Another ``--failed`` on resume would split the job's failed IDs over two files,
        so it is refused; a state with none bound takes the path it runs with."""
        path, home = given.resolve(), checkpoint.resolve()
        key = str(path.relative_to(home)) if path.is_relative_to(home) else str(path)
        if self.failed and self.failed != key:
            old = home / self.failed  # an absolute path stays itself
            raise CheckpointMismatch(
                f"this job's failed IDs are in {old}, but this run has --failed {given}; "
                f"nothing was sent. Resume with --failed {old}, or start the job over with "
                "--restart"
            )
        if not self.failed:
            self.failed_elsewhere = self.progress.ids_failed
        self.failed = key

    @property
    def failed_listed(self) -> int:
        """At least this many (each line is fsync'd before its batch is recorded)."""
        return self.progress.ids_failed - self.failed_elsewhere

    def to_json(self, journal_gen: int) -> dict[str, Any]:
        # Dumped with sorted keys (encode), tuples as lists: only what JSON cannot
        # take as it is is converted (a set; int keys, which would sort as numbers).
        p = self.progress
        progress = {f.name: getattr(p, f.name) for f in fields(p) if f.init} | {
            "done_above": {str(seq): d for seq, d in p.done_above.items()},
            "sent_above": sorted(p.sent_above),
            "left": {str(seq): counts for seq, counts in p.left.items()},
            "head_done": {str(seq): head for seq, head in p.head_done.items()},
        }
        out = {f.name: getattr(self, f.name) for f in fields(self)} | {
            "version": FORMAT_VERSION, "journal": journal_gen, "binding": asdict(self.binding),
            "totals": asdict(self.totals), "progress": progress,
            "runs": [r.to_json() for r in self.runs],
        }
        unset = {"failed_elsewhere": not self.failed_elsewhere, "verify": self.verify is None,
                 "baseline": self.baseline is None}
        return {key: value for key, value in out.items() if not unset.get(key)}  # absent unless set

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> tuple[State, int]:  # and the journal's gen
        data = dict(data)
        version = data.pop("version", None)
        if version != FORMAT_VERSION:
            raise ValueError(f"unknown checkpoint version {version!r}")
        gen, t, pr = data.pop("journal"), data.pop("totals"), data.pop("progress")
        progress = Progress(**{
            **pr,
            "anchor": tuple(pr["anchor"]),
            "done_above": {int(k): DoneBatch(*v) for k, v in pr["done_above"].items()},
            "sent_above": set(pr["sent_above"]),
            "reasons": Counter(pr["reasons"]),
            "left": {int(k): v for k, v in pr["left"].items()},
            "head_done": {int(k): v for k, v in pr.get("head_done", {}).items()},
        })
        totals = Totals(**{**t, "invalid_samples": [tuple(s) for s in t["invalid_samples"]]})
        return cls(binding=Binding(**data.pop("binding")), totals=totals, progress=progress,
                   runs=[RunRecord.from_json(r) for r in data.pop("runs")], **data), int(gen)


def canonical(state: dict[str, Any]) -> bytes:
    """What the checksum covers: the same for the same state, however it is laid out."""
    return json.dumps(state, separators=(",", ":"), sort_keys=True).encode()


def encode(state: dict[str, Any]) -> bytes:
    body = canonical(state)
    return b'{"crc32":"%08x","format":"%s","state":%s}\n' % (
        zlib.crc32(body), SNAPSHOT_FORMAT.encode(), body)


def decode(raw: bytes) -> dict[str, Any] | None:
    """The state in ``raw``, or None unless it is whole and its checksum matches."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    state = data.get("state") if isinstance(data, dict) else None
    if (not isinstance(state, dict) or data.get("format") != SNAPSHOT_FORMAT
            or data.get("crc32") != f"{zlib.crc32(canonical(state)):08x}"):
        return None
    return state

