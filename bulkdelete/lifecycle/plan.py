"""What a run is about to do (the dry run's answer, what the confirmation shows), the input
reads every step shares (so all read the file the same way), and the observer of a run."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from bulkdelete.batcher import Batch, make_batches, summarize
from bulkdelete.checkpoint import Binding, Progress, State, Totals
from bulkdelete.checkpoint.evidence import Baseline
from bulkdelete.engine import Snapshot
from bulkdelete.errors import CheckpointMismatch
from bulkdelete.failed import check_lists_all
from bulkdelete.outputs import check_outputs
from bulkdelete.reader import Input, InputFormat, check_input_path, check_lines_guess, detect_format
from bulkdelete.reader.csv import csv_column
from bulkdelete.reader.csvhead import describe
from bulkdelete.reader.encoding import resolve_encoding
from bulkdelete.reader.guard import fingerprint
from bulkdelete.reader.rule import show
from bulkdelete.repeats import RepeatCounter
from bulkdelete.sample import Reservoir
from bulkdelete.settings import JobFiles, Settings
from bulkdelete.wording import counted

TYPICAL_LATENCY = 1.0  # seconds per request assumed by the dry run's estimate (docs/api.md)


@dataclass(frozen=True, slots=True)
class IdColumn:
    """The column or field holding the IDs, and a CSV's delimiter, as the reader chose them
    (and refused, docs/guarantees.md §7)."""

    name: str | None = None
    kind: str = "column"  # or "field" (JSON Lines)
    delimiter: str | None = None

    def describe(self) -> str:
        """For the plan: ``column 'email', ';' (semicolon)-separated``."""
        if self.name is None:
            return ""
        what = f"{self.kind} '{show(self.name)}'"
        return f"{what}, {describe(self.delimiter)}-separated" if self.delimiter else what


def id_column(source: Input) -> IdColumn:
    if source.format == "lines":
        return IdColumn()
    if source.format == "jsonl":
        return IdColumn(source.json_field, kind="field")
    name, delimiter = csv_column(source)
    return IdColumn(name, delimiter=delimiter)


#: A dry run's account when none is given: it then plans a started job for the job's own
#: target (docs/cli.md, ``--dry-run``).
UNSET_ACCOUNT = "(not set)"


@dataclass(frozen=True, slots=True)
class Plan:
    input: Path
    format: InputFormat
    account_id: str
    host: str
    id_type: str
    ids_total: int
    lines_invalid: int
    invalid_samples: list[tuple[int, str]]
    batches_total: int
    ids_remaining: int
    ids_this_run: int
    resumed: bool
    concurrency: int
    batch_size: int
    rate: float | None
    preflight: str | None = None  # what the credential check found, when it ran
    column: IdColumn = field(default_factory=IdColumn)
    ids_failed: int = 0  # in the job so far
    ids_duplicate: int = 0  # IDs that repeat an earlier one (each costs a request slot)
    lines_blank: int = 0  # blank lines, CSV cells and JSON values
    input_sha256: str | None = None
    restart: tuple[str, ...] | None = None  # a --restart's still-present lists, which stay
    failed: Path | None = None  # a started job's failed file
    target_from: str = ""  # where the target came from (Settings.target_from)
    encoding: str = "utf-8"  # the input's, canonical
    baseline: Baseline | None = None  # a new job's look before the delete (docs/verify.md)
    label: str | None = None  # what the progress shows it doing, when not the run's own

    @property
    def finished(self) -> bool:
        """A started job with nothing left: a run sends nothing (docs/exit-codes.md)."""
        return self.resumed and self.ids_remaining == 0

    @property
    def requests_this_run(self) -> int:
        return math.ceil(self.ids_this_run / self.batch_size)

    @property
    def latency(self) -> float | None:
        """The preflight's measured round trip, when it ran and answered."""
        return getattr(self.preflight, "round_trip", None)

    def estimate(self) -> str:
        """The dry run's estimate line, at the measured round trip or else the assumed one."""
        latency = self.latency
        each = (f"~{latency:.2g} s each (the preflight's round trip)" if latency is not None
                else f"~{TYPICAL_LATENCY:g} s each (assumed: no preflight was made)")
        rate = f", at most {self.rate:g}/s" if self.rate else ""
        return (f"{counted(self.requests_this_run, 'request')} at concurrency "
                f"{self.concurrency}{rate} and {each}: "
                f"{duration(self.estimated_seconds(latency or TYPICAL_LATENCY))}")

    def estimated_seconds(self, latency: float = TYPICAL_LATENCY) -> float:
        """At ``concurrency`` in flight and ``latency`` each, or at ``--rate``, whichever is
        slower: the two ceilings are separate, so the tighter one decides."""
        per_request = latency / max(1, self.concurrency)
        if self.rate:
            per_request = max(per_request, 1.0 / self.rate)
        return self.requests_this_run * per_request


def duration(seconds: float) -> str:
    """A time for people: "under 1 s", never "about under 1 s"."""
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def make_plan(settings: Settings, source: Input, totals: Totals,
              progress: Progress | None = None) -> Plan:
    done = progress.ids_done if progress is not None else 0
    remaining = this_run = totals.ids_total - done
    if settings.limit is not None:  # exactly: the batch it ends in is cut (engine.piece_of)
        this_run = min(remaining, settings.limit)
    return Plan(
        input=source.path, format=source.format, account_id=settings.account_id,
        host=settings.host, id_type=settings.id_type, ids_remaining=remaining,
        ids_this_run=this_run, resumed=progress is not None, concurrency=settings.concurrency,
        batch_size=settings.batch_size, rate=settings.rate, column=id_column(source),
        ids_failed=progress.ids_failed if progress is not None else 0,
        target_from=settings.target_from, encoding=source.encoding,
        **asdict(totals),  # every count the pre-count made
    )


