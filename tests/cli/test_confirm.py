"""The confirmation: what it shows, what it accepts, and that it never asks off a terminal."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator

import pytest

from bulkdelete.cli.display import Display, describe_plan
from bulkdelete.errors import ConfirmationRefused
from tests.cli.doubles import Terminal, a_plan


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


async def test_yes_flag_asks_nothing_and_the_run_starts_unasked() -> None:
    stdin, out = Terminal("no\n"), Terminal()
    await Display(show_progress=False, stdin=stdin, out=out).confirm(a_plan())
    assert out.getvalue() == ""
    assert stdin.tell() == 0


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
