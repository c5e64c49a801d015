"""The crash-resume invariants of the checkpoint (docs/guarantees.md §2, §4), checked with
hypothesis over completion orders and crash points, and the re-send counts a resume keeps."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bulkdelete.checkpoint import (
    CheckpointStore,
)
from bulkdelete.checkpoint.journal import frame
from tests.checkpoint.helpers import (
    done_record,
    journals,
    line_of,
    load,
    make_state,
    mark_done,
    mark_sent,
    offset_of,
    opened_store,
)


def _first_run(
    directory: Path, sizes: list[int], order: list[int], k: int, in_flight: int,
    snapshot_plan: list[int], torn: bool,
) -> None:
    """The run that gets killed: lock, create, then for each of the first k completions a
    sent and a done record (updating the live state, as the pipeline does). snapshot_plan[i]
    says what to do before completion i: 0 nothing, 1 prepare a snapshot, 2 install the
    prepared one, 3 both. ``in_flight`` batches after them are sent but never done; with
    ``torn``, the next done record is cut off mid-write. Then "kill -9": file descriptors
    closed, no final snapshot."""
    store = CheckpointStore(directory)
    store.lock()
    state = make_state(batches_total=len(sizes), ids_total=sum(sizes))
    store.create(state)
    p = state.progress
    pending: tuple[bytes, int] | None = None
    for i, seq in enumerate(order[:k]):
        action = snapshot_plan[i] if i < len(snapshot_plan) else 0
        if action in (1, 3) and pending is None:
            pending = store.prepare_snapshot(state)
        if action in (2, 3) and pending is not None:
            store.snapshot(*pending)
            pending = None
        if mark_sent(p, seq):
            store.append({"k": "s", "s": seq})
        failed = 1 if seq % 3 == 0 else 0
        mark_done(p, seq, offset_of(seq), line_of(seq), sizes[seq] - failed, failed,
                    {"HTTP 400 rejected": 1} if failed else None)
        store.append(done_record(seq, offset_of(seq), line_of(seq),
                                         sizes[seq] - failed, failed,
                                         {"HTTP 400 rejected": 1} if failed else None))
    for seq in order[k:k + in_flight]:
        if mark_sent(p, seq):
            store.append({"k": "s", "s": seq})
    if torn and k < len(order):
        seq = order[k]
        record = frame({"k": "d", "s": seq, "o": offset_of(seq), "l": line_of(seq),
                         "n": sizes[seq], "f": 0})
        cut = max(1, len(record) // 2)
        with journals(directory)[-1].open("ab") as fh:
            fh.write(record[:cut])
    store.close()  # kill -9: no snapshot, nothing flushed beyond what the kernel has


def _resume_and_check(
    directory: Path, sizes: list[int], order: list[int], k: int, in_flight: int
) -> None:
    n = len(sizes)
    durable = order[:k]
    state = load(directory)
    p = state.progress

    expected_deleted = sum(sizes[s] - (1 if s % 3 == 0 else 0) for s in durable)
    expected_failed = sum(1 for s in durable if s % 3 == 0)
    assert (p.ids_deleted, p.ids_failed) == (expected_deleted, expected_failed)
    assert p.reasons.get("HTTP 400 rejected", 0) == expected_failed
    assert p.sent_above == set(order[k:k + in_flight])
    if p.watermark:
        w = p.watermark - 1
        assert p.anchor == (w, offset_of(w), line_of(w))
    assert all(s >= p.watermark for s in p.done_above)

    # The resume: a new store, a new journal, and every batch not done is sent again.
    store = CheckpointStore(directory)
    store.lock()
    state = store.load()
    p = state.progress
    store.resume()
    resent = [s for s in range(n) if not p.is_done(s)]
    assert sorted(resent) == sorted(set(range(n)) - set(durable))
    assert sorted(durable + resent) == list(range(n)), "a batch covered twice or never"
    for seq in resent:
        if mark_sent(p, seq):
            store.append({"k": "s", "s": seq})
        mark_done(p, seq, offset_of(seq), line_of(seq), sizes[seq], 0)
        store.append(done_record(seq, offset_of(seq), line_of(seq), sizes[seq], 0, None))
    store.close()  # killed again right at the end

    final = load(directory).progress
    assert final.watermark == n
    assert final.done_above == {}
    assert final.sent_above == set()
    assert final.ids_deleted + final.ids_failed == sum(sizes)
    assert final.ids_failed == expected_failed
    assert final.anchor == (n - 1, offset_of(n - 1), line_of(n - 1))


@st.composite
def crash_scenarios(draw: st.DrawFn) -> tuple[list[int], list[int], int, int]:
    n = draw(st.integers(min_value=1, max_value=60))
    sizes = draw(st.lists(st.integers(min_value=1, max_value=100), min_size=n, max_size=n))
    order = draw(st.permutations(range(n)))
    k = draw(st.integers(min_value=0, max_value=n))
    in_flight = draw(st.integers(min_value=0, max_value=min(3, n - k)))
    return sizes, list(order), k, in_flight


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=crash_scenarios(), torn=st.booleans())
def test_resume_after_kill_resends_exactly_the_undone_batches(
    scenario: tuple[list[int], list[int], int, int], torn: bool
) -> None:
    """Any completion order, any crash point k (only the first k completions durable, maybe
    a torn record after them): the restored Progress makes a resume re-send exactly the
    batches not among the first k; across both runs each batch is covered exactly once and
    the deleted/failed counts add up."""
    sizes, order, k, in_flight = scenario
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "ckpt"
        _first_run(directory, sizes, order, k, in_flight, [], torn)
        _resume_and_check(directory, sizes, order, k, in_flight)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=crash_scenarios(), torn=st.booleans(), data=st.data())
def test_resume_after_kill_with_snapshots_in_between(
    scenario: tuple[list[int], list[int], int, int], torn: bool, data: st.DataObject
) -> None:
    """Same invariant with prepare_snapshot/snapshot at random points (a prepared snapshot
    may be installed several completions later, or never when the kill comes first):
    journal rotation never loses a record."""
    sizes, order, k, in_flight = scenario
    plan = data.draw(st.lists(st.integers(min_value=0, max_value=3), min_size=k, max_size=k))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "ckpt"
        _first_run(directory, sizes, order, k, in_flight, plan, torn)
        _resume_and_check(directory, sizes, order, k, in_flight)


def test_snapshots_installed_out_of_order_lose_no_record(tmp_path: Path) -> None:
    """Two prepared snapshots whose installs land in the opposite order (the periodic
    snapshot is installed in a worker thread that a cancelled run does not wait for, and
    the final snapshot then runs beside it) must not lose the records journaled between
    the two prepares."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state(batches_total=4)
        store.create(state)
        p = state.progress
        older = store.prepare_snapshot(state)  # captured with nothing done
        mark_done(p, 0, 0, 1, 100, 0)
        # goes to the older snapshot's journal
        store.append(done_record(0, 0, 1, 100, 0, None))
        newer = store.prepare_snapshot(state)
        mark_done(p, 1, 1000, 11, 100, 0)
        store.append(done_record(1, 1000, 11, 100, 0, None))
        store.snapshot(*newer)
        store.snapshot(*older)  # the periodic install finishes last
    restored = load(directory).progress
    assert restored.is_done(0), "batch 0 was durably recorded, then lost"
    assert restored.is_done(1)


