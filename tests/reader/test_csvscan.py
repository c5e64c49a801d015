"""The reduced csv state machine ends a line where the csv module does."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.reader import csv as csv_reader
from bulkdelete.reader.csvhead import CANDIDATES
from tests.strategies import (
    CSV_LINE,
)


def _csv_verdict(line: str, delimiter: str) -> str:
    """What the csv module, with its default (lenient) rules, does with *line* at a record's
    start: ``"error"``, ``"more"`` (it asks for another line: inside quotes) or ``"done"``."""
    pulled: list[str] = []

    def source() -> Iterator[str]:
        yield line
        pulled.append("more")
        yield '"\n'  # closes the quote it must be in

    try:
        next(csv.reader(source(), delimiter=delimiter))
    except csv.Error:
        return "more" if pulled else "error"
    return "more" if pulled else "done"


@settings(deadline=None)
@given(line=CSV_LINE, cut=st.integers(0, 40), delimiter=st.sampled_from(CANDIDATES))
def test_state_machine_agrees_with_the_csv_module(line: str, cut: int, delimiter: str) -> None:
    """The reduced state machine ends a line where csv does, with its default rules (a bad
    quote is text, as csv reads it unless strict): inside quotes exactly when csv asks for
    another line, broken exactly when csv raises; and it reads a line in pieces as it reads
    it whole (pieces split on any byte, as read blocks are). For every candidate delimiter."""
    line = line.replace(",", delimiter)
    data = line.encode()
    state = csv_reader.state_after(data, csv_reader.FIELD_START, delimiter)
    verdict = _csv_verdict(line, delimiter)
    assert (state == csv_reader.QUOTED) == (verdict == "more")
    assert (state == csv_reader.BROKEN) == (verdict == "error")
    head, tail = data[:cut], data[cut:]
    middle = csv_reader.state_after(head, csv_reader.FIELD_START, delimiter)
    split = (middle if middle == csv_reader.BROKEN
             else csv_reader.state_after(tail, middle, delimiter))
    assert split == state
