"""One frozen settings object per run, validated here once; everything downstream trusts it."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bulkdelete.errors import UsageError
from bulkdelete.regions import host_of, is_loopback, normalize_base_url

IdType = Literal["guid", "identity"]
ID_TYPES: tuple[IdType, ...] = ("guid", "identity")
MAX_BATCH_SIZE = 100  # the API's own ceiling per request (docs/api.md)

# Bounds of the pacing options (docs/cli.md, "Bounds"): a typo cannot mean "never", and 64
# connections stay far from any file-descriptor limit.
MAX_CONCURRENCY = 64
RATE_RANGE = (0.01, 10_000.0)
TIMEOUT_RANGE = (0.01, 3600.0)
STALL_TIMEOUT_RANGE = (0.1, 86_400.0)


class Secret:
    """A string whose repr/str are masked, so a passcode cannot leak into a log or report."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class ErrorBudget:
    """``--max-errors``: an absolute count, or a percentage that applies once 1,000 IDs have
    been attempted (before that one bad batch would be 100 %)."""

    count: int | None = None
    percent: float | None = None

    PERCENT_AFTER = 1000

    @classmethod
    def parse(cls, text: str) -> ErrorBudget:
        raw = text.strip()
        try:
            if raw.endswith("%"):
                pct = float(raw[:-1])
                if not 0 < pct <= 100:
                    raise ValueError
                return cls(percent=pct)
            count = int(raw)
            if count < 1:
                raise ValueError
            return cls(count=count)
        except ValueError:
            raise UsageError(
                f"--max-errors takes a count (e.g. 500) or a percentage (e.g. 2%), got {text!r}"
            ) from None

    def exceeded(self, failed: int, attempted: int) -> bool:
        if self.count is not None:
            return failed >= self.count
        if self.percent is not None and attempted >= self.PERCENT_AFTER:
            return failed * 100 >= self.percent * attempted
        return False

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.count)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How to talk to the API and how hard to push. A checkpoint binds the target and
    ``id_type``/``batch_size``; the rest may change between runs."""

    account_id: str
    passcode: Secret = field(repr=False)  # a plain str is accepted and wrapped
    base_url: str
    id_type: IdType
    batch_size: int = MAX_BATCH_SIZE
    concurrency: int = 3
    rate: float | None = None
    timeout: float = 30.0
    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    limit: int | None = None
    max_delete: int | None = None
    max_errors: ErrorBudget | None = None
    stall_timeout: float = 600.0
    # Test knobs, not flags: see ``grace`` and ``lookahead``, and engine/sender.py (Rules).
    failing_window: float = 60.0
    shutdown_grace: float | None = None
    window: int | None = None
    preflight: bool = True
    requester: str | None = None
    ticket: str | None = None
    target_from: str = ""  # for the plan: "from --base-url", "default region eu1"

    def __post_init__(self) -> None:
        # A plain string is wrapped at once, so the value is masked from here on.
        if isinstance(self.passcode, str):
            object.__setattr__(self, "passcode", Secret(self.passcode))
        elif not isinstance(self.passcode, Secret):
            raise UsageError(f"passcode must be a str or a bulkdelete.Secret, got "
                             f"{type(self.passcode).__name__}")
        for name in ("account_id", "base_url"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise UsageError(f"{name} must be a str, got {type(value).__name__}")
        if not self.account_id.strip():
            raise UsageError(
                "no account ID: pass --account-id or set CLEVERTAP_ACCOUNT_ID"
            )
        if not self.passcode.reveal():
            raise UsageError(
                "no passcode: set CLEVERTAP_PASSCODE or pass --passcode-file PATH"
            )
        # Both go into request headers, which cannot carry control characters: refused
        # here, before a checkpoint exists, rather than by the HTTP library mid-run.
        _refuse_control_characters(
            self.account_id, "the account ID", "--account-id or CLEVERTAP_ACCOUNT_ID"
        )
        _refuse_control_characters(
            self.passcode.reveal(), "the passcode", "CLEVERTAP_PASSCODE or --passcode-file"
        )
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        if self.id_type not in ID_TYPES:
            raise UsageError(f"--id-type must be guid or identity, got {self.id_type!r}")
        _check_count(self.batch_size, "--batch-size", 1, MAX_BATCH_SIZE)
        _check_count(self.concurrency, "--concurrency", 1, MAX_CONCURRENCY)
        if self.rate is not None:
            _check_seconds(self.rate, "--rate", *RATE_RANGE, unit=" requests per second")
        _check_seconds(self.timeout, "--timeout", *TIMEOUT_RANGE)
        if self.limit is not None:
            _check_count(self.limit, "--limit", 1)
        if self.max_delete is not None:
            _check_count(self.max_delete, "--max-delete", 0)
        _check_seconds(self.stall_timeout, "--stall-timeout", *STALL_TIMEOUT_RANGE)
        if self.max_retries < 0:
            raise UsageError("max_retries must be 0 or more")
        _check_audit_text(self.requester, "--requester")
        _check_audit_text(self.ticket, "--ticket")

    @property
    def host(self) -> str:
        return host_of(self.base_url)

    @property
    def grace(self) -> float:
        # How long a graceful stop waits for requests in flight.
        return self.shutdown_grace if self.shutdown_grace is not None else min(self.timeout, 30.0)

    @property
    def lookahead(self) -> int:
        """Batches the pipeline may run ahead of the watermark: enough to keep every slot
        busy while a few batches sit in backoff, small enough to bound the checkpoint."""
        return self.window if self.window is not None else max(32, 8 * self.concurrency)


def _check_count(value: object, flag: str, low: int, high: int | None = None) -> None:
    span = f"{low}..{high}" if high is not None else f"{low} or more"
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{flag} takes a whole number, {span}; got {value!r}")
    if value < low or (high is not None and value > high):
        raise UsageError(f"{flag} must be {span}, got {value}")


def _check_seconds(value: float, flag: str, low: float, high: float,
                   unit: str = " seconds") -> None:
    """A finite number within low..high; NaN fails every comparison, so it is refused."""
    if not (isinstance(value, int | float) and not isinstance(value, bool)
            and low <= value <= high):
        raise UsageError(f"{flag} must be a number from {low:g} to {high:g}{unit}, "
                         f"got {value!r}")


MAX_AUDIT_TEXT = 200


def _check_audit_text(value: str | None, flag: str) -> None:
    if value is None:
        return
    if len(value) > MAX_AUDIT_TEXT:
        raise UsageError(f"{flag} takes at most {MAX_AUDIT_TEXT} characters, got {len(value)}")
    if any(unicodedata.category(char) in {"Cc", "Zl", "Zp"} for char in value):
        raise UsageError(f"{flag} must be one line of text, without line breaks or control "
                         "characters")


def _refuse_control_characters(value: str, what: str, where: str) -> None:
    """Name the setting and the position, never the value: it may be the passcode."""
    for position, char in enumerate(value, 1):
        if unicodedata.category(char) == "Cc":
            raise UsageError(
                f"{what} contains a control character (U+{ord(char):04X} at position "
                f"{position}); check {where} and give it exactly as the dashboard shows it"
            )


@dataclass(frozen=True, kw_only=True)
class JobFiles:
    """Where a resumable job reads and writes. ``checkpoint`` is a directory."""

    input: Path
    format: str = "auto"
    column: str | None = None
    delimiter: str | None = None  # CSV only; None: sniffed from the header
    checkpoint: Path | None = None
    failed: Path | None = None
    report: Path | None = None
    restart: bool = False

    @property
    def checkpoint_dir(self) -> Path:
        return self.checkpoint or self.input.with_name(self.input.name + ".bulkdelete")

    @property
    def failed_path(self) -> Path:
        return self.failed or self.checkpoint_dir / "failed.txt"

    @property
    def report_path(self) -> Path:
        return self.report or self.checkpoint_dir / "report.json"


def suite_pauses(settings: Settings) -> Settings:
    """Short retry pauses for the test suite (BULKDELETE_TEST_PAUSES=1), honoured only for a
    loopback target such as the fake server, so they cannot change a run against CleverTap."""
    host = urlsplit(settings.base_url).hostname or ""
    if os.environ.get("BULKDELETE_TEST_PAUSES") != "1" or not is_loopback(host):
        return settings
    return replace(settings, backoff_base=0.01, backoff_cap=0.05)
