"""A CleverTap-compatible ``POST /1/delete/profiles.json`` on loopback, with fault knobs.

The demo, the end-to-end tests and the benchmarks run the real pipeline against this server
(spec section 7). It checks headers and bodies the way section 2 of the spec describes the
real API, enforces the per-account concurrency limit (429 "Too many concurrent requests"
beyond it, never a per-second rate), and can inject every failure the client must survive:
JSON 500s, HTML 503s from a "load balancer", connection resets, hangs, 2xx-with-fail bodies,
cut-off bodies, endless bodies, 429 storms (with any Retry-After text), IDs the API rejects
and error texts that echo the passcode.

Its record of acknowledged IDs is what proves the nothing-lost guarantee (spec 4.1): an ID is
recorded only when the server sent a *complete success answer* for it. A reset or a cut-off
answer records nothing, because the client cannot know that such a request succeeded and
must re-send it.

Per request the order is: path and method → credentials (401) → Content-Type (400) →
concurrency admission (429) → body validation (400) → poison IDs (400) → fault dice →
latency → answer. Everything up to and including the poison check is answered at once; the
injected 429 is answered at once too, as a throttle is in the real API; every other answer
waits the configured latency first.

The handler sits directly on aiohttp's low-level ``web.Server`` (no router, no middlewares, no
access log) so that at zero latency the server costs as little as possible in benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import enum
import ipaddress
import json
import os
import random
import signal
import socket
import struct
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from aiohttp import web

__all__ = [
    "FakeServer",
    "FakeServerConfig",
    "FakeServerStats",
    "add_cli_arguments",
    "run_from_args",
]

ENDPOINT = "/1/delete/profiles.json"
MAX_IDS_PER_REQUEST = 100
DEFAULT_PASSCODE = "fake-passcode"
PASSCODE_ENV = "FAKE_CLEVERTAP_PASSCODE"

# Grace a stop gives in-flight requests to finish before they are cancelled. Short: a hung
# request (p_hang) must not hold up a test's teardown for hang_seconds.
_SHUTDOWN_GRACE = 0.5


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

    def __post_init__(self) -> None:
        # Validated here, once, so the hot path never has to.
        for name in _FAULT_FIELDS:
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        total = sum(getattr(self, name) for name in _FAULT_FIELDS)
        # One die decides a request's fate, so the fault probabilities share [0, 1].
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault probabilities add up to {total:g}, more than 1")
        for name in ("latency", "latency_jitter", "hang_seconds", "huge_body_bytes"):
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

    def summary(self) -> str:
        """One line for people (no IDs: they are personal data)."""
        return (
            f"requests={self.requests} accepted={self.accepted} "
            f"acknowledged_ids={self.acknowledged_ids} throttled={self.throttled} "
            f"rejected={self.rejected} unauthorized={self.unauthorized} "
            f"faults={self.faults} peak_in_flight={self.peak_in_flight}"
        )


class _Fault(enum.Enum):
    THROTTLE = "p_429"
    ERROR_500 = "p_500"
    HTML_503 = "p_503_html"
    RESET = "p_reset"
    HANG = "p_hang"
    FAIL_BODY = "p_fail_body"
    TRUNCATED = "p_truncated"
    HUGE_BODY = "p_huge_body"


_FAULT_FIELDS = tuple(fault.value for fault in _Fault)


def _dice_table(config: FakeServerConfig) -> tuple[tuple[float, _Fault], ...]:
    """Cumulative thresholds: one uniform draw r picks the first fault whose threshold > r."""
    table: list[tuple[float, _Fault]] = []
    cumulative = 0.0
    for fault in _Fault:
        p: float = getattr(config, fault.value)
        if p > 0.0:
            cumulative += p
            table.append((cumulative, fault))
    return tuple(table)


def _fail(error: str, code: int) -> bytes:
    return json.dumps({"status": "fail", "error": error, "code": code}).encode()


# Bodies are encoded once: the hot path only hands bytes to aiohttp.
_SUCCESS = b'{"status": "success"}'
_UNAUTHORIZED = _fail("Invalid Credentials", 401)
_NOT_FOUND = _fail("Not Found", 404)
_METHOD_NOT_ALLOWED = _fail("Method Not Allowed", 405)
_TOO_MANY = _fail("Too many concurrent requests", 429)
_INTERNAL = _fail("Internal Server Error (injected fault)", 500)
_FAIL_BODY = _fail("Internal error (injected fault)", 500)
_POISON = _fail("Invalid identity in request (poison ID)", 400)
_BAD_CONTENT_TYPE = _fail("Content-Type must be application/json", 400)
_BAD_JSON = _fail("Request body is not valid JSON", 400)
_NOT_OBJECT = _fail("Request body must be a JSON object", 400)
_BOTH_KEYS = _fail("Specify either guid or identity, not both", 400)
_NO_KEY = _fail("Missing guid or identity", 400)
_TOO_MANY_IDS = _fail(f"At most {MAX_IDS_PER_REQUEST} identities per request", 400)
_BAD_IDS = _fail("Identities must be non-empty strings without line breaks", 400)
_HTML_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
    b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_HUGE_HEAD = b'{"status": "success", "padding": "'
_HUGE_CHUNK = b"x" * 65536


def _echo_passcode(passcode: str) -> bytes:
    lead = "Invalid identity in request (poison ID); the request was ".ljust(186, ".")
    headers = json.dumps({"X-CleverTap-Passcode": passcode})
    return _fail(f"{lead}passcode={passcode} headers={headers}", 400)


# A 200 that promises the whole success body and delivers only its first half.
_TRUNCATED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: " + str(len(_SUCCESS)).encode() + b"\r\n\r\n" + _SUCCESS[:10]
)


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


def _parse_ids(raw: bytes) -> list[str] | bytes:
    """The IDs of a delete body, or the 400 body that explains why there are none."""
    try:
        payload: Any = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both
        return _BAD_JSON
    if not isinstance(payload, dict):
        return _NOT_OBJECT
    has_guid = "guid" in payload
    has_identity = "identity" in payload
    if has_guid and has_identity:
        return _BOTH_KEYS
    if not (has_guid or has_identity):
        return _NO_KEY
    value = payload["guid" if has_guid else "identity"]
    ids: list[Any] = [value] if isinstance(value, str) else value
    if not isinstance(ids, list) or not ids:
        return _BAD_IDS
    if len(ids) > MAX_IDS_PER_REQUEST:
        return _TOO_MANY_IDS
    # Checked with C-level string operations rather than a Python loop over the IDs: this
    # runs on every request of a benchmark. join() refuses non-strings; a line break inside
    # an ID (which would corrupt the one-ID-per-line record) shows up as an extra "\n".
    try:
        joined = "\n".join(ids)
    except TypeError:
        return _BAD_IDS
    if "" in ids or "\r" in joined or joined.count("\n") != len(ids) - 1:
        return _BAD_IDS
    return ids


def _check_loopback(host: str) -> str:
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


class FakeServer:
    """The fake endpoint. ``async with FakeServer(config) as server:`` starts and stops it."""

    def __init__(self, config: FakeServerConfig) -> None:
        self.stats = FakeServerStats()
        self._runner: web.ServerRunner | None = None
        self._site: web.TCPSite | None = None
        self._record: IO[str] | None = None
        self._record_path: Path | None = None
        self.reconfigure(config)

    @property
    def config(self) -> FakeServerConfig:
        return self._config

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``; only once started."""
        if self._site is None:
            raise RuntimeError("the fake server is not started")
        return self._site.name

    def reconfigure(self, config: FakeServerConfig) -> None:
        """Swap the configuration; requests already being handled finish under the old one.

        The fault dice are reseeded from the new config, so what follows a reconfigure is
        reproducible on its own.
        """
        self._config = config
        self._rng = random.Random(config.seed)
        self._dice = _dice_table(config)
        if self._runner is not None:
            self._open_record(config.record_path)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on loopback (port 0 picks a free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("the fake server is already started")
        bind_host = _check_loopback(host)
        # The record first: a path that cannot be opened fails before anything listens.
        self._open_record(self._config.record_path)
        server = web.Server(
            self._handle,
            # Cancel a handler when its client goes away, so that a client abandoning a hung
            # request frees the concurrency slot as it would at the real API.
            handler_cancellation=True,
            access_log=None,
        )
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, bind_host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            self._open_record(None)
            raise
        self._runner, self._site = runner, site
        return self.base_url

    async def stop(self) -> None:
        """Stop listening; in-flight requests get a short grace, then are cancelled."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self._site = None
        self._open_record(None)

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _open_record(self, path: Path | None) -> None:
        """Point the record at ``path`` (None closes it); appends, so restarts keep history."""
        if path == self._record_path and (path is None or self._record is not None):
            return
        if self._record is not None:
            self._record.close()
            self._record = None
        self._record_path = path
        if path is not None:
            # Owner-only: the record holds profile IDs, which are personal data.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._record = open(fd, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()

    def _acknowledge(self, ids: list[str]) -> None:
        """Count a success answer's IDs: the nothing-lost proof rests on this record."""
        stats = self.stats
        stats.accepted += 1
        stats.acknowledged_ids += len(ids)
        if self._config.keep_ids:
            stats.acknowledged.update(ids)
        record = self._record
        if record is not None:
            record.write("\n".join(ids) + "\n")
            # Flushed per request (no fsync): a test reading the file after a run sees it all.
            record.flush()

    async def _succeed(self, request: web.BaseRequest, ids: list[str]) -> web.StreamResponse:
        """Send the success answer, then record its IDs: recorded means answered."""
        response = _json(_SUCCESS)
        try:
            # Sent here rather than by aiohttp after the handler returns, so that a client
            # gone before its answer could be written is not counted as acknowledged.
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            return response  # aiohttp sees the closed transport too, and stays quiet
        self._acknowledge(ids)
        return response

    def _throttle(self, config: FakeServerConfig) -> web.Response:
        self.stats.throttled += 1
        response = _json(_TOO_MANY, 429)
        if config.retry_after_header is not None:
            response.headers["Retry-After"] = config.retry_after_header
        elif config.retry_after is not None:
            response.headers["Retry-After"] = f"{config.retry_after:g}"
        return response

    @staticmethod
    async def _huge_body(request: web.BaseRequest, size: int) -> web.StreamResponse:
        """Stream a body of ``size`` bytes (0: endless) until the client hangs up. Never
        a complete success, so nothing is recorded."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        sent = 0
        with contextlib.suppress(ConnectionError):  # the client stopped reading and left
            await response.write(_HUGE_HEAD)
            while not size or sent < size:
                await response.write(_HUGE_CHUNK)
                sent += len(_HUGE_CHUNK)
            await response.write_eof()
        return response

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        stats = self.stats
        if request.path != ENDPOINT:
            return _json(_NOT_FOUND, 404)
        if request.method != "POST":
            return _json(_METHOD_NOT_ALLOWED, 405)
        stats.requests += 1
        # One config for the whole request, even if reconfigure() runs while it sleeps.
        config = self._config
        headers = request.headers
        if (
            headers.get("X-CleverTap-Account-Id") != config.account_id
            or headers.get("X-CleverTap-Passcode") != config.passcode
        ):
            stats.unauthorized += 1
            return _json(_UNAUTHORIZED, 401)
        if request.content_type != "application/json":
            stats.rejected += 1
            return _json(_BAD_CONTENT_TYPE, 400)
        # Admission: the limit is on requests in flight, as at the real API (spec section 2).
        # No await between the check and the increment, so admission is atomic.
        limit = config.concurrency_limit
        if limit and stats.in_flight >= limit:
            return self._throttle(config)
        stats.in_flight += 1
        if stats.in_flight > stats.peak_in_flight:
            stats.peak_in_flight = stats.in_flight
        try:
            return await self._admitted(request, config)
        finally:
            # Also when the handler is cancelled because the client went away.
            stats.in_flight -= 1

    async def _admitted(
        self, request: web.BaseRequest, config: FakeServerConfig
    ) -> web.StreamResponse:
        stats = self.stats
        ids = _parse_ids(await request.read())
        if isinstance(ids, bytes):
            stats.rejected += 1
            return _json(ids, 400)
        if config.keep_ids:
            stats.received.update(ids)
        if config.poison_ids and not config.poison_ids.isdisjoint(ids):
            stats.rejected += 1
            if config.echo_passcode:
                return _json(_echo_passcode(config.passcode), 400)
            return _json(_POISON, 400)

        fault: _Fault | None = None
        if self._dice:
            r = self._rng.random()
            for threshold, kind in self._dice:
                if r < threshold:
                    fault = kind
                    break
        if fault is _Fault.THROTTLE:
            return self._throttle(config)
        if fault is not None:
            stats.faults += 1

        delay = config.latency
        if config.latency_jitter:
            delay += self._rng.uniform(0.0, config.latency_jitter)
        if delay > 0.0:
            await asyncio.sleep(delay)

        if fault is None:
            return await self._succeed(request, ids)
        if fault is _Fault.ERROR_500:
            return _json(_INTERNAL, 500)
        if fault is _Fault.HTML_503:
            return web.Response(body=_HTML_503, status=503, content_type="text/html")
        if fault is _Fault.FAIL_BODY:
            return _json(_FAIL_BODY, 200)
        if fault is _Fault.HANG:
            await asyncio.sleep(config.hang_seconds)
            return await self._succeed(request, ids)
        if fault is _Fault.HUGE_BODY:
            return await self._huge_body(request, config.huge_body_bytes)
        # RESET or TRUNCATED: the client never gets a whole answer, so nothing is recorded.
        transport = request.transport
        if transport is not None:
            if fault is _Fault.RESET:
                # Linger 0 turns close into a TCP RST: a real "connection reset by peer".
                with contextlib.suppress(OSError):
                    transport.get_extra_info("socket").setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                transport.abort()
            else:
                # Bypass aiohttp's writer to send a head that promises more than follows;
                # close() (unlike abort) flushes what was written before the FIN.
                transport.write(_TRUNCATED)
                transport.close()
        # aiohttp's attempt to send this on the closed transport is a ConnectionError it
        # treats as a premature client disconnection: quietly, nothing reaches the client.
        return web.Response(status=204)


# --- command line -------------------------------------------------------------------------


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a probability between 0 and 1, got {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _loopback_host(text: str) -> str:
    try:
        _check_loopback(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Add a flag for every FakeServerConfig knob (``bulkdelete fake-server``)."""
    defaults = FakeServerConfig()
    add = parser.add_argument
    add(
        "--host",
        type=_loopback_host,
        default="127.0.0.1",
        help="loopback address to listen on (default 127.0.0.1; others are refused)",
    )
    add(
        "--port",
        type=_non_negative_int,
        default=0,
        help="port to listen on; 0 (default) picks a free one. The line "
        "'fake server listening on URL' is printed once ready",
    )
    add(
        "--account-id",
        default=defaults.account_id,
        help=f"account ID accepted (default {defaults.account_id})",
    )
    add(
        "--passcode-env",
        metavar="NAME",
        help=f"environment variable holding the accepted passcode (default: {PASSCODE_ENV} "
        f"if set, else {DEFAULT_PASSCODE!r}); never a flag, so it stays out of ps",
    )
    add(
        "--concurrency-limit",
        type=_non_negative_int,
        default=defaults.concurrency_limit,
        help="requests in flight beyond which it answers 429 (default 3; 0 = unlimited)",
    )
    add(
        "--latency",
        type=_non_negative,
        default=defaults.latency,
        help="seconds each accepted request takes (default 0)",
    )
    add(
        "--latency-jitter",
        type=_non_negative,
        default=defaults.latency_jitter,
        help="uniform extra 0..S seconds of latency (default 0)",
    )
    add("--p-500", type=_probability, default=0.0, help="probability of a JSON 500")
    add(
        "--p-503-html",
        type=_probability,
        default=0.0,
        help="probability of a 503 with an HTML body",
    )
    add(
        "--p-reset",
        type=_probability,
        default=0.0,
        help="probability the connection is reset without an answer",
    )
    add(
        "--p-hang",
        type=_probability,
        default=0.0,
        help="probability a request hangs --hang-seconds before succeeding",
    )
    add(
        "--hang-seconds",
        type=_non_negative,
        default=defaults.hang_seconds,
        help=f"how long a hang lasts (default {defaults.hang_seconds:g})",
    )
    add(
        "--p-fail-body",
        type=_probability,
        default=0.0,
        help='probability of an HTTP 200 whose body says "status": "fail"',
    )
    add(
        "--p-truncated",
        type=_probability,
        default=0.0,
        help="probability of a 200 whose body is cut off",
    )
    add("--p-429", type=_probability, default=0.0, help="probability of a 429 whatever the load")
    add(
        "--p-huge-body",
        type=_probability,
        default=0.0,
        help="probability of a 200 whose body goes on for --huge-body-bytes",
    )
    add(
        "--huge-body-bytes",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="length of that body (default 0: until the client hangs up)",
    )
    add(
        "--retry-after",
        type=_non_negative,
        default=None,
        metavar="S",
        help="send Retry-After: S with every 429",
    )
    add(
        "--retry-after-header",
        default=None,
        metavar="TEXT",
        help="send Retry-After: TEXT verbatim with every 429 (e.g. 0, -5 or a past date)",
    )
    add(
        "--echo-passcode",
        action="store_true",
        help="poison 400s quote the passcode in their error text, as a careless proxy might",
    )
    add(
        "--poison-file",
        type=Path,
        metavar="PATH",
        help="IDs (one per line) whose requests get a 400",
    )
    add(
        "--record",
        type=Path,
        metavar="PATH",
        help="append every acknowledged ID to PATH, one per line",
    )
    add("--seed", type=int, default=None, help="seed of the fault dice (reproducible runs)")


def _config_from_args(ns: argparse.Namespace) -> FakeServerConfig:
    """Build the config; ValueError/OSError carry a message fit for the operator."""
    if ns.passcode_env:
        passcode = os.environ.get(ns.passcode_env)
        if passcode is None:
            raise ValueError(f"environment variable {ns.passcode_env} is not set")
    else:
        passcode = os.environ.get(PASSCODE_ENV, DEFAULT_PASSCODE)
    poison: frozenset[str] = frozenset()
    if ns.poison_file is not None:
        with open(ns.poison_file, encoding="utf-8") as lines:
            poison = frozenset(s for line in lines if (s := line.strip()))
    knobs = {
        f.name: getattr(ns, f.name)
        for f in fields(FakeServerConfig)
        if f.name not in ("passcode", "poison_ids", "record_path", "keep_ids")
    }
    # A long-running CLI server would grow without bound keeping every ID in memory; the
    # record file is what it offers instead.
    return FakeServerConfig(
        **knobs, passcode=passcode, poison_ids=poison, record_path=ns.record, keep_ids=False
    )


async def _serve(config: FakeServerConfig, host: str, port: int) -> FakeServerStats:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = FakeServer(config)
    await server.start(host, port)
    try:
        print(f"fake server listening on {server.base_url}", flush=True)
        await stop.wait()
    finally:
        await server.stop()
    return server.stats


def run_from_args(ns: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM, then print a one-line summary. 0, or 2 on bad settings."""
    try:
        config = _config_from_args(ns)
    except (ValueError, OSError) as exc:
        print(f"fake-server: {exc}", file=sys.stderr)
        return 2
    try:
        stats = asyncio.run(_serve(config, ns.host, ns.port))
    except OSError as exc:  # the port is taken, the record file cannot be written, ...
        print(f"fake-server: {exc}", file=sys.stderr)
        return 2
    print(f"fake server stopped: {stats.summary()}", flush=True)
    return 0