def test_re_sends_are_counted_per_earlier_send_and_survive_the_journal(tmp_path: Path) -> None:
    """A batch a killed run sent unrecorded, re-sent by a run that is killed too, then done
    by a third: its IDs count twice as re-sent after a crash (the server saw it three
    times), and the count comes back from the journal alone, without the runs' own
    counters. A batch left by a graceful stop counts apart."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:  # run 1: sends 0 and 1, killed
        state = make_state()
        store.create(state)
        for seq in (0, 1):
            mark_sent(state.progress, seq)
            store.append({"k": "s", "s": seq})
    with opened_store(directory) as store:  # run 2 (after a kill): re-sends 0, killed
        state = store.load()
        state.progress.carry_over(killed=True)
        store.resume()
        store.snapshot(*store.prepare_snapshot(state))
        assert mark_sent(state.progress, 0)
        store.append({"k": "s", "s": 0})
    with opened_store(directory) as store:  # run 3 (after a kill): 0 and 1 done; 2 sent
        state = store.load()
        state.progress.carry_over(killed=True)
        store.resume()
        store.snapshot(*store.prepare_snapshot(state))
        for seq in (0, 1):
            assert mark_sent(state.progress, seq)
            store.append({"k": "s", "s": seq})
            mark_done(state.progress, seq, offset_of(seq), line_of(seq), 100, 0)
            store.append(done_record(seq, offset_of(seq), line_of(seq), 100, 0, None))
        assert state.progress.resent_this_run() == (300, 0)
        mark_sent(state.progress, 2)
        store.append({"k": "s", "s": 2})
    with opened_store(directory) as store:  # run 4 (after a graceful stop): 2 done
        state = store.load()
        assert state.progress.resent_after_crash == 300  # from the journal alone
        state.progress.carry_over(killed=False)
        mark_done(state.progress, 2, offset_of(2), line_of(2), 100, 0)
    assert (state.progress.resent_after_crash, state.progress.resent_after_stop) == (300, 100)
    assert state.progress.resent_this_run() == (0, 100)
