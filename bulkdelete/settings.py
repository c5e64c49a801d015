"""One frozen settings object per run, validated here once; everything downstream trusts it."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bulkdelete.errors import UsageError

DEFAULT_REGION = "eu1"

#: Spec §2. ``eu1`` is CleverTap's default region and has no prefix.
REGION_HOSTS: dict[str, str] = {
    "eu1": "api.clevertap.com", "in1": "in1.api.clevertap.com",
    "sg1": "sg1.api.clevertap.com",
    "us1": "us1.api.clevertap.com",
    "aps3": "aps3.api.clevertap.com",
    "mec1": "mec1.api.clevertap.com",
}

DELETE_PATH = "/1/delete/profiles.json"
PROFILE_PATH = "/1/profile.json"  # Get User Profile: verify and the preflight


def region_base_url(region: str) -> str:
    if (host := REGION_HOSTS.get(region.strip().lower())) is None:
        raise UsageError(f"unknown region {region!r}; choose one of: {', '.join(REGION_HOSTS)}")
    return f"https://{host}"


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(url: str) -> str:
    """``scheme://host[:port]``; plain ``http://`` only to loopback."""
    parts = urlsplit(url.strip())
    # No message repeats the URL: any part of it may hold a passcode pasted in the wrong place.
    unquoted = "(not repeated here, as it may hold a secret)"
    only = f"--base-url takes only scheme://host[:port] (the path {DELETE_PATH} is added)"
    if parts.username or parts.password:
        raise UsageError("--base-url must not carry credentials; use CLEVERTAP_PASSCODE")
    if parts.query or parts.fragment:
        raise UsageError(f"{only}: it must not carry a query string or a fragment {unquoted}")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"--base-url must look like https://host[:port] {unquoted}")
    if parts.path not in {"", "/"}:
        raise UsageError(f"{only}: it must not carry a path of its own {unquoted}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(f"refusing plain http:// to {parts.hostname}: the passcode would "
                         "travel unencrypted. Use https://, or http:// only to "
                         "127.0.0.1/localhost.")
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"--base-url has an invalid port {unquoted}") from exc
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 literal
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def resolve_base_url(region: str | None, base_url: str | None) -> str:
    """``--base-url`` wins over ``--region``; with neither, the default region (eu1)."""
    return normalize_base_url(base_url) if base_url else region_base_url(region or DEFAULT_REGION)


def resolve_target(region_flag: str | None, base_url_flag: str | None,
                   profile: tuple[str, str] | None = None) -> tuple[str, str]:
    """The base URL and its source: flag, environment, *profile*, then default; within one a
    base URL beats a region. A bad value is refused even when another would win."""
    env_region = os.environ.get("CLEVERTAP_REGION") or None
    env_base_url = os.environ.get("CLEVERTAP_BASE_URL") or None
    if env_region and env_region.strip().lower() not in REGION_HOSTS:
        raise UsageError(f"CLEVERTAP_REGION={env_region!r} is not a region; choose one "
                         f"of: {', '.join(REGION_HOSTS)}")
    try:
        env_url = normalize_base_url(env_base_url) if env_base_url else None
    except UsageError as exc:
        raise UsageError(f"CLEVERTAP_BASE_URL: {exc}") from None
    if base_url_flag:
        return normalize_base_url(base_url_flag), "from --base-url"
    if env_url and not region_flag:
        return env_url, "from CLEVERTAP_BASE_URL"
    for value, source in ((region_flag, "from --region"), (env_region, "from CLEVERTAP_REGION")):
        if value:
            name = value.strip().lower()
            return region_base_url(name), f"region {name} {source}"
    return profile or (region_base_url(DEFAULT_REGION), f"default region {DEFAULT_REGION}")


IdType = Literal["guid", "identity"]
MAX_BATCH_SIZE = 100  # the API's own ceiling per request (docs/api.md)
MAX_AUDIT_TEXT = 200

# docs/cli.md "Bounds": field, flag, low, high (None: none), unit (None: a whole number).
_BOUNDS: tuple[tuple[str, str, float, float | None, str | None], ...] = (
    ("batch_size", "--batch-size", 1, MAX_BATCH_SIZE, None),
    ("concurrency", "--concurrency", 1, 64, None),
    ("rate", "--rate", 0.01, 10_000.0, " requests per second"),
    ("timeout", "--timeout", 0.01, 3600.0, " seconds"),
    ("limit", "--limit", 1, None, None),
    ("max_delete", "--max-delete", 0, None, None),
    ("stall_timeout", "--stall-timeout", 0.1, 86_400.0, " seconds"),
    ("baseline", "--baseline", 0, 10_000, None),  # IDs looked up before a new job
)
_OPTIONAL = {"rate", "limit", "max_delete"}  # None: no such bound


