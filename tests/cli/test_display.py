"""The display: progress read only through the snapshot it is given, and the confirmation
(what it shows, what it accepts, and that it never asks off a terminal)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from bulkdelete.cli.display import Display, _interval_from_env, describe_plan
from bulkdelete.errors import ConfirmationRefused
from bulkdelete.job import Snapshot
from tests.cli.doubles import Terminal, a_plan


def snap(deleted: int = 0, failed: int = 0, **fields: Any) -> Snapshot:
    base = Snapshot(ids_deleted=deleted, ids_failed=failed, requests=0, retries=0, throttled=0,
                    in_flight=0, limit=3, ceiling=3)
    return dataclasses.replace(base, **fields)


@pytest.fixture(autouse=True)
def _plain_structlog(monkeypatch: pytest.MonkeyPatch) -> None:
    structlog.reset_defaults()
    monkeypatch.setenv("BULKDELETE_PROGRESS_INTERVAL", "1e-9")  # off a terminal, every tick


def test_off_a_terminal_it_logs_progress_from_each_new_snapshot() -> None:
    snapshots = iter([snap(100, 2, in_flight=2, limit=2, throttled=4),
                      snap(300, 2, in_flight=3, limit=3, throttled=5)])
    display = Display(show_progress=True, out=io.StringIO())
    with capture_logs() as events:
        display.started(a_plan(), lambda: next(snapshots), done_before=50)
        display.tick()
        display.tick()
        display.finished()
    progress = [e for e in events if e["event"] == "progress"]
    assert [(e["done"], e["in_flight"], e["concurrency"], e["throttled"], e["failed"])
            for e in progress] == [(152, 2, 2, 4, 2), (352, 3, 3, 5, 2)]
    assert all(e["total"] == 1_000 for e in progress)


def test_no_progress_shows_nothing() -> None:
    out = io.StringIO()
    display = Display(show_progress=False, out=out)
    with capture_logs() as events:
        display.started(a_plan(), lambda: snap(10), done_before=0)
        display.tick()
        display.finished()
    assert events == []
    assert out.getvalue() == ""


def test_a_tick_before_the_run_starts_reads_nothing() -> None:
    Display(show_progress=True, out=io.StringIO()).tick()


def test_on_a_terminal_the_bar_shows_the_snapshot() -> None:
    out = Terminal()
    display = Display(show_progress=True, out=out)
    display.started(a_plan(), lambda: snap(600, 7, in_flight=2, limit=2, ceiling=3,
                                           throttled=9), done_before=0)
    display.tick()
    display.finished()
    shown = out.getvalue()
    assert "in flight 2/2 (max 3)" in shown
    assert "429s 9" in shown
    assert "failed 7" in shown
    assert " 607" in shown  # done before + this run


@pytest.mark.parametrize(("raw", "expected"), [("", 10.0), ("2.5", 2.5), ("x", 10.0),
                                           ("0", 10.0), ("-1", 10.0)])
def test_the_log_interval_comes_from_the_environment(
    raw: str, expected: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BULKDELETE_PROGRESS_INTERVAL", raw)
    assert _interval_from_env() == expected


def test_failures_and_429s_count_for_the_whole_job() -> None:
    """Off a terminal too, ``failed`` and ``throttled`` add what the job had before this
    run to this run's counts, like ``done``."""
    display = Display(show_progress=True, out=io.StringIO())
    with capture_logs() as events:
        display.started(a_plan(), lambda: snap(100, 2, throttled=4), done_before=500,
                        failed_before=7, throttled_before=30)
        display.tick()
    (progress,) = [e for e in events if e["event"] == "progress"]
    assert (progress["done"], progress["failed"], progress["throttled"]) == (602, 9, 34)


def test_a_bar_is_not_drawn_when_not_allowed() -> None:
    """``bar=False`` (``--log-format json``): a terminal gets progress events instead,
    so every line stays JSON."""
    out = Terminal()
    display = Display(show_progress=True, out=out, bar=False)
    with capture_logs() as events:
        display.started(a_plan(), lambda: snap(10), done_before=0)
        display.tick()
        display.finished()
    assert out.getvalue() == ""
    assert [e["event"] for e in events] == ["progress"]


def test_the_bar_formats_its_numbers_and_abandon_ends_it() -> None:
    """Done/total with thousands separators; ``abandon`` (a second Ctrl-C) stops the bar
    so its line is ended."""
    out = Terminal()
    display = Display(show_progress=True, out=out)
    display.started(a_plan(), lambda: snap(600, 0), done_before=0)
    display.tick()
    display.abandon()
    display.abandon()  # twice is harmless
    assert "600/1,000" in out.getvalue()


