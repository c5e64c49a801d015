"""The reduced csv state machine ends a line where the csv module does."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.reader import csvscan
from tests.strategies import (
    CSV_LINE,
)


def _csv_verdict(line: str) -> str:
    """What the csv module does with *line* at a record's start: ``"error"``, ``"more"``
    (it asks for another line: inside quotes) or ``"done"``."""
    pulled: list[str] = []

    def source() -> Iterator[str]:
        yield line
        pulled.append("more")
        yield '"\n'  # closes the quote it must be in

    try:
        next(csv.reader(source(), strict=True))
    except csv.Error:
        return "more" if pulled else "error"
    return "more" if pulled else "done"


@settings(max_examples=1000, deadline=None)
@given(line=CSV_LINE, cut=st.integers(0, 40))
def test_state_machine_agrees_with_the_csv_module(line: str, cut: int) -> None:
    """The reduced state machine ends a line where csv does: inside quotes exactly when csv
    asks for another line, broken exactly when csv raises; and it reads a line in pieces as
    it reads it whole (pieces split on any byte, as read blocks are)."""
    data = line.encode()
    state = csvscan.state_after(data, csvscan.FIELD_START)
    verdict = _csv_verdict(line)
    assert (state == csvscan.QUOTED) == (verdict == "more")
    assert (state == csvscan.BROKEN) == (verdict == "error")
    head, tail = data[:cut], data[cut:]
    middle = csvscan.state_after(head, csvscan.FIELD_START)
    split = middle if middle == csvscan.BROKEN else csvscan.state_after(tail, middle)
    assert split == state