class Secret:
    """Masked in repr/str; not a dataclass, which ``dataclasses.asdict`` would unwrap."""

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
    """A count, or a percentage applied from 1,000 IDs on (one bad batch is not 100 %)."""

    count: int | None = None
    percent: float | None = None

    PERCENT_AFTER = 1000

    @classmethod
    def parse(cls, text: str) -> ErrorBudget:
        raw = text.strip()
        with contextlib.suppress(ValueError):
            if raw.endswith("%") and 0 < (percent := float(raw[:-1])) <= 100:
                return cls(percent=percent)
            if not raw.endswith("%") and (count := int(raw)) >= 1:
                return cls(count=count)
        raise UsageError(
            f"--max-errors takes a count (e.g. 500) or a percentage (e.g. 2%), got {text!r}")

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
    """A checkpoint binds the target, ``id_type`` and ``batch_size``; the rest may change."""

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
    # Test knobs, not flags: see ``grace`` and ``lookahead``, and the Sender's abort rules.
    failing_window: float = 60.0
    shutdown_grace: float | None = None
    window: int | None = None
    preflight: bool = True
    requester: str | None = None
    ticket: str | None = None
    baseline: int = 100  # docs/verify.md: a new job's sample looked up first; 0 skips
    allow_absent: bool = False
    target_from: str = ""  # for the plan: "from --base-url", "default region eu1"

    def __post_init__(self) -> None:
        if isinstance(self.passcode, str):
            object.__setattr__(self, "passcode", Secret(self.passcode))
        elif not isinstance(self.passcode, Secret):
            raise UsageError(f"passcode must be a str or a bulkdelete.Secret, got "
                             f"{type(self.passcode).__name__}")
        for name in ("account_id", "base_url"):
            if not isinstance(value := getattr(self, name), str):
                raise UsageError(f"{name} must be a str, got {type(value).__name__}")
        if not self.account_id.strip():
            raise UsageError("no account ID: pass --account-id or set CLEVERTAP_ACCOUNT_ID")
        if not self.passcode.reveal():
            raise UsageError("no passcode: set CLEVERTAP_PASSCODE or pass --passcode-file PATH")
        # Headers cannot carry control characters: refused before a checkpoint exists; the
        # message names the position, never the value (it may be the passcode).
        for value, what, where in (
            (self.account_id, "the account ID", "--account-id or CLEVERTAP_ACCOUNT_ID"),
            (self.passcode.reveal(), "the passcode", "CLEVERTAP_PASSCODE or --passcode-file"),
        ):
            for position, char in enumerate(value, 1):
                if unicodedata.category(char) == "Cc":
                    raise UsageError(f"{what} contains a control character (U+{ord(char):04X} "
                                     f"at position {position}); check {where} and give it "
                                     "exactly as the dashboard shows it")
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        if self.id_type not in ("guid", "identity"):
            raise UsageError(f"--id-type must be guid or identity, got {self.id_type!r}")
        for name, flag, low, high, unit in _BOUNDS:
            if (value := getattr(self, name)) is None and name in _OPTIONAL:
                continue
            if unit is None:
                span = f"{low}..{high}" if high is not None else f"{low} or more"
                if isinstance(value, bool) or not isinstance(value, int):
                    raise UsageError(f"{flag} takes a whole number, {span}; got {value!r}")
                if value < low or (high is not None and value > high):
                    raise UsageError(f"{flag} must be {span}, got {value}")
            # NaN fails every comparison, so it is refused.
            elif not (isinstance(value, int | float) and not isinstance(value, bool)
                      and high is not None and low <= value <= high):
                raise UsageError(f"{flag} must be a number from {low:g} to {high:g}{unit}, "
                                 f"got {value!r}")
        if self.max_retries < 0:
            raise UsageError("max_retries must be 0 or more")
        for flag, text in (("--requester", self.requester), ("--ticket", self.ticket)):
            if text is not None and len(text) > MAX_AUDIT_TEXT:
                raise UsageError(f"{flag} takes at most {MAX_AUDIT_TEXT} characters, "
                                 f"got {len(text)}")
            if any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in text or ""):
                raise UsageError(f"{flag} must be one line of text, without line breaks or "
                                 "control characters")

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def grace(self) -> float:  # how long a graceful stop waits for requests in flight
        return self.shutdown_grace if self.shutdown_grace is not None else min(self.timeout, 30.0)

    @property
    def lookahead(self) -> int:
        """Batches run ahead of the watermark: every slot busy, the checkpoint bounded."""
        return self.window if self.window is not None else max(32, 8 * self.concurrency)


@dataclass(frozen=True, kw_only=True)
class JobFiles:
    """Where a resumable job reads and writes; ``checkpoint`` is a directory."""

    input: Path
    format: str = "auto"
    column: str | None = None
    delimiter: str | None = None  # CSV only; None: sniffed from the header
    encoding: str = "utf-8"  # any spelling of a codec the reader can use (reader.encoding)
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
    """Short pauses under BULKDELETE_TEST_PAUSES=1, only for a loopback target."""
    host = urlsplit(settings.base_url).hostname or ""
    if os.environ.get("BULKDELETE_TEST_PAUSES") != "1" or not is_loopback(host):
        return settings
    return replace(settings, backoff_base=0.01, backoff_cap=0.05)