@pytest.mark.parametrize("answer", ["yes\n", "ACC-1\n", "  yes  \n"])
async def test_the_account_id_or_yes_proceeds(answer: str) -> None:
    out = Terminal()
    await Display(show_progress=False, ask=True, stdin=Terminal(answer), out=out).confirm(a_plan())
    shown = out.getvalue()
    assert "account ACC-1 at in1.api.clevertap.com" in shown
    assert "irreversible" in shown


@pytest.mark.parametrize("answer", ["no\n", "\n", "", "ACC-2\n"])
async def test_anything_else_refuses(answer: str) -> None:
    confirm = Display(show_progress=False, ask=True, stdin=Terminal(answer), out=Terminal())
    with pytest.raises(ConfirmationRefused, match="not confirmed"):
        await confirm.confirm(a_plan())


async def test_yes_flag_asks_nothing_but_a_terminal_still_sees_the_plan() -> None:
    """--yes on a terminal: the plan is shown (what is about to go), nothing is asked."""
    stdin, out = Terminal("no\n"), Terminal()
    await Display(show_progress=False, stdin=stdin, out=out).confirm(a_plan())
    assert out.getvalue().splitlines() == describe_plan(a_plan())
    assert stdin.tell() == 0


async def test_yes_flag_off_a_terminal_prints_no_plan() -> None:
    out = io.StringIO()
    await Display(show_progress=False, stdin=io.StringIO(), out=out).confirm(a_plan())
    assert out.getvalue() == ""


@pytest.mark.parametrize(("tty_in", "tty_out"), [(False, True), (True, False), (False, False)])
async def test_off_a_terminal_it_refuses_without_asking(tty_in: bool, tty_out: bool) -> None:
    stdin = Terminal("yes\n") if tty_in else io.StringIO("yes\n")
    out = Terminal() if tty_out else io.StringIO()
    with pytest.raises(ConfirmationRefused, match="--yes"):
        await Display(show_progress=False, ask=True, stdin=stdin, out=out).confirm(a_plan())
    assert out.getvalue() == ""


