"""Counts for people take the singular form at one (issue: "1 batches", "1 IDs")."""

from __future__ import annotations

import pytest

from bulkdelete.wording import counted


@pytest.mark.parametrize(("n", "noun", "text"), [
    (1, "ID", "1 ID"), (0, "ID", "0 IDs"), (2_500, "ID", "2,500 IDs"),
    (1, "batch", "1 batch"), (3, "batch", "3 batches"),
    (1, "invalid line", "1 invalid line"), (24, "invalid line", "24 invalid lines"),
    (1, "retry", "1 retry"), (2, "retry", "2 retries"), (1, "run", "1 run"),
])
def test_counted(n: int, noun: str, text: str) -> None:
    assert counted(n, noun) == text
