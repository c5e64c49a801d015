"""Counts written for people: "1 ID", "2 IDs", "1 batch", "3 batches"."""

from __future__ import annotations

_PLURALS = {"batch": "batches", "retry": "retries", "ID": "IDs"}


def counted(n: int, noun: str) -> str:
    """``n`` with thousands separators and *noun* in the form the count takes. *noun* may
    carry words before it ("invalid line"): only the last word changes."""
    if n == 1:
        return f"1 {noun}"
    head, _, last = noun.rpartition(" ")
    plural = _PLURALS.get(last, last + "s")
    return f"{n:,} {head + ' ' if head else ''}{plural}"
