"""The fake server's knobs, each also a ``fake-server`` flag, and its counters. No aiohttp
here: every command's parser builds these flags."""

from __future__ import annotations

import argparse
import collections
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENDPOINT = "/1/delete/profiles.json"
PROFILE_ENDPOINT = "/1/profile.json"  # Get User Profile, for verify and the preflight
MAX_IDS_PER_REQUEST = 100
DEFAULT_PASSCODE = "fake-passcode"
PASSCODE_ENV = "FAKE_CLEVERTAP_PASSCODE"

# The injected faults, named by their probability field, in the order the one die reads them.
FAULTS = ("p_429", "p_500", "p_503_html", "p_reset", "p_hang", "p_fail_body", "p_truncated",
          "p_huge_body")


def knob(default: Any, text: str, **extra: Any) -> Any:
    """A field that is also a flag: ``extra`` goes to add_argument, ``flag=`` renames it."""
    return field(default=default, metadata={"help": text, **extra})


@dataclass(frozen=True, kw_only=True)
class FakeServerConfig:
    account_id: str = knob("FAKE-ACCOUNT", "the account accepted", metavar="ID")
    passcode: str = field(default=DEFAULT_PASSCODE, repr=False)  # never in a repr or a log
    concurrency_limit: int = knob(3, "requests in flight beyond which it answers 429; "
                                  "0 = unlimited")
    latency: float = knob(0.0, "seconds each accepted request takes")
    latency_jitter: float = knob(0.0, "a uniform extra 0..S seconds of latency")
    p_500: float = knob(0.0, "probability of a JSON 500")
    p_503_html: float = knob(0.0, "probability of a 503 with a load balancer's HTML page")
    p_reset: float = knob(0.0, "probability the connection is reset with no answer")
    p_hang: float = knob(0.0, "probability a request hangs --hang-seconds before succeeding")
    hang_seconds: float = knob(30.0, "how long a hang lasts")
    p_fail_body: float = knob(0.0, 'probability of an HTTP 200 whose body says "status": '
                              '"fail", code 500')
    p_truncated: float = knob(0.0, "probability of a 200 whose body is cut off before its "
                              "announced length")
    p_429: float = knob(0.0, "probability of a 429 whatever the load (other integrations on "
                        "the account)")
    p_huge_body: float = knob(0.0, "probability of a 200 whose body starts like a success and "
                              "goes on")
    huge_body_bytes: int = knob(0, "length of that body; 0 = until the client hangs up")
    retry_after: float | None = knob(None, "send Retry-After: S with every 429", type=float)
    retry_after_header: str | None = knob(None, "send Retry-After: TEXT verbatim instead (0, "
                                          "-5, a past date, garbage)", type=str)
    echo_passcode: bool = knob(False, "poison 400s quote the passcode in their error text, as "
                               "a careless proxy might")
    poison_ids: frozenset[str] = knob(frozenset(), "IDs (one per line) whose requests get a "
                                      "400", flag="--poison-file")
    record_path: Path | None = field(default=None, metadata={
        "help": "append every acknowledged ID to PATH, one per line", "flag": "--record",
        "type": Path})
    # A Counter of acknowledged IDs; off for 10M-ID runs (the CLI's record file instead).
    keep_ids: bool = True
    seed: int | None = knob(None, "seed of the fault dice, for reproducible runs", type=int)
    purge_delay: float = knob(0.0, "Get User Profile: a deleted ID turns gone S seconds after "
                              "its delete is acknowledged (CleverTap takes up to 48 hours)")
    recreated_ids: frozenset[str] = knob(frozenset(), "IDs (one per line) whose profiles come "
                                         "back after a delete (a user who logged in again): "
                                         "verify finds them present", flag="--recreated-file")
    unclear_ids: frozenset[str] = knob(frozenset(), "IDs (one per line) whose lookups always "
                                       "get a fail body with code 500: verify counts them "
                                       "unknown", flag="--unclear-file")
    known_ids: frozenset[str] = knob(frozenset(), "IDs (one per line) that alone name "
                                     "profiles; every other ID names none (default: every ID "
                                     "names one)", flag="--known-file")
    absent_ids: frozenset[str] = knob(frozenset(), "IDs (one per line) that name no profile "
                                      "under either key: looked up, they are not found",
                                      flag="--absent-file")
    absent_share: float = knob(0.0, "share of all IDs that name no profile, chosen by a hash "
                               "of the ID (bulkdelete.fake.config.absent_by_share)",
                               metavar="F")
    profiles_under: str = knob("both", "the lookup key that finds profiles: identity, "
                               "objectId or both (each its own namespace)",
                               choices=("identity", "objectId", "both"), metavar="KEY")
    random_ids_present: bool = knob(False, "IDs of 32 hex characters (what bulkdelete looks "
                                    "up to learn the not-found answer) name profiles too; "
                                    "by default they name none, as at the real API")
    remember_deletes: bool = knob(True, "do not remember deleted IDs (lookups then answer "
                                  "503): for runs of millions of IDs, where remembering them "
                                  "would hold them all in memory", flag="--forget-deletes")

    def __post_init__(self) -> None:
        # Validated here, once, for the command line and Python alike.
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in (*FAULTS, "absent_share") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must be a probability in [0, 1], got {value}")
            if type(value) in (int, float) and f.name != "seed" and value < 0:
                raise ValueError(f"{f.name} must not be negative")
        if self.profiles_under not in ("identity", "objectId", "both"):
            raise ValueError(f"profiles_under must be identity, objectId or both, got "
                             f"{self.profiles_under!r}")
        total = sum(getattr(self, name) for name in FAULTS)
        # One die decides a request's fate, so the fault probabilities share [0, 1].
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault probabilities add up to {total:g}, more than 1")


