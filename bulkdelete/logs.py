"""structlog set-up: one event per notable thing (docs/cli.md), console or JSON lines.

Events go to stderr (looked up at each write, so a live progress bar that redirects
stderr keeps them above the bar) and, with ``--log-file``, as JSON lines to that file too.

Lines for people (the summary, the plan, an error) go through :func:`say`: plain text on
a console, one JSON record per message with ``--log-format json``, and a JSON record in
the log file either way. Every record, event or message, has ``level``, ``timestamp``
(:func:`utc_timestamp`, the one format the tool writes anywhere) and, during a run, that
run's ``run_id`` (docs/cli.md, "Logs").

A log file that cannot be written (a full disk, ``/dev/full``) is an I/O failure like the
checkpoint's: the write is dropped, the file closed, and whoever watches
(:func:`on_failure`: a running command) stops its run cleanly and says so in one line
(:func:`failure_message`). Logging itself never raises into the code that logs, so a
failure can never leave a batch half recorded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import structlog

from bulkdelete.durable import open_private
from bulkdelete.errors import UsageError


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 in UTC with a ``Z`` and milliseconds, e.g. ``2026-01-31T02:03:04.567Z``:
    the format of every timestamp in logs, messages, the checkpoint and the report."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def normalize_timestamp(text: str) -> str:
    """A stored timestamp (an older checkpoint may hold ``+00:00`` ones) in the one
    format; left as it is when it does not parse."""
    try:
        return utc_timestamp(datetime.fromisoformat(text))
    except ValueError:
        return text


class _Output:
    """Where :func:`say` writes; set by :func:`configure`."""

    json_mode = False
    file: TextIO | None = None
    path: Path | None = None
    failure: OSError | None = None  # the log file's first failed write
    watchers: list[Callable[[], None]] = []  # noqa: RUF012 -- one list, process-wide


def on_failure(watcher: Callable[[], None]) -> Callable[[], None]:
    """Call ``watcher`` (from whatever thread logged) when a log write fails; returns the
    function that stops watching."""
    _Output.watchers.append(watcher)
    return lambda: _Output.watchers.remove(watcher)


def failure_message() -> str | None:
    """What went wrong with the log file, in words, or None when nothing did."""
    failure = _Output.failure
    if failure is None:
        return None
    return f"cannot write the log file {_Output.path}: {failure.strerror or failure}"


def json_mode() -> bool:
    """Whether messages are JSON records (``--log-format json``)."""
    return _Output.json_mode


def say(*lines: str, event: str = "message", level: str = "info",
        stream: TextIO | None = None, **fields: Any) -> None:
    """Lines for people on ``stream`` (default stderr), never silenced by ``-q``; with
    ``--log-format json`` one JSON record instead, so every line stays parseable."""
    record = {"event": event, "level": level, "timestamp": utc_timestamp(),
              **structlog.contextvars.get_contextvars(), **fields, "text": "\n".join(lines)}
    if _Output.file is not None:
        _write_line(_Output.file, record)
    out = stream or sys.stderr
    if _Output.json_mode:
        print(json.dumps(record, default=str), file=out, flush=True)
        return
    for line in lines:
        print(line, file=out, flush=True)


def wants_json(argv: list[str]) -> bool:
    """Whether a command line asks for JSON output, judged before (or without) parsing it,
    so that even a usage error can be reported as JSON."""
    for i, arg in enumerate(argv):
        if arg == "--":
            return False
        if arg.startswith("--log-format="):
            return arg.split("=", 1)[1] == "json"
        if arg == "--log-format" and i + 1 < len(argv):
            return argv[i + 1] == "json"
    return False


class _Sink:
    """A structlog logger printing each rendered event to whatever ``sys.stderr`` is at
    that moment (rich's live display swaps it while the bar is up)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


class _Factory:
    def __init__(self, sink: _Sink) -> None:
        self.sink = sink

    def __call__(self, *args: Any) -> _Sink:
        return self.sink


def _write_line(file: TextIO, record: Mapping[str, Any]) -> None:
    try:
        file.write(json.dumps(record, default=str) + "\n")
        file.flush()
    except OSError as exc:
        _failed(file, exc)


def _failed(file: TextIO, exc: OSError) -> None:
    """The log file is given up at its first failed write; the watchers are told once."""
    if _Output.file is not file:
        return  # already given up (another thread's write failed first)
    _Output.file, _Output.failure = None, exc
    with contextlib.suppress(OSError):
        file.close()  # what is still buffered cannot be written either
    for watcher in list(_Output.watchers):
        watcher()


def _tee_to_file(
    _logger: Any, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Write every event as a JSON line to the log file before the console renders it."""
    if _Output.file is not None:
        _write_line(_Output.file, event)
    return event


def _add_timestamp(
    _logger: Any, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    event["timestamp"] = utc_timestamp()
    return event


def configure(
    *, fmt: str = "console", log_file: Path | None = None, quiet: bool = False,
    stderr_level: int = logging.INFO,
) -> None:
    file: TextIO | None = None
    if log_file is not None:
        file = _open_log(log_file)
    reset(json_mode=fmt == "json")
    _Output.file, _Output.path = file, log_file
    level = logging.WARNING if quiet else stderr_level
    renderer: structlog.types.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    # The file gets every event at INFO and above, even with -q on the console.
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _add_timestamp,
        _tee_to_file,
        _drop_below(level),
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=_Factory(_Sink()),
        cache_logger_on_first_use=False,
    )


def _open_log(path: Path) -> TextIO:
    """The log file, appended to; a missing folder is a usage error (exit 2), never created
    behind the operator's back. A device (``/dev/null``) is written as it is: only a file
    of the tool's own is made owner-only."""
    if not path.parent.is_dir():
        raise UsageError(f"--log-file {path}: the folder {path.parent} does not exist; "
                         "create it first or choose another path")
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    try:
        device = not stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        device = False
    fd = os.open(path, flags | os.O_CLOEXEC) if device else open_private(path, flags)
    return open(fd, "a", encoding="utf-8")


def reset(*, json_mode: bool = False) -> None:
    """No log file (an open one is closed), and messages as plain text or JSON: where
    each command starts (before its options are parsed, so a usage error can already be
    JSON)."""
    if _Output.file is not None:
        with contextlib.suppress(OSError):  # its failure, if any, was already reported
            _Output.file.close()
    _Output.json_mode, _Output.file, _Output.path = json_mode, None, None
    _Output.failure = None


def _drop_below(level: int) -> structlog.types.Processor:
    names = logging.getLevelNamesMapping()

    def processor(
        _logger: Any, _name: str, event: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        if names.get(str(event.get("level", "info")).upper(), logging.INFO) < level:
            raise structlog.DropEvent
        return event

    return processor
