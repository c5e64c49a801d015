"""The job's state in memory: what a checkpoint holds, and how progress is tracked.

Completion is out of order, so progress is a **low watermark plus the completed batches
above it** (DSBulk's ranges of completed positions, reduced to one resource): every batch
below ``watermark`` is done; ``done_above`` holds the few done beyond it. ``anchor`` is the
byte offset and line of a batch at or just below the watermark, where a resume seeks.
:mod:`bulkdelete.checkpoint.store` keeps this durably; nothing here touches a file.

Nothing here ever holds an ID (they are personal data): only counts, offsets, line
numbers and ID-free reasons.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bulkdelete.engine.stats import Traffic as Traffic  # re-exported by the package
from bulkdelete.errors import CheckpointMismatch
from bulkdelete.reader.rule import READER_RULES

FORMAT_VERSION = 1
MAX_REASONS = 50  # distinct failure reasons kept with counts; the rest fold into "other"


@dataclass(frozen=True, slots=True)
class Binding:
    """What a checkpoint belongs to: input, batch shape and target. A mismatch is refused,
    never guessed at."""

    fingerprint: str
    format: str
    column: str | None
    batch_size: int
    id_type: str
    account_id: str
    host: str
    # The CSV delimiter read (None for other formats). Checkpoints written before it was
    # bound read CSV as comma-separated, and say so when loaded (see State.from_json).
    delimiter: str | None = None
    # The reader's rules it was read by (reader.rule.READER_RULES): they shape the batches
    # as the settings do. A checkpoint written before they were bound loads as 1.
    rules: int = READER_RULES

    def differences(self, other: Binding) -> list[str]:
        """Human-readable list of what differs between the stored (self) and this run."""
        labels = {
            "fingerprint": "input content (file changed or another file)",
            "format": "--format",
            "column": "--column",
            "batch_size": "--batch-size",
            "id_type": "--id-type",
            "account_id": "--account-id",
            "host": "target host (--region/--base-url)",
            "delimiter": "CSV delimiter",
            "rules": "the reader's ID rules (the job was started by another version of "
                     "bulkdelete)",
        }
        out = []
        for name, label in labels.items():
            old, new = getattr(self, name), getattr(other, name)
            if old != new:
                if name == "fingerprint":
                    out.append(label)
                else:
                    out.append(f"{label}: checkpoint has {old!r}, this run has {new!r}")
        return out


@dataclass(slots=True)
class Totals:
    """The input's pre-count, done once per job and kept here for the report."""

    ids_total: int
    lines_invalid: int
    batches_total: int
    invalid_samples: list[tuple[int, str]] = field(default_factory=list)
    # Occurrences of an ID beyond its first anywhere in the input: each costs a request.
    ids_duplicate: int = 0


_TRAFFIC_FIELDS = ("requests", "retries", "throttled", "ids_deleted", "ids_failed")


