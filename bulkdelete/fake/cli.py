"""``bulkdelete fake-server``: a flag for every fake-server knob, and the serve loop.

:mod:`bulkdelete.cli` imports this module only when the ``fake-server`` command is asked
for, so that the ``delete`` command never pays for aiohttp's server side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from dataclasses import fields
from pathlib import Path

from bulkdelete.fake.config import (
    DEFAULT_PASSCODE,
    PASSCODE_ENV,
    FakeServerConfig,
    FakeServerStats,
    check_loopback,
)
from bulkdelete.fake.server import FakeServer

__all__ = ["add_cli_arguments", "run_from_args"]


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
        check_loopback(text)
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
    add(
        "--purge-delay",
        type=_non_negative,
        default=0.0,
        metavar="S",
        help="Get User Profile: a deleted ID turns gone S seconds after its delete "
        "(default 0; CleverTap takes up to 48 hours)",
    )
    add(
        "--recreated-file",
        type=Path,
        metavar="PATH",
        help="IDs (one per line) whose profiles come back after a delete (a user who "
        "logged in again): verify finds them present",
    )
    add(
        "--unclear-file",
        type=Path,
        metavar="PATH",
        help="IDs (one per line) whose lookups always get a fail body with code 500: "
        "verify counts them unknown",
    )
    add(
        "--forget-deletes",
        action="store_true",
        help="do not remember deleted IDs (lookups then answer 503): for runs of millions "
        "of IDs, where remembering them would hold them all in memory",
    )


def _config_from_args(ns: argparse.Namespace) -> FakeServerConfig:
    """Build the config; ValueError/OSError carry a message fit for the operator."""
    if ns.passcode_env:
        passcode = os.environ.get(ns.passcode_env)
        if passcode is None:
            raise ValueError(f"environment variable {ns.passcode_env} is not set")
    else:
        passcode = os.environ.get(PASSCODE_ENV, DEFAULT_PASSCODE)
    given = ("passcode", "poison_ids", "record_path", "keep_ids", "recreated_ids",
             "unclear_ids", "remember_deletes")
    knobs = {f.name: getattr(ns, f.name) for f in fields(FakeServerConfig) if f.name not in given}
    # A long-running CLI server would grow without bound keeping every ID in memory; the
    # record file is what it offers instead.
    return FakeServerConfig(
        **knobs, passcode=passcode, poison_ids=_id_set(ns.poison_file), record_path=ns.record,
        keep_ids=False, recreated_ids=_id_set(ns.recreated_file),
        unclear_ids=_id_set(ns.unclear_file), remember_deletes=not ns.forget_deletes,
    )


def _id_set(path: Path | None) -> frozenset[str]:
    """The IDs of a one-per-line file, or none."""
    if path is None:
        return frozenset()
    with open(path, encoding="utf-8") as lines:
        return frozenset(s for line in lines if (s := line.strip()))


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
