"""What the fake server accepts, which faults it injects, and what it counts.

Nothing here imports aiohttp: the command line reads the defaults from this module to build
its options without paying for the server side.
"""

from __future__ import annotations

import collections
import enum
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

ENDPOINT = "/1/delete/profiles.json"
PROFILE_ENDPOINT = "/1/profile.json"  # Get User Profile, for verify and the preflight
MAX_IDS_PER_REQUEST = 100
DEFAULT_PASSCODE = "fake-passcode"
PASSCODE_ENV = "FAKE_CLEVERTAP_PASSCODE"


class Fault(enum.Enum):
    """A failure the server can inject; the value names its probability in the config."""

    THROTTLE = "p_429"
    ERROR_500 = "p_500"
    HTML_503 = "p_503_html"
    RESET = "p_reset"
    HANG = "p_hang"
    FAIL_BODY = "p_fail_body"
    TRUNCATED = "p_truncated"
    HUGE_BODY = "p_huge_body"


FAULT_FIELDS = tuple(fault.value for fault in Fault)


@dataclass(frozen=True, kw_only=True)
class FakeServerConfig:
    """What the server accepts and which faults it injects. Swappable at run time."""

    account_id: str = "FAKE-ACCOUNT"
    passcode: str = field(default=DEFAULT_PASSCODE, repr=False)  # never in a repr or a log
    concurrency_limit: int = 3  # 429 beyond this many in flight; 0 = unlimited
    latency: float = 0.0  # seconds each accepted request takes before it is answered
    latency_jitter: float = 0.0  # uniform extra 0..jitter seconds
    p_500: float = 0.0  # JSON 500
    p_503_html: float = 0.0  # 503 with a load balancer's HTML page
    p_reset: float = 0.0  # connection reset, no answer at all
    p_hang: float = 0.0  # answer success only after hang_seconds
    hang_seconds: float = 30.0
    p_fail_body: float = 0.0  # HTTP 200 whose body says "status": "fail", code 500
    p_truncated: float = 0.0  # 200 whose body is cut off before Content-Length
    p_429: float = 0.0  # 429 whatever the load (other integrations on the account)
    p_huge_body: float = 0.0  # 200 whose body starts like a success and goes on and on
    huge_body_bytes: int = 0  # how long that body is; 0 = until the client hangs up
    retry_after: float | None = None  # if set, every 429 carries Retry-After: <seconds>
    # Sent verbatim with every 429 instead ("0", "-5", a past HTTP date, garbage).
    retry_after_header: str | None = None
    # Poison 400s quote the passcode, raw from the 196th character of their error text
    # (across a 200-character cut) and then JSON-encoded, as a debugging proxy might.
    echo_passcode: bool = False
    poison_ids: frozenset[str] = frozenset()  # a request carrying any of these gets a 400
    record_path: Path | None = None  # every acknowledged ID appended here, one per line
    keep_ids: bool = True  # keep a Counter of acknowledged IDs (False for 10M-ID benchmarks)
    seed: int | None = None  # seed of the fault dice, so tests are reproducible
    # Get User Profile: an acknowledged ID turns gone this many seconds after its delete.
    purge_delay: float = 0.0
    recreated_ids: frozenset[str] = frozenset()  # present whatever was deleted (came back)
    unclear_ids: frozenset[str] = frozenset()  # always a fail body with code 500
    # Remember when each ID was deleted, so lookups can answer; off for 10M-ID benchmarks,
    # whose server would otherwise hold every ID (lookups then answer 503).
    remember_deletes: bool = True

    def __post_init__(self) -> None:
        # Validated here, once, so the hot path never has to.
        for name in FAULT_FIELDS:
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        total = sum(getattr(self, name) for name in FAULT_FIELDS)
        # One die decides a request's fate, so the fault probabilities share [0, 1].
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault probabilities add up to {total:g}, more than 1")
        for name in ("latency", "latency_jitter", "hang_seconds", "huge_body_bytes",
                     "purge_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.concurrency_limit < 0:
            raise ValueError("concurrency_limit must be >= 0 (0 = unlimited)")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")


@dataclass
class FakeServerStats:
    """Counters of what the server saw and answered; read them, do not write them."""

    requests: int = 0  # every POST to the endpoint
    accepted: int = 0  # requests answered success
    acknowledged_ids: int = 0  # IDs in successful requests, with repetition
    throttled: int = 0  # 429s sent (load-based and p_429)
    rejected: int = 0  # 400s
    unauthorized: int = 0  # 401s
    faults: int = 0  # 500/503/reset/hang/fail-body/truncated injected
    in_flight: int = 0  # admitted requests being handled now
    peak_in_flight: int = 0  # max of in_flight ever
    acknowledged: collections.Counter[str] = field(default_factory=collections.Counter)
    # Every ID of every well-formed request, answered or not: what a crash test counts to
    # see how much a rerun sends again.
    received: collections.Counter[str] = field(default_factory=collections.Counter)
    # Get User Profile, counted apart from the deletes (its limit is its own, as at the API).
    profile_requests: int = 0  # every GET of the lookup path
    profile_in_flight: int = 0
    profile_peak_in_flight: int = 0
    looked_up: collections.Counter[str] = field(default_factory=collections.Counter)

    def summary(self) -> str:
        """One line for people (no IDs: they are personal data)."""
        return (
            f"requests={self.requests} accepted={self.accepted} "
            f"acknowledged_ids={self.acknowledged_ids} throttled={self.throttled} "
            f"rejected={self.rejected} unauthorized={self.unauthorized} "
            f"faults={self.faults} peak_in_flight={self.peak_in_flight} "
            f"profile_requests={self.profile_requests}"
        )


def dice_table(config: FakeServerConfig) -> tuple[tuple[float, Fault], ...]:
    """Cumulative thresholds: one uniform draw r picks the first fault whose threshold > r."""
    table: list[tuple[float, Fault]] = []
    cumulative = 0.0
    for fault in Fault:
        p: float = getattr(config, fault.value)
        if p > 0.0:
            cumulative += p
            table.append((cumulative, fault))
    return tuple(table)


def check_loopback(host: str) -> str:
    """The host to bind, refusing anything that is not loopback: this server has no TLS."""
    if host == "localhost":
        # Resolving "localhost" may bind IPv4 and IPv6 on two different ephemeral ports.
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host must be a loopback address, got {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"host must be a loopback address, got {host!r}")
    return host