def open_input(files: JobFiles, settings: Settings) -> Input:
    """Everything about the input that can be refused is refused here, before anything is
    created on disk (the first record is read for a wrong --column)."""
    check_input_path(files.input)
    fmt = detect_format(files.input, files.format)
    if fmt == "lines" and files.format == "auto":
        check_lines_guess(files.input)  # refused for a file that looks like CSV or JSON
    # Outputs are written (a new job truncates the failed file): never the input, nor a
    # file or folder of someone else (docs/guarantees.md, "Nobody else's files").
    check_outputs(files)
    source = Input(files.input, fmt, settings.id_type, files.column, files.delimiter,
                   encoding=resolve_encoding(files.encoding))
    with contextlib.closing(source.records()) as records:
        next(records, None)
    return source


def read_batches(source: Input, batch_size: int, start: tuple[int, int, int],
                 ids_total: int | None = None) -> Iterator[Batch]:
    """The batches from ``start`` (seq, byte offset, line) on, numbered as the job's; with
    ``ids_total``, none past the pre-count (:func:`make_batches`)."""
    seq, offset, line = start
    return make_batches(source.records(offset, line), batch_size, first_seq=seq,
                        counted=None if ids_total is None else (ids_total, source.path))


def precount(source: Input, batch_size: int, sample: Reservoir | None = None) -> Totals:
    """The one pass over a new job's input: counts, repeats, the input's SHA-256, and the
    baseline's ``sample`` of the valid IDs when one is asked (docs/verify.md)."""
    digest = hashlib.sha256()
    hand: Callable[[list[str]], object]
    with RepeatCounter() as repeats:
        if sample is None:
            hand = repeats.add
        else:
            def hand(ids: list[str]) -> None:
                repeats.add(ids)
                sample.add(ids)
        totals = summarize(replace(source, tap=digest.update).records(), batch_size, hand)
        totals.ids_duplicate = repeats.count()
    totals.input_sha256 = digest.hexdigest()
    return totals


async def binding_for(settings: Settings, source: Input) -> Binding:
    """This input, read this way, sent to this account; a CSV's delimiter is the one read
    (given or sniffed): it shapes the batches as the column does."""
    delimiter = None
    if source.format == "csv":
        delimiter = (await asyncio.to_thread(csv_column, source))[1]
    return Binding(
        fingerprint=await asyncio.to_thread(fingerprint, source.path), format=source.format,
        column=source.column, batch_size=settings.batch_size, id_type=settings.id_type,
        account_id=settings.account_id, host=settings.host, delimiter=delimiter,
        encoding=source.encoding,
    )


def planned_target(settings: Settings, binding: Binding,
                   state: State) -> tuple[Binding, dict[str, Any]]:
    """A dry run given no account plans a started job for its own target (README, step 1):
    the checkpoint's account, and its host unless a region or base URL was given. The
    binding to check, and the plan's target fields (none when an account was given)."""
    if settings.account_id != UNSET_ACCOUNT:
        return binding, {}
    own = state.binding
    host = own.host if settings.target_from.startswith("default") else binding.host
    return (replace(binding, account_id=own.account_id, host=host),
            {"account_id": own.account_id, "host": host,
             "target_from": "the job's, from its checkpoint"})


def check_same_job(state: State, binding: Binding, files: JobFiles, directory: Path,
                   nothing: str = "nothing was sent",
                   advice: str = "Use the original settings to resume, another --checkpoint "
                                 "for a new job, or --restart to discard it.") -> JobFiles:
    """A started job read another way, or sent elsewhere, is refused (``nothing`` says what
    was not done); its failed file must be the one bound and list all its failed IDs.
    Returns *files* with the job's own failed file when no ``--failed`` was given."""
    diffs = state.binding.differences(binding)
    if diffs:
        raise CheckpointMismatch(f"checkpoint {directory} belongs to a different job; {nothing}. "
                                 f"Differs: {'; '.join(diffs)}. {advice}")
    if files.failed is None and state.failed:  # not given: the job's own, wherever it is
        files = replace(files, failed=directory / state.failed)
    state.bind_failed_file(files.failed_path, directory)
    check_lists_all(files.failed_path, state.failed_listed)
    return files


class Observer(Protocol):
    """What a caller watches a run through, seeing the engine only as a :class:`Snapshot`
    copy. ``confirm`` raises ConfirmationRefused to refuse. ``started`` gives what the job
    had done before this run; ``snapshot`` counts this run only."""

    async def confirm(self, plan: Plan) -> None:
        return None

    def started(self, plan: Plan, snapshot: Callable[[], Snapshot], done_before: int, *,
                failed_before: int = 0, throttled_before: int = 0,
                present_before: int = 0) -> None:
        return None

    def tick(self) -> None:
        return None

    def finished(self) -> None:
        return None


class QuietObserver(Observer):
    """Confirms everything and shows nothing: a library caller's default."""
