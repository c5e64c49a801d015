"""The plan put to the operator, and their yes before anything is sent (docs/cli.md)."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bulkdelete.engine import StopRequest, race
from bulkdelete.errors import ConfirmationRefused
from bulkdelete.job import Plan
from bulkdelete.wording import counted


def describe_plan(plan: Plan) -> list[str]:
    """The plan as lines for people: the confirmation and --dry-run print the same."""
    what = "finished" if plan.finished else "resume" if plan.resumed else "new job"
    column = plan.column.describe()
    this_run = (
        "sends nothing: the job is finished" if plan.finished
        else f"deletes {counted(plan.ids_this_run, 'ID')} "
        f"({counted(plan.ids_remaining, 'ID')} "
        f"{'remains' if plan.ids_remaining == 1 else 'remain'} in the job)"
    )
    lines = [
        f"input:      {plan.input} ({plan.format}{', ' + column if column else ''})",
        f"target:     account {plan.account_id} at {plan.host}"
        + (f" ({plan.target_from})" if plan.target_from else ""),
        f"id type:    {plan.id_type}",
        f"IDs:        {plan.ids_total:,} valid{_repeats(plan.ids_duplicate)}, "
        f"{counted(plan.lines_invalid, 'invalid line')}, "
        f"{counted(plan.batches_total, 'batch')} ({what})",
        f"this run:   {this_run}",
    ]
    if plan.preflight:
        lines.append(f"preflight:  {plan.preflight}")
    for line, reason in plan.invalid_samples[:5]:
        lines.append(f"  invalid line {line}: {reason}")
    if plan.lines_invalid:
        lines.append(f"  every invalid line is listed in the checkpoint folder's invalid.jsonl"
                     f"{'' if plan.resumed else ' once the job starts'}")
    return lines


def _repeats(count: int) -> str:
    return f" ({count:,} of them repeats of an earlier ID)" if count else ""


class Confirmation:
    """Asks on the terminal; ``--yes`` skips it, and off a terminal it is refused.

    A stop requested while the question waits (Ctrl-C) is a "no", so ``stop`` is watched.
    """

    def __init__(
        self, *, assume_yes: bool, stop: StopRequest | None = None,
        stdin: TextIO | None = None, out: TextIO | None = None,
    ) -> None:
        self._assume_yes = assume_yes
        self._stop = stop
        self._stdin = stdin or sys.stdin
        self._out = out or sys.stderr

    async def __call__(self, plan: Plan) -> None:
        if self._assume_yes:
            return
        if not (self._stdin.isatty() and self._out.isatty()):
            raise ConfirmationRefused(
                "refusing to delete without confirmation: not running on a terminal. "
                "Check the plan with --dry-run, then pass --yes"
            )
        for line in describe_plan(plan):
            print(line, file=self._out)
        print(
            f"Deletion is irreversible. Type the account ID ({plan.account_id}) or 'yes' "
            "to proceed: ", end="", file=self._out, flush=True,
        )
        answer = await self._answer()
        if answer is None:
            print(file=self._out)  # end the prompt's line before the refusal is said
            raise ConfirmationRefused("interrupted at the confirmation; nothing was sent")
        if answer.strip() not in {plan.account_id, "yes"}:
            raise ConfirmationRefused("not confirmed; nothing was sent")

    async def _answer(self) -> str | None:
        if self._stop is None:
            return await _read_line(self._stdin)
        return await race(_read_line(self._stdin), self._stop.event)


async def _read_line(stream: TextIO) -> str:
    """Read a line without blocking the event loop, so signals are still handled."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def ready() -> None:
        if not future.done():
            future.set_result(stream.readline())

    try:
        fileno = stream.fileno()
        loop.add_reader(fileno, ready)
    except (OSError, ValueError, NotImplementedError):
        return await asyncio.to_thread(stream.readline)
    try:
        return await future
    finally:
        loop.remove_reader(fileno)