@dataclass(slots=True)
class RunRecord:
    """One invocation's traffic and outcome; ``exit_code`` is None while it runs (or if it
    was killed)."""

    run_id: str
    started: str
    ended: str | None = None
    elapsed_s: float = 0.0
    exit_code: int | None = None
    resumed: bool = False
    resent_after_crash: int = 0
    resent_after_stop: int = 0
    traffic: Traffic = field(default_factory=Traffic)
    # The audit trail (docs/report.md): who asked for this run, under which reference.
    requester: str | None = None
    ticket: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Flat, as state.json has always kept a run (docs/checkpoint.md)."""
        t = self.traffic
        return {
            "run_id": self.run_id, "started": self.started, "ended": self.ended,
            "elapsed_s": self.elapsed_s, "exit_code": self.exit_code, "resumed": self.resumed,
            "requests": t.requests, "retries": t.retries, "throttled": t.throttled,
            "resent_after_crash": self.resent_after_crash,
            "resent_after_stop": self.resent_after_stop,
            "ids_deleted": t.ids_deleted, "ids_failed": t.ids_failed,
            "requester": self.requester, "ticket": self.ticket,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        fields = dict(data)
        traffic = Traffic(**{name: int(fields.pop(name, 0)) for name in _TRAFFIC_FIELDS})
        return cls(**fields, traffic=traffic)


@dataclass(slots=True)
class DoneBatch:
    offset: int
    line: int
    deleted: int
    failed: int


@dataclass(slots=True)
class Progress:
    """The in-memory tracker: low watermark + completed set above it."""

    watermark: int = 0
    anchor: tuple[int, int, int] = (0, 0, 1)  # (seq, byte offset, line) to resume from
    done_above: dict[int, DoneBatch] = field(default_factory=dict)
    sent_above: set[int] = field(default_factory=set)
    ids_deleted: int = 0
    ids_failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    # Batches earlier runs sent without recording them done: seq → [sent by runs that were
    # killed, sent by runs that stopped gracefully]. A batch's IDs are counted as re-sent
    # when it is recorded done, once per earlier send, so the counts live in the journal
    # and stay right however many runs in a row are killed.
    left: dict[int, list[int]] = field(default_factory=dict)
    resent_after_crash: int = 0
    resent_after_stop: int = 0
    # The two counts when this run began; not saved, only this run's share is.
    _resent_before_run: tuple[int, int] = field(default=(0, 0), compare=False, repr=False)

    def is_done(self, seq: int) -> bool:
        return seq < self.watermark or seq in self.done_above

    def mark_sent(self, seq: int) -> bool:
        if self.is_done(seq) or seq in self.sent_above:
            return False
        self.sent_above.add(seq)
        return True

    def mark_answered(self, seq: int) -> bool:
        """The batch's last request was answered without acknowledging any ID (a 429, a
        5xx, a 400, or it never reached the server): nothing of it is at the server, so a
        crash now leaves nothing for the rerun to send twice. True if it was marked sent."""
        if seq not in self.sent_above:
            return False
        self.sent_above.discard(seq)
        return True

    def mark_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None = None,
    ) -> bool:
        """Record a finished batch; False (and no change) if it was already recorded, which
        makes journal replay idempotent."""
        if self.is_done(seq):
            return False
        self.sent_above.discard(seq)
        if self.left and seq in self.left:
            by_crash, by_stop = self.left.pop(seq)
            self.resent_after_crash += by_crash * (deleted + failed)
            self.resent_after_stop += by_stop * (deleted + failed)
        self.ids_deleted += deleted
        self.ids_failed += failed
        if reasons:
            for reason, count in reasons.items():
                key = (reason if (reason in self.reasons or len(self.reasons) < MAX_REASONS)
                       else "other")
                self.reasons[key] += count
        if seq == self.watermark:  # in order, the usual case: no detour through done_above
            self.anchor = (seq, offset, line)
            self.watermark += 1
        else:
            self.done_above[seq] = DoneBatch(offset, line, deleted, failed)
        while self.watermark in self.done_above:
            done = self.done_above.pop(self.watermark)
            self.anchor = (self.watermark, done.offset, done.line)
            self.watermark += 1
        return True

    def carry_over(self, *, killed: bool) -> None:
        """At the start of a resumed run: what the previous run sent without recording it
        (``sent_above``) will be sent again, because that run was killed or because it
        stopped gracefully. Journalled afresh by this run as it re-sends them."""
        for seq in self.sent_above:
            self.left.setdefault(seq, [0, 0])[0 if killed else 1] += 1
        self.sent_above.clear()
        self._resent_before_run = (self.resent_after_crash, self.resent_after_stop)

    def resent_this_run(self) -> tuple[int, int]:
        """IDs re-sent after a crash and after a stop, counted since :meth:`carry_over`."""
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
    # Failed IDs counted before the path was bound (a checkpoint from before that rule):
    # they may be listed in another file, so the bound one need not list them.
    failed_elsewhere: int = 0
    # The last verify's counts (docs/verify.md): what the report shows after a verify.
    verify: dict[str, Any] | None = None

    @property
    def complete(self) -> bool:
        return self.progress.watermark >= self.totals.batches_total

    def bind_failed_file(self, given: Path, checkpoint: Path) -> None:
        """The failed file is bound to the job: another ``--failed`` on resume would split
        the job's failed IDs over two files, so it is refused. A new job, or a checkpoint
        from before this rule, takes the path it runs with."""
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
        """How many failed IDs the bound failed file lists at least (a crash can only
        add a line: each is fsync'd before its batch is recorded)."""
        return self.progress.ids_failed - self.failed_elsewhere

    def to_json(self, journal_gen: int) -> dict[str, Any]:
        p = self.progress
        return {
            "version": FORMAT_VERSION,
            "journal": journal_gen,
            "updated": self.updated,
            "binding": asdict(self.binding),
            "totals": {
                "ids_total": self.totals.ids_total,
                "lines_invalid": self.totals.lines_invalid,
                "batches_total": self.totals.batches_total,
                "invalid_samples": [list(s) for s in self.totals.invalid_samples],
                "ids_duplicate": self.totals.ids_duplicate,
            },
            "progress": {
                "watermark": p.watermark,
                "anchor": list(p.anchor),
                "done_above": {
                    str(seq): [d.offset, d.line, d.deleted, d.failed]
                    for seq, d in sorted(p.done_above.items())
                },
                "sent_above": sorted(p.sent_above),
                "ids_deleted": p.ids_deleted,
                "ids_failed": p.ids_failed,
                "reasons": dict(p.reasons),
                "left": {str(seq): counts for seq, counts in sorted(p.left.items())},
                "resent_after_crash": p.resent_after_crash,
                "resent_after_stop": p.resent_after_stop,
            },
            "runs": [r.to_json() for r in self.runs],
            "input": self.input,
            "resume_command": self.resume_command,
            "failed": self.failed,
            **({"failed_elsewhere": self.failed_elsewhere} if self.failed_elsewhere else {}),
            **({"verify": self.verify} if self.verify is not None else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> tuple[State, int]:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown checkpoint version {data.get('version')!r}")
        t = data["totals"]
        pr = data["progress"]
        progress = Progress(
            watermark=int(pr["watermark"]),
            anchor=(int(pr["anchor"][0]), int(pr["anchor"][1]), int(pr["anchor"][2])),
            done_above={
                int(k): DoneBatch(int(v[0]), int(v[1]), int(v[2]), int(v[3]))
                for k, v in pr["done_above"].items()
            },
            sent_above={int(s) for s in pr["sent_above"]},
            ids_deleted=int(pr["ids_deleted"]),
            ids_failed=int(pr["ids_failed"]),
            reasons=Counter({str(k): int(v) for k, v in pr["reasons"].items()}),
            # Absent from checkpoints written before re-sends were counted this way.
            left={int(k): [int(v[0]), int(v[1])] for k, v in pr.get("left", {}).items()},
            resent_after_crash=int(pr.get("resent_after_crash", 0)),
            resent_after_stop=int(pr.get("resent_after_stop", 0)),
        )
        state = cls(
            binding=_binding(data["binding"]),
            totals=Totals(
                ids_total=int(t["ids_total"]),
                lines_invalid=int(t["lines_invalid"]),
                batches_total=int(t["batches_total"]),
                invalid_samples=[(int(a), str(b)) for a, b in t["invalid_samples"]],
                ids_duplicate=int(t.get("ids_duplicate", 0)),
            ),
            progress=progress,
            runs=[RunRecord.from_json(r) for r in data["runs"]],
            input=str(data.get("input", "")),
            resume_command=str(data.get("resume_command", "")),
            updated=str(data.get("updated", "")),
            failed=str(data.get("failed", "")),
            failed_elsewhere=int(data.get("failed_elsewhere", 0)),
            verify=data.get("verify"),
        )
        return state, int(data["journal"])


def _binding(data: dict[str, Any]) -> Binding:
    """A stored binding; one written before the delimiter was bound read CSV with commas,
    and one written before the reader's rules were bound was read by the first ones."""
    if "delimiter" not in data and data.get("format") == "csv":
        data = {**data, "delimiter": ","}
    if "rules" not in data:
        data = {**data, "rules": 1}
    return Binding(**data)
