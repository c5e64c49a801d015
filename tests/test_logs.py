"""Log records: one timestamp format, JSON detection before parsing, and messages for
people that carry the run's ID and reach the log file."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import structlog

from bulkdelete import logs


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    logs.configure()
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def test_one_timestamp_format() -> None:
    moment = datetime(2026, 1, 31, 2, 3, 4, 567_891, tzinfo=UTC)
    assert logs.utc_timestamp(moment) == "2026-01-31T02:03:04.567Z"
    east = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert logs.utc_timestamp(east) == "2026-01-31T02:03:04.567Z"


@pytest.mark.parametrize(("argv", "expected"), [
    (["delete", "x", "--log-format", "json"], True),
    (["delete", "x", "--log-format=json"], True),
    (["delete", "x", "--log-format", "console"], False),
    (["delete", "x", "--log-format"], False),
    (["delete", "--", "--log-format", "json"], False),
    (["status", "x"], False),
])
def test_wants_json_before_parsing(argv: list[str], expected: bool) -> None:
    assert logs.wants_json(argv) is expected


def test_say_in_json_mode_is_one_record_with_the_run_id_and_in_the_log_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "run.log"
    logs.configure(fmt="json", log_file=log_file, quiet=True)
    with structlog.contextvars.bound_contextvars(run_id="r-1"):
        logs.say("two", "lines", event="summary", ids_total=3)
    out, err = capsys.readouterr()
    assert out == ""
    (record,) = [json.loads(line) for line in err.splitlines()]
    assert record["run_id"] == "r-1"
    assert (record["event"], record["level"], record["text"]) == ("summary", "info",
                                                                   "two\nlines")
    assert json.loads(log_file.read_text()) == record


def test_say_in_console_mode_prints_the_lines_on_the_stream_given(
    capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    logs.configure()
    logs.say("the plan", event="plan", stream=sys.stdout)
    out, err = capsys.readouterr()
    assert (out, err) == ("the plan\n", "")


@pytest.mark.parametrize("no_color", ["", "1"])
def test_log_lines_on_a_terminal_have_colour_unless_no_color(
    no_color: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("NO_COLOR", no_color)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    logs.configure()
    structlog.get_logger().warning("preflight_waiting", why="test")
    shown = terminal.getvalue()
    assert "preflight_waiting" in shown
    assert ("\x1b[" in shown) != bool(no_color)
