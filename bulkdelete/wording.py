"""Counts written for people: "1 ID", "2 IDs", "1 batch", "3 batches"."""

from __future__ import annotations

_PLURALS = {"batch": "batches", "retry": "retries", "ID": "IDs"}


def counted(n: int, noun: str) -> str:
    """Only the last word of *noun* ("invalid line") takes the plural."""
    if n == 1:
        return f"1 {noun}"
    head, _, last = noun.rpartition(" ")
    plural = _PLURALS.get(last, last + "s")
    return f"{n:,} {head + ' ' if head else ''}{plural}"