class _PipeTerminal(io.TextIOWrapper):
    """The read end of a pipe that says it is a terminal: nothing arrives until written."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def pipe() -> Iterator[tuple[_PipeTerminal, int]]:
    read_fd, write_fd = os.pipe()
    terminal = _PipeTerminal(io.BufferedReader(io.FileIO(read_fd, "r")), encoding="utf-8")
    yield terminal, write_fd
    terminal.close()
    os.close(write_fd)


async def test_a_stop_while_waiting_is_a_no(pipe: tuple[_PipeTerminal, int]) -> None:
    """Ctrl-C at the prompt ends it at once: the answer is never awaited."""
    stdin, _ = pipe
    confirm = Display(show_progress=False, ask=True, stdin=stdin, out=Terminal())
    asyncio.get_running_loop().call_later(0.05, confirm.stop.request, 130, "SIGINT")
    with pytest.raises(ConfirmationRefused, match="interrupted"):
        await asyncio.wait_for(confirm.confirm(a_plan()), timeout=10)


async def test_an_answer_through_the_event_loop(pipe: tuple[_PipeTerminal, int]) -> None:
    """A real file descriptor is read when it is ready, without a thread."""
    stdin, write_fd = pipe
    confirm = Display(show_progress=False, ask=True, stdin=stdin, out=Terminal())
    asyncio.get_running_loop().call_later(0.05, os.write, write_fd, b"yes\n")
    await asyncio.wait_for(confirm.confirm(a_plan()), timeout=10)


def test_the_plan_shows_at_most_five_invalid_lines() -> None:
    samples = [(n, "blank") for n in range(1, 9)]
    lines = describe_plan(a_plan(lines_invalid=8, invalid_samples=samples, resumed=True))
    assert sum(line.startswith("  invalid line ") for line in lines) == 5
    assert any("(resume)" in line for line in lines)
    assert any("8 invalid lines" in line for line in lines)


@pytest.mark.parametrize(("duplicate", "blank", "repeats", "blanks"), [
    (0, 0, "", ""),
    (1, 0, " (1 of them a repeat of an earlier ID: 2,320 distinct)", ""),
    (321, 7, " (321 of them repeats of an earlier ID: 2,000 distinct)", ", 7 blank"),
])
def test_the_plan_and_the_summary_say_repeats_and_blanks_in_the_same_words(
    duplicate: int, blank: int, repeats: str, blanks: str,
) -> None:
    """One rule for the repeats and the blanks, in the plan and in the summary."""
    from bulkdelete.checkpoint import Binding, State, Totals
    from bulkdelete.report import build_report, summary_lines

    plan = describe_plan(a_plan(ids_total=2_321, lines_invalid=2, ids_duplicate=duplicate,
                                lines_blank=blank))
    assert plan[3] == f"IDs:        2,321 valid{repeats}{blanks}, 2 invalid lines, 10 batches " \
        "(new job)"
    totals = Totals(ids_total=2_321, lines_invalid=2, batches_total=24,
                    ids_duplicate=duplicate, lines_blank=blank)
    state = State(binding=Binding("f", "lines", None, 100, "guid", "A", "h"), totals=totals)
    assert summary_lines(build_report(state, exit_code=None))[0] == (
        f"job incomplete (0 of 2,321 handled): 0 deleted, 0 failed, 2 invalid lines{blanks}, "
        f"of 2,321 IDs{repeats}")


@pytest.mark.parametrize(("kept", "said"), [
    ((), "discarded"),
    (("still_present-1.txt", "still_present-2.txt"), "discarded; 2 still-present lists verify "
     "handed out stay (another job may read them): still_present-1.txt, still_present-2.txt"),
])
def test_a_restart_plan_says_what_goes_and_which_lists_stay(
    kept: tuple[str, ...], said: str,
) -> None:
    lines = describe_plan(a_plan(restart=kept))
    assert ("restart:    the job starts over: its progress, verify.json and verify/ are "
            + said) in lines
    assert not any(line.startswith("restart:") for line in describe_plan(a_plan()))


@pytest.mark.parametrize(("rate", "shown"), [(0.0, "–"), (0.0033, "0.0033"), (0.43, "0.43"),
                                             (7.81, "7.8"), (12.4, "12"), (1234.5, "1,234")])
def test_a_rate_is_never_a_rounded_zero(rate: float, shown: str) -> None:
    from bulkdelete.report import per_second

    assert per_second(rate) == shown


def test_a_verify_labels_its_counts_gone_present_unclear() -> None:
    """A check's failures are present profiles or unclear answers, never "failed"; the
    counts before this run (a resumed --all) are added in."""
    display = Display(show_progress=True, out=io.StringIO(), label="checking")
    with capture_logs() as events:
        display.started(a_plan(), lambda: snap(90, 10, outcomes=Counter(present=4)),
                        done_before=100, failed_before=5, present_before=2)
        display.tick()
    (progress,) = [e for e in events if e["event"] == "progress"]
    assert "failed" not in progress
    assert (progress["gone"], progress["present"], progress["unclear"]) == (185, 6, 9)
    out = Terminal()
    bar = Display(show_progress=True, out=out, label="checking")
    bar.started(a_plan(), lambda: snap(7, 3, outcomes=Counter(present=2)), done_before=0)
    bar.tick()
    bar.abandon()
    assert "gone 7 · present 2 · uncl" in out.getvalue()  # a narrow terminal cuts the rest
    assert "failed" not in out.getvalue()


@pytest.mark.parametrize("no_color", ["", "1"])
def test_under_no_color_the_bar_still_draws_the_progress(
    no_color: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without colour rich draws its bar's track as blanks, so an empty bar: under NO_COLOR
    the bar is text that shows how far the run has come."""
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setenv("COLUMNS", "120")  # the bar's room on a terminal of 120 columns
    out = Terminal()
    display = Display(show_progress=True, out=out)
    display.started(a_plan(), lambda: snap(500), done_before=0)  # half of the plan's 1,000
    display.finished()
    assert ("[##########----------]" in out.getvalue()) == bool(no_color)


def test_the_baselines_progress_counts_absent_not_gone() -> None:
    """Before the delete, a profile not found never existed (as far as the account says):
    the baseline's lookups count it absent; "gone" would claim an erasure."""
    display = Display(show_progress=True, out=io.StringIO())
    with capture_logs() as events:
        display.started(a_plan(label="baseline"), lambda: snap(90, 10,
                        outcomes=Counter(present=4)), done_before=0)
        display.tick()
    (progress,) = [e for e in events if e["event"] == "progress"]
    assert progress["stage"] == "baseline"
    assert "gone" not in progress
    assert (progress["absent"], progress["present"], progress["unclear"]) == (90, 4, 6)
