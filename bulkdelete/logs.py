"""One structlog pipeline for events and lines for people (:func:`say`). A log file is given
up at its first failed write (the watchers stop the run): logging never raises."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor

from bulkdelete.durable import open_private
from bulkdelete.errors import UsageError

# Where a line for people (:func:`say`'s, never filtered) goes; never written to the log file.
_STREAM = "_stream"


def utc_timestamp(moment: datetime | None = None) -> str:
    """Every timestamp the tool writes, e.g. ``2026-01-31T02:03:04.567Z``."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _LogFile:
    file: TextIO | None = None
    path: Path | None = None
    failure: str | None = None  # what its first failed write said
    watchers: list[Callable[[], None]] = field(default_factory=list)


_log_file = _LogFile()


def on_failure(watcher: Callable[[], None]) -> Callable[[], None]:
    """``watcher`` is called from whatever thread logged; returns unwatch."""
    _log_file.watchers.append(watcher)
    return lambda: _log_file.watchers.remove(watcher)


def failure_message() -> str | None:
    return _log_file.failure


def say(*lines: str, event: str = "message", level: str = "info",
        stream: TextIO | None = None, **fields: Any) -> None:
    """Lines for people (default stderr), never silenced by ``-q``; one JSON record with
    ``--log-format json``."""
    logger = structlog.get_logger()
    getattr(logger, level)(event, **fields, text="\n".join(lines), **{_STREAM: stream})


def wants_json(argv: list[str]) -> bool:
    """Judged before parsing, so that even a usage error can be reported as JSON."""
    for i, arg in enumerate(argv):
        if arg == "--":
            return False
        if arg.startswith("--log-format="):
            return arg.split("=", 1)[1] == "json"
        if arg == "--log-format" and i + 1 < len(argv):
            return argv[i + 1] == "json"
    return False


def print_result(text: str) -> None:
    """*text* on stdout. A reader that has left (a closed pipe: ``status ... | head``) has
    read all it wanted: not an error, and nothing more is written for it."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # What is still buffered, and the interpreter's last flush, go nowhere instead of
        # ending in "Exception ignored ... BrokenPipeError".
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def no_color() -> bool:
    """NO_COLOR set and not empty (https://no-color.org): the log lines and the bar alike."""
    return bool(os.environ.get("NO_COLOR"))


def wants_color(stream: TextIO) -> bool:
    return stream.isatty() and not no_color()


class _Console:
    """Prints to ``sys.stderr`` as it is then (rich swaps it while the bar is up)."""

    def msg(self, message: str, file: TextIO | None = None) -> None:
        if file is not None and file is sys.stdout:
            print_result(message)
        else:
            print(message, file=file or sys.stderr, flush=True)

    debug = info = warning = error = critical = msg


# An event for the log file alone: progress while a terminal shows the bar instead.
FILE_ONLY = "_file_only"


def has_log_file() -> bool:
    return _log_file.file is not None


def _stamp_and_file(_logger: Any, _name: str, event: EventDict) -> EventDict:
    # structlog's TimeStamper has no milliseconds; this is the tool's one format.
    event["timestamp"] = utc_timestamp()
    file = _log_file.file
    file_only = event.pop(FILE_ONLY, False)
    if file is not None:
        record = {k: v for k, v in event.items() if k != _STREAM}
        try:
            file.write(json.dumps(record, default=str) + "\n")
            file.flush()
        except OSError as exc:
            if _log_file.file is file:  # not given up yet (by another thread's failed write)
                _log_file.file = None
                _log_file.failure = (f"cannot write the log file {_log_file.path}: "
                                     f"{exc.strerror or exc}")
                with contextlib.suppress(OSError):
                    file.close()  # what is still buffered cannot be written either
                for watcher in list(_log_file.watchers):
                    watcher()
    if file_only:
        raise structlog.DropEvent
    return event


def configure(*, fmt: str = "console", log_file: Path | None = None,
              quiet: bool = False) -> None:
    """Replaces the log file (none: where each command starts, before parsing). A missing
    folder is never created; a device (``/dev/null``) is written as it is."""
    file = None
    if log_file is not None:
        if not log_file.parent.is_dir():
            raise UsageError(f"--log-file {log_file}: the folder {log_file.parent} does not "
                             "exist; create it first or choose another path")
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        try:
            device = not stat.S_ISREG(log_file.stat().st_mode)
        except FileNotFoundError:
            device = False
        fd = os.open(log_file, flags | os.O_CLOEXEC) if device else open_private(log_file, flags)
        file = os.fdopen(fd, "a", encoding="utf-8")
    if _log_file.file is not None:
        with contextlib.suppress(OSError):  # its failure, if any, was already reported
            _log_file.file.close()
    _log_file.file, _log_file.path, _log_file.failure = file, log_file, None
    as_json = fmt == "json"
    events: Processor = (structlog.processors.JSONRenderer(default=str) if as_json else
                         structlog.dev.ConsoleRenderer(colors=wants_color(sys.stderr)))

    def render(logger: _Console, name: str, event: EventDict) -> Any:
        people = _STREAM in event
        stream = event.pop(_STREAM, None)
        if quiet and not people and event["level"] == "info":  # -q: warnings and above
            raise structlog.DropEvent
        if not as_json:  # for pipelines (JSON, the log file), not for people on a console
            for key in ("version", "command", "pid"):
                event.pop(key, None)
        text = event["text"] if people and not as_json else events(logger, name, event)
        return (text,), {"file": stream}

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _stamp_and_file,
            render,
        ],
        # The log file gets every record at INFO and above, even with -q on the console.
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=lambda *names: _Console(),
        cache_logger_on_first_use=False,
    )

