"""Durable progress: what is done, so a rerun resumes exactly where this one stopped.

Completion is out of order, so progress is a **low watermark plus the completed batches
above it** (DSBulk's ranges of completed positions, reduced to one resource): every batch
below ``watermark`` is done; ``done_above`` holds the few done beyond it. The pipeline may
run at most ``lookahead`` batches past the watermark, so that set — and this file — stay
small however long the job (spec §4.4). ``anchor`` is the byte offset and line of a batch at
or just below the watermark: a resume seeks there and never re-reads what is behind it.

On disk, in the checkpoint directory (every file 0600, the directory 0700):

``state.json``
    A snapshot, replaced atomically (temp file, fsync, rename, fsync of the directory)
    about once a second. Two lines: the JSON, then its CRC-32, so a damaged file is
    detected rather than trusted.
``journal.<gen>``
    Append-only records since that snapshot — "batch sent", "batch done" — one
    ``write(2)`` each, never fsync'd: a killed process loses nothing the kernel already
    has, and a power loss loses at most the second since the last snapshot (spec §4.2).
    Replay is idempotent, so a journal that outlived its snapshot is harmless.
``lock``
    ``flock``'d for the length of a run: a second run on the same job is refused.

Nothing here ever holds an ID (they are personal data): only counts, offsets, line
numbers and ID-free reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import threading
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bulkdelete.errors import CheckpointError, CheckpointLocked, CheckpointMismatch

FORMAT_VERSION = 1
STATE_NAME = "state.json"
LOCK_NAME = "lock"
_JOURNAL_RE = re.compile(r"^journal\.(\d+)$")
MAX_REASONS = 50  # distinct failure reasons kept with counts; the rest fold into "other"

RESTART_HINT = (
    "Start the job over with --restart (it re-sends everything; deleting twice is harmless)."
)


@dataclass(frozen=True, slots=True)
class Binding:
    """What a checkpoint belongs to (spec §3): a mismatch is refused, never guessed at."""

    fingerprint: str
    format: str
    column: str | None
    batch_size: int
    id_type: str
    account_id: str
    host: str

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
    """The input's pre-count, done once per job and kept here (spec §5)."""

    ids_total: int
    lines_invalid: int
    batches_total: int
    invalid_samples: list[tuple[int, str]] = field(default_factory=list)


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
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    resent_after_crash: int = 0
    ids_deleted: int = 0
    ids_failed: int = 0


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

    def is_done(self, seq: int) -> bool:
        return seq < self.watermark or seq in self.done_above

    def mark_sent(self, seq: int) -> bool:
        if self.is_done(seq) or seq in self.sent_above:
            return False
        self.sent_above.add(seq)
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


@dataclass(slots=True)
class State:
    binding: Binding
    totals: Totals
    progress: Progress = field(default_factory=Progress)
    runs: list[RunRecord] = field(default_factory=list)
    input: str = ""
    resume_command: str = ""
    updated: str = ""

    @property
    def complete(self) -> bool:
        return self.progress.watermark >= self.totals.batches_total

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
            },
            "runs": [asdict(r) for r in self.runs],
            "input": self.input,
            "resume_command": self.resume_command,
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
        )
        state = cls(
            binding=Binding(**data["binding"]),
            totals=Totals(
                ids_total=int(t["ids_total"]),
                lines_invalid=int(t["lines_invalid"]),
                batches_total=int(t["batches_total"]),
                invalid_samples=[(int(a), str(b)) for a, b in t["invalid_samples"]],
            ),
            progress=progress,
            runs=[RunRecord(**r) for r in data["runs"]],
            input=str(data.get("input", "")),
            resume_command=str(data.get("resume_command", "")),
            updated=str(data.get("updated", "")),
        )
        return state, int(data["journal"])


def _frame(obj: dict[str, Any]) -> bytes:
    """One journal record: compact JSON, a tab, its CRC-32, a newline."""
    return _seal(json.dumps(obj, separators=(",", ":")).encode())


def _seal(text: bytes) -> bytes:
    return b"%s\t%08x\n" % (text, zlib.crc32(text))


