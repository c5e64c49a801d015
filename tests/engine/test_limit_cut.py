"""``--limit`` cuts the batch it ends in (docs/checkpoint.md, ``head_done``): over any series
of canaries of any size, resumed from the saved state each time, every run handles exactly
what it was told (or what remained), and the job ends with every ID handled once and only
once, rejected ones in the failed file, batch numbers never shifted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.checkpoint import Binding, Progress, State, Totals
from bulkdelete.client import SUCCESS, Result
from tests.engine.rig import REJECT, FakeDeleter, make_batches, make_settings, rig


def _saved(progress: Progress, batches: int, ids: int) -> Progress:
    """The progress as a resume loads it: through the snapshot's JSON form."""
    state = State(binding=Binding("f", "lines", None, 100, "guid", "A", "h"),
                  totals=Totals(ids_total=ids, lines_invalid=0, batches_total=batches),
                  progress=progress)
    loaded = State.from_json(state.to_json(1))[0].progress
    loaded.carry_over(killed=False)
    return loaded


@settings(deadline=None)
@given(count=st.integers(1, 6), last=st.integers(1, 100),
       limits=st.lists(st.integers(1, 260), max_size=6),
       poison=st.sets(st.integers(0, 599), max_size=4))
def test_any_series_of_canaries_handles_every_id_exactly_once(
    count: int, last: int, limits: list[int], poison: set[int],
) -> None:
    batches = make_batches(count, last=last)
    ids = [i for b in batches for i in b.ids]
    rejected = {ids[n] for n in poison if n < len(ids)}

    def answer(sent: Sequence[str], _n: int, _attempt: int) -> Result:
        return REJECT if rejected & set(sent) else SUCCESS

    async def scenario() -> None:
        deleter, progress, failed = FakeDeleter(answer), Progress(), []
        for limit in [*limits, None]:
            before = progress.ids_done
            run = rig(deleter, make_settings(limit=limit), progress=progress)
            end = await run.run(batches)
            failed += run.failed_ids()
            assert progress.ids_done - before == min(limit or len(ids), len(ids) - before)
            assert end.limit_reached == (limit is not None and before + limit <= len(ids))
            assert all(0 < head < len(batches[seq].ids) and not progress.is_done(seq)
                       for seq, head in progress.head_done.items())
            progress = _saved(progress, len(batches), len(ids))
        assert (progress.watermark, progress.head_done) == (len(batches), {})
        assert (progress.ids_deleted, progress.ids_failed) == (len(ids) - len(rejected),
                                                               len(rejected))
        assert sorted(failed) == sorted(rejected)
        assert deleter.acknowledged == {i: 1 for i in ids if i not in rejected}

    asyncio.run(scenario())