_RANDOM_ID = re.compile(r"[0-9a-f]{32}")


def absent_by_share(ident: str, share: float) -> bool:
    """Whether ``--absent-share`` makes ``ident`` name no profile: the first 8 bytes of its
    SHA-256 as a fraction of 2**64, below the share. A test knows the absent IDs by it."""
    if share <= 0.0:
        return False
    digest = hashlib.sha256(ident.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") < share * 2.0**64


def names_a_profile(config: FakeServerConfig, key: str, ident: str) -> bool:
    """Before any delete: ``key`` ("identity" or "objectId") finds a profile for ``ident``."""
    if config.profiles_under not in ("both", key) or ident in config.absent_ids:
        return False
    if config.known_ids and ident not in config.known_ids:
        return False
    if not config.random_ids_present and _RANDOM_ID.fullmatch(ident):
        return False
    return not absent_by_share(ident, config.absent_share)


@dataclass
class InFlight:
    """One endpoint's admitted requests being handled now, and the most there ever were."""

    now: int = 0
    peak: int = 0


@dataclass
class FakeServerStats:
    requests: int = 0  # every POST to the endpoint
    accepted: int = 0  # requests answered success
    acknowledged_ids: int = 0  # IDs in successful requests, with repetition
    throttled: int = 0  # 429s sent (load-based and p_429)
    rejected: int = 0  # 400s
    unauthorized: int = 0  # 401s
    faults: int = 0  # 500/503/reset/hang/fail-body/truncated injected
    deletes_in_flight: InFlight = field(default_factory=InFlight)
    acknowledged: collections.Counter[str] = field(default_factory=collections.Counter)
    # Every ID of every well-formed request, answered or not: what a crash test counts to
    # see how much a rerun sends again.
    received: collections.Counter[str] = field(default_factory=collections.Counter)
    # Get User Profile, counted apart from the deletes (its limit is its own, as at the API).
    profile_requests: int = 0  # every GET of the lookup path
    lookups_in_flight: InFlight = field(default_factory=InFlight)
    looked_up: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def peak_in_flight(self) -> int:
        return self.deletes_in_flight.peak

    def summary(self) -> str:
        """No IDs: they are personal data."""
        names = ("requests", "accepted", "acknowledged_ids", "throttled", "rejected",
                 "unauthorized", "faults", "peak_in_flight", "profile_requests")
        return " ".join(f"{name}={getattr(self, name)}" for name in names)


class NotLoopback(ValueError, argparse.ArgumentTypeError):
    """A ValueError to Python callers; argparse shows its text as ``--host``'s error."""


def check_loopback(host: str) -> str:
    """The host to bind, refusing anything that is not loopback: this server has no TLS."""
    if host == "localhost":
        # Resolving "localhost" may bind IPv4 and IPv6 on two different ephemeral ports.
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise NotLoopback(f"host must be a loopback address, got {host!r}")


_METAVARS: dict[object, str] = {float: "S", int: "N", str: "TEXT", Path: "PATH"}
_FLAGGED = [f for f in fields(FakeServerConfig) if "help" in f.metadata]


def _port(text: str) -> int:
    if not 0 <= (port := int(text)) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text}")
    return port


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", type=check_loopback, default="127.0.0.1",
        help="loopback address to listen on (default 127.0.0.1; others are refused)")
    add("--port", type=_port, default=0,
        help="port to listen on; 0 (default) picks a free one. The line "
        "'fake server listening on URL' is printed once ready")
    add("--passcode-env", metavar="NAME",
        help=f"environment variable holding the accepted passcode (default: {PASSCODE_ENV} "
        f"if set, else {DEFAULT_PASSCODE!r}); never a flag, so it stays out of ps")
    for f in _FLAGGED:
        extra = {"default": f.default, **f.metadata}
        flag = extra.pop("flag", "--" + f.name.replace("_", "-"))
        if isinstance(f.default, bool):
            extra["action"] = "store_false" if f.default else "store_true"
        elif isinstance(f.default, frozenset):  # a file of IDs, read when the config is made
            extra.update(type=Path, metavar="PATH")
        else:
            kind = extra.setdefault("type", type(f.default))
            extra.setdefault("metavar", "P" if f.name.startswith("p_") else _METAVARS[kind])
            if f.default is not None:
                shown = f"{f.default:g}" if kind in (int, float) else f.default
                extra["help"] += f" (default {shown})"
        add(flag, dest=f.name, **extra)


def config_from_args(ns: argparse.Namespace) -> FakeServerConfig:
    """The config of ``fake-server``'s flags, reading the passcode and the ID files."""
    env = ns.passcode_env or PASSCODE_ENV
    passcode = os.environ.get(env, None if ns.passcode_env else DEFAULT_PASSCODE)
    if passcode is None:
        raise ValueError(f"environment variable {env} is not set")
    knobs = {f.name: getattr(ns, f.name) for f in _FLAGGED}
    for f in _FLAGGED:
        if isinstance(f.default, frozenset) and knobs[f.name]:  # a file of IDs, one per line
            with open(knobs[f.name], encoding="utf-8") as lines:
                knobs[f.name] = frozenset(s for line in lines if (s := line.strip()))
    # keep_ids off: a long-running server would grow without bound keeping every ID in
    # memory; the record file is what it offers instead.
    return FakeServerConfig(**knobs, passcode=passcode, keep_ids=False)
