"""A verify's check (the engine's :class:`Check`), and the shapes its "gone" answers rested
on, counted for verify.json (docs/verify.md)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any

from bulkdelete.answer import Verdict, gone_shape, verdict
from bulkdelete.client import BoundClient, Result
from bulkdelete.engine import Check, OperationFactory
from bulkdelete.verify.output import Findings

Lookup = Callable[[str], Awaitable[Result]]

# A server that words each answer its own way (a request number, an ID in a form the mask
# does not know) would otherwise make one shape per lookup: a listing as long as the
# verify, in memory and in every checkpoint. Past this many, shapes are counted together.
MAX_SHAPES = 20
OTHER_SHAPES = {"http": 200, "other": f"answers past the first {MAX_SHAPES} distinct "
                                      "shapes, counted together; their texts not kept"}


class GoneShapes:
    """Seeded with an earlier run's listing when a verify resumes."""

    def __init__(self, earlier: Iterable[dict[str, Any]] = ()) -> None:
        self._counts: Counter[str] = Counter()
        for entry in earlier:
            if isinstance(entry, dict):
                shape = {k: v for k, v in entry.items() if k != "count"}
                count = entry.get("count", 0)
                self._add(shape, count if isinstance(count, int) else 0)

    def counting(self, lookup: Lookup) -> Lookup:
        async def counted(ident: str) -> Result:
            result = await lookup(ident)
            if verdict(result) is Verdict.GONE:
                self._add(gone_shape(result), 1)
            return result

        return counted

    def _add(self, shape: dict[str, Any], count: int) -> None:
        key = _key(shape)
        if key not in self._counts and len(self._counts) >= MAX_SHAPES:
            key = _key(OTHER_SHAPES)
        self._counts[key] += count

    def listing(self) -> list[dict[str, Any]]:
        return [{**json.loads(key), "count": count}
                for key, count in self._counts.most_common()]


def _key(shape: dict[str, Any]) -> str:
    return json.dumps(shape, sort_keys=True, ensure_ascii=False)


def check_operation(client: BoundClient, *, shapes: GoneShapes,
                    findings: Findings | None = None) -> OperationFactory:
    """With ``findings``, each batch tells them which batch found its IDs not gone."""
    return partial(Check, shapes.counting(client.profile), is_gone=_is_gone,
                   note=None if findings is None else findings.note)


def _is_gone(result: Result) -> bool:
    return verdict(result) is Verdict.GONE
