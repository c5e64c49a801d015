"""structlog set-up: one event per notable thing (docs/cli.md), console or JSON lines.

Events go to stderr (looked up at each write, so a live progress bar that redirects
stderr keeps them above the bar) and, with ``--log-file``, as JSON lines to that file too.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog

from bulkdelete.durable import open_private


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


def _tee_to_file(file: TextIO | None) -> structlog.types.Processor:
    """Write every event as a JSON line to the log file before the console renders it."""

    def processor(
        _logger: Any, _name: str, event: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        if file is not None:
            file.write(json.dumps(event, default=str) + "\n")
            file.flush()
        return event

    return processor


def configure(
    *, fmt: str = "console", log_file: Path | None = None, quiet: bool = False,
    stderr_level: int = logging.INFO,
) -> None:
    file: TextIO | None = None
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fd = open_private(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        file = open(fd, "a", encoding="utf-8")  # noqa: SIM115 -- lives for the process
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
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _tee_to_file(file),
        _drop_below(level),
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=_Factory(_Sink()),
        cache_logger_on_first_use=False,
    )


def _drop_below(level: int) -> structlog.types.Processor:
    names = logging.getLevelNamesMapping()

    def processor(
        _logger: Any, _name: str, event: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        if names.get(str(event.get("level", "info")).upper(), logging.INFO) < level:
            raise structlog.DropEvent
        return event

    return processor
