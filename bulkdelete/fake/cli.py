"""``bulkdelete fake-server``: a flag for every knob of FakeServerConfig, and the serve loop.

The flags are made from the config's fields, which also validate them. The parser of every
command builds them, so this module imports no aiohttp: only serving does.
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

__all__ = ["add_cli_arguments", "run_from_args"]

_METAVARS: dict[object, str] = {float: "S", int: "N", str: "TEXT", Path: "PATH"}
_FLAGGED = [f for f in fields(FakeServerConfig) if "help" in f.metadata]


def _loopback_host(text: str) -> str:
    try:
        check_loopback(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _port(text: str) -> int:
    if not 0 <= (port := int(text)) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text}")
    return port


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", type=_loopback_host, default="127.0.0.1",
        help="loopback address to listen on (default 127.0.0.1; others are refused)")
    add("--port", type=_port, default=0,
        help="port to listen on; 0 (default) picks a free one. The line "
        "'fake server listening on URL' is printed once ready")
    add("--passcode-env", metavar="NAME",
        help=f"environment variable holding the accepted passcode (default: {PASSCODE_ENV} "
        f"if set, else {DEFAULT_PASSCODE!r}); never a flag, so it stays out of ps")
    for f in _FLAGGED:
        extra = dict(f.metadata)
        flag = extra.pop("flag", "--" + f.name.replace("_", "-"))
        if isinstance(f.default, bool):
            extra.setdefault("action", "store_true")
        elif isinstance(f.default, frozenset):  # a file of IDs, read when the config is made
            extra.update(type=Path, default=None, metavar="PATH")
        else:
            kind = extra.setdefault("type", type(f.default))
            extra.setdefault("metavar", "P" if f.name.startswith("p_") else _METAVARS[kind])
            if f.default is not None:
                shown = f"{f.default:g}" if kind in (int, float) else f.default
                extra["help"] += f" (default {shown})"
        extra.setdefault("default", f.default)
        add(flag, dest=f.name, **extra)


def _config_from_args(ns: argparse.Namespace) -> FakeServerConfig:
    if ns.passcode_env:
        passcode = os.environ.get(ns.passcode_env)
        if passcode is None:
            raise ValueError(f"environment variable {ns.passcode_env} is not set")
    else:
        passcode = os.environ.get(PASSCODE_ENV, DEFAULT_PASSCODE)
    knobs = {f.name: getattr(ns, f.name) for f in _FLAGGED}
    for f in _FLAGGED:
        if isinstance(f.default, frozenset):
            knobs[f.name] = _id_set(knobs[f.name])
    # keep_ids off: a long-running server would grow without bound keeping every ID in
    # memory; the record file is what it offers instead.
    return FakeServerConfig(**knobs, passcode=passcode, keep_ids=False)


def _id_set(path: Path | None) -> frozenset[str]:
    if path is None:
        return frozenset()
    with open(path, encoding="utf-8") as lines:
        return frozenset(s for line in lines if (s := line.strip()))


async def _serve(config: FakeServerConfig, host: str, port: int) -> FakeServerStats:
    from bulkdelete.fake.server import FakeServer

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
        stats = asyncio.run(_serve(_config_from_args(ns), ns.host, ns.port))
    except (ValueError, OSError) as exc:  # bad knobs, the port is taken, an unreadable file
        print(f"fake-server: {exc}", file=sys.stderr)
        return 2
    print(f"fake server stopped: {stats.summary()}", flush=True)
    return 0