def _unframe(line: bytes) -> dict[str, Any] | None:
    text, sep, crc = line.rstrip(b"\n").rpartition(b"\t")
    if not sep or f"{zlib.crc32(text):08x}".encode() != crc:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def open_private(path: Path, flags: int) -> int:
    """os.open with owner-only permissions, also tightening a file that already exists."""
    fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)
    return fd


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private_atomic(path: Path, data: bytes, *, tag: str = "") -> None:
    """Replace ``path`` atomically and durably: temp file, fsync, rename, fsync dir.
    ``tag`` makes the temp name unique when two writers could overlap."""
    tmp = path.with_name(f"{path.name}{tag}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


class CheckpointStore:
    """The checkpoint directory: lock, snapshot and journal files.

    Synchronous by design. Journal records appended from inside an event loop are
    gathered and written with one ``write(2)`` per loop turn (:meth:`flush`, scheduled with
    ``call_soon``): at zero latency a turn completes several batches, and one syscall per
    record was a tenth of the send loop's time. A ``kill -9`` can therefore lose the
    records of the turn it lands in; those batches completed in that turn, so there are at
    most as many as were in flight, which is the re-send allowance of spec §4.2. Outside a
    loop (replay, tests) a record is written at once. The periodic :meth:`snapshot` is the
    only slow call (two fsyncs); the pipeline runs it in a worker thread after
    :meth:`prepare_snapshot` has captured the state in the event loop.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock_fd: int | None = None
        self._journal_fd: int | None = None
        self._pending: list[bytes] = []  # records of this loop turn, not yet written
        self._write_error: OSError | None = None  # a turn's flush failed
        self._gen = 0
        self._installed = 0  # newest snapshot generation on disk
        self._install_lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------

    def lock(self) -> None:
        """Create the directory (0700) and take the run lock, or refuse (exit 2)."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(
                f"cannot create checkpoint directory {self.directory}: {exc.strerror}"
            ) from None
        if not self.directory.is_dir():
            raise CheckpointError(f"checkpoint path {self.directory} is not a directory")
        fd = open_private(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise CheckpointLocked(
                f"checkpoint {self.directory} is locked by another run (pid {holder}); "
                "wait for it to finish or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def close(self) -> None:
        """Write what is pending, close the journal and release the lock; a failed write
        is raised, after both are closed."""
        try:
            if self._journal_fd is not None:
                try:
                    self.flush()
                finally:
                    os.close(self._journal_fd)
                    self._journal_fd = None
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None

    def is_locked_elsewhere(self) -> bool:
        """For ``status``: is a run holding this checkpoint right now?"""
        path = self.directory / LOCK_NAME
        if not path.exists():
            return False
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def exists(self) -> bool:
        return (self.directory / STATE_NAME).exists()

    def discard(self) -> None:
        """``--restart``: forget the job's progress (the lock stays held)."""
        for path in self.directory.iterdir():
            if path.name == STATE_NAME or path.name.endswith(".tmp") or _JOURNAL_RE.match(
                path.name
            ):
                path.unlink()

    # -- reading ------------------------------------------------------------------------

    def load(self) -> State:
        """Snapshot plus every newer journal, replayed. A torn final record (a crash mid
        write, or a power loss) is dropped; damage anywhere else is refused (exit 2)."""
        path = self.directory / STATE_NAME
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror}") from None
        body, _, crc = raw.rstrip(b"\n").rpartition(b"\n")
        if not body or f"{zlib.crc32(body):08x}".encode() != crc.strip():
            raise CheckpointError(
                f"checkpoint {path} is damaged (checksum mismatch). {RESTART_HINT}"
            )
        try:
            state, gen = State.from_json(json.loads(body))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(f"checkpoint {path} is unreadable ({exc}). {RESTART_HINT}") \
                from None
        for jgen, jpath in self._journals():
            if jgen >= gen:
                self._replay(state, jpath)
        self._installed = gen
        self._gen = max([gen, *(g for g, _ in self._journals())])
        return state

    def _journals(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.iterdir():
            m = _JOURNAL_RE.match(path.name)
            if m:
                found.append((int(m.group(1)), path))
        return sorted(found)

    def _replay(self, state: State, path: Path) -> None:
        lines = path.read_bytes().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for index, line in enumerate(lines):
            record = _unframe(line + b"\n")
            if record is None:
                rest_ok = any(_unframe(later + b"\n") for later in lines[index + 1 :])
                if rest_ok:
                    raise CheckpointError(
                        f"checkpoint journal {path} is damaged at record {index + 1}. "
                        + RESTART_HINT
                    )
                return  # torn tail: the write a crash interrupted; that batch is re-sent
            try:
                self._apply(state.progress, record)
            except (KeyError, TypeError, ValueError):
                raise CheckpointError(
                    f"checkpoint journal {path} has an unknown record at {index + 1}. "
                    + RESTART_HINT
                ) from None

    @staticmethod
    def _apply(progress: Progress, record: dict[str, Any]) -> None:
        kind = record["k"]
        if kind == "s":
            progress.mark_sent(int(record["s"]))
        elif kind == "d":
            progress.mark_done(
                int(record["s"]), int(record["o"]), int(record["l"]),
                int(record["n"]), int(record["f"]), record.get("r"),
            )
        else:
            raise ValueError(kind)

    # -- writing ------------------------------------------------------------------------

    def create(self, state: State) -> None:
        """A new job: first snapshot, fresh journal."""
        self._gen = self._installed = 1
        write_private_atomic(self.directory / STATE_NAME, self._encode(state, self._gen))
        self._open_journal()

    def resume(self) -> None:
        """Continue an existing job: appends go to a journal newer than any on disk."""
        self._gen += 1
        self._open_journal()

    def _open_journal(self) -> None:
        if self._journal_fd is not None:
            self.flush()  # what is pending belongs to the journal being closed
            os.close(self._journal_fd)
        path = self.directory / f"journal.{self._gen}"
        self._journal_fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    # The two hot records are formatted directly (the same compact JSON json.dumps would
    # give): they are written for every batch, thousands a second at zero latency.

    def append_sent(self, seq: int) -> None:
        self._write(_seal(b'{"k":"s","s":%d}' % seq))

    def append_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None:
        if reasons:
            self._append({"k": "d", "s": seq, "o": offset, "l": line, "n": deleted,
                          "f": failed, "r": reasons})
        else:
            self._write(_seal(b'{"k":"d","s":%d,"o":%d,"l":%d,"n":%d,"f":%d}'
                              % (seq, offset, line, deleted, failed)))

    def _append(self, record: dict[str, Any]) -> None:
        self._write(_frame(record))

    def _write(self, framed: bytes) -> None:
        assert self._journal_fd is not None, "journal not open"
        if self._write_error is not None:
            # The turn's flush failed (a full disk, EIO): raise in the batch's task, where
            # the run stops and the CLI says so in one line, as a failed write always did.
            raise self._write_error
        pending = self._pending
        pending.append(framed)
        if len(pending) == 1:  # the turn's first record: write them all next turn
            try:
                asyncio.get_running_loop().call_soon(self._flush_turn)
            except RuntimeError:  # no loop: nothing will flush later, so write now
                self.flush()

    def _flush_turn(self) -> None:
        """:meth:`flush` as a loop callback, which has no caller to raise to: a failure is
        kept for the next append (and :meth:`flush`) to raise."""
        try:
            self.flush()
        except OSError as exc:
            self._write_error = exc

    def flush(self) -> None:
        """Write every pending record (in order) with one ``write(2)``."""
        if self._write_error is not None:
            raise self._write_error
        if not self._pending or self._journal_fd is None:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        view = memoryview(data)
        while view:  # a regular file takes it all at once; a short write is still handled
            view = view[os.write(self._journal_fd, view):]

    def prepare_snapshot(self, state: State) -> tuple[bytes, int]:
        """Capture the state now (in the event loop) and switch appends to a new journal,
        so the snapshot plus that journal always cover everything."""
        self._gen += 1
        self._open_journal()
        return self._encode(state, self._gen), self._gen

    def snapshot(self, data: bytes, gen: int) -> None:
        """Durably install a prepared snapshot, then drop the journals it covers. Safe to
        run in a worker thread: it touches no shared state but files."""
        with self._install_lock:
            # Never install an older snapshot over a newer one: the newer one may already
            # have dropped the journals the older one needs.
            if gen <= self._installed:
                return
            write_private_atomic(self.directory / STATE_NAME, data, tag=f".{gen}")
            self._installed = gen
            for jgen, path in self._journals():
                if jgen < gen:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()

    @staticmethod
    def _encode(state: State, gen: int) -> bytes:
        body = json.dumps(state.to_json(gen), separators=(",", ":"), sort_keys=True).encode()
        return body + b"\n" + f"{zlib.crc32(body):08x}".encode() + b"\n"


def check_binding(stored: Binding, current: Binding, directory: Path) -> None:
    diffs = stored.differences(current)
    if diffs:
        raise CheckpointMismatch(
            f"checkpoint {directory} belongs to a different job; nothing was sent. "
            f"Differs: {'; '.join(diffs)}. Use the original settings to resume, another "
            "--checkpoint for a new job, or --restart to discard it."
        )
