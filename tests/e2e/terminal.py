"""A pseudo-terminal for the CLI (pexpect), shared by the tests of what an operator sees
on a terminal: tests/e2e/test_tty.py and tests/e2e/test_progress_bar.py."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.conftest import cli_env

TERMINAL_MARKS = [
    # Python 3.12+ warns that forking (pexpect's pty) while the fake server's thread runs
    # may deadlock the child; the child only execs, which is the case that is safe.
    pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning"),
]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# Variables that would change how rich renders regardless of the terminal it is given.
RICH_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS",
            "LINES")


class Terminal:
    """``python -m bulkdelete ARGS`` on a 30×120 pseudo-terminal; keeps all it printed."""

    def __init__(self, args: list[str], base_url: str, cwd: Path, timeout: float = 30,
                 **extra_env: str) -> None:
        env = cli_env(base_url, TERM="xterm-256color", **extra_env)
        for name in RICH_ENV:
            env.pop(name, None)
        self.log = io.StringIO()
        self.child: Any = pexpect.spawn(
            sys.executable, ["-m", "bulkdelete", *args], env=env, cwd=str(cwd),
            dimensions=(30, 120), encoding="utf-8", codec_errors="replace", timeout=timeout,
        )
        self.child.logfile_read = self.log

    def expect(self, pattern: str, timeout: float | None = None) -> None:
        self.child.expect(pattern, timeout=timeout if timeout is not None else -1)

    def finish(self, timeout: float = 60) -> int:
        """Wait for the process to end; its exit code."""
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.child.close()
        status = self.child.exitstatus
        assert isinstance(status, int), (status, self.child.signalstatus)
        return status

    def kill(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)

    @property
    def text(self) -> str:
        """Everything shown, ANSI escapes removed."""
        return ANSI.sub("", self.log.getvalue())


def failed_file(source: Path) -> Path:
    return source.with_name(source.name + ".bulkdelete") / "failed.txt"
