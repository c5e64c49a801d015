"""Tests of :func:`bulkdelete.verify.verify_job` against the shipped fake server over
loopback: the counts match the server's own record, the files, the report, the binding; and
the job's deleted IDs read back in the job's own batches."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from aiohttp import web

from bulkdelete import JobFiles, run_job, verify_job
from bulkdelete.checkpoint import Binding, Ledger, State, Totals
from bulkdelete.engine import StopRequest
from bulkdelete.errors import CheckpointMismatch, FatalApiError, InputChanged, UsageError
from bulkdelete.fake import answers
from bulkdelete.fake.answers import ProfileBook
from bulkdelete.lifecycle.plan import binding_for
from bulkdelete.reader import Input
from bulkdelete.reader.guard import fingerprint
from bulkdelete.settings import Secret
from bulkdelete.verify.run import deleted_batches, failed_ids
from tests.conftest import ServerFactory, make_ids, make_settings, read_lines, write_ids

PURGE = 3600.0  # seconds on the fake server's clock, which the test moves by hand


async def test_verify_all_counts_match_the_servers_record(
    tmp_path: Path, fake_server: ServerFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recreated profiles, profiles inside the purge delay and unclear answers (a fail body
    with code 500) against a job with failed IDs: gone/present/unknown are exactly what the
    server holds, the still-present list is exactly the present set, the failed IDs are never
    looked up, and never more than --concurrency lookups were in flight."""
    ids = make_ids(400)
    source = write_ids(tmp_path / "ids.txt", ids)
    # The profile book's clock alone: the purge delay passes at once, whatever the load.
    now = [0.0]
    monkeypatch.setattr(answers, "time", SimpleNamespace(monotonic=lambda: now[0]))
    poison, recreated, unclear = set(ids[10:13]), set(ids[20:25]), set(ids[30:33])
    async with fake_server(purge_delay=PURGE, poison_ids=frozenset(poison),
                           recreated_ids=frozenset(recreated), unclear_ids=frozenset(unclear),
                           latency=0.002) as server:
        settings = make_settings(server.base_url, batch_size=50)
        canary = await run_job(make_settings(server.base_url, batch_size=50, limit=300),
                               JobFiles(input=source))
        assert canary.exit_code == 1  # the poison IDs failed
        now[0] += PURGE  # the first 300 are purged now; the last 100 not
        assert (await run_job(settings, JobFiles(input=source))).exit_code == 1
        result = await verify_job(settings, JobFiles(input=source), sample=None)

        deleted = set(ids) - poison
        present = (recreated | set(ids[300:])) - unclear
        gone = deleted - present - unclear
        s = result.summary
        assert (s["population"], s["checked"]) == (len(deleted), len(deleted))
        assert (s["gone"], s["present"], s["unknown"]) == (len(gone), len(present), len(unclear))
        assert result.exit_code == 1
        assert result.still_present is not None
        assert set(read_lines(result.still_present)) == present
        assert len(read_lines(result.still_present)) == len(present)
        stats = server.stats
        looked_up = {i: n for i, n in stats.looked_up.items() if i in set(ids)}
        assert set(looked_up) == deleted  # the failed IDs are expected to remain
        assert {i for i, n in looked_up.items() if n > 1} == unclear
        assert 1 < stats.lookups_in_flight.peak <= settings.concurrency
        assert stats.throttled == 0

    folder = tmp_path / "ids.txt.bulkdelete"
    assert json.loads((folder / "verify.json").read_text()) == s
    report = json.loads((folder / "report.json").read_text())
    assert report["verify"] == s
    assert report["exit_code"] == 1  # the job's, not the verify's


async def test_a_seeded_sample_repeats_and_a_clean_job_exits_0(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(2000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        settings = make_settings(server.base_url)
        assert (await run_job(settings, JobFiles(input=source))).exit_code == 0
        first = await verify_job(settings, JobFiles(input=source), sample=300, seed=11)
        picked = set(server.stats.looked_up) & set(ids)
        again = await verify_job(settings, JobFiles(input=source), sample=300, seed=11)
        drawn = await verify_job(settings, JobFiles(input=source), sample=300)
    assert first.exit_code == again.exit_code == 0
    assert len(picked) == 300
    assert {i for i, n in server.stats.looked_up.items() if n >= 2 and i in picked} == picked
    s = first.summary
    assert (s["population"], s["checked"], s["gone"], s["sample"], s["seed"]) == (
        2000, 300, 300, 300, 11)
    assert 0.0099 < s["present_upper_95"] < 0.01  # 1 - 0.05 ** (1 / 300)
    assert isinstance(drawn.summary["seed"], int)  # drawn, and recorded to repeat it
    assert first.still_present is None  # nothing present: no list to hand out


async def test_guid_lookups_use_object_id_and_identity_lookups_identity(
    tmp_path: Path, fake_server: ServerFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key of every lookup the server received, read at the server."""
    keys: list[str] = []
    answer = ProfileBook.answer

    def spy(self: ProfileBook, request: web.BaseRequest, config: Any) -> web.Response:
        keys.extend(request.query)
        return answer(self, request, config)

    monkeypatch.setattr(ProfileBook, "answer", spy)
    source = write_ids(tmp_path / "ids.txt", make_ids(20))
    async with fake_server() as server:
        for id_type, key in (("guid", "objectId"), ("identity", "identity")):
            files = JobFiles(input=source, checkpoint=tmp_path / id_type)
            settings = make_settings(server.base_url, id_type=id_type)
            await run_job(settings, files)
            keys.clear()
            assert (await verify_job(settings, files, sample=5)).exit_code == 0
            assert keys == [key] * 5


async def test_no_checkpoint_and_another_jobs_checkpoint_are_refused(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    async with fake_server() as server:
        settings = make_settings(server.base_url)
        with pytest.raises(UsageError, match="no checkpoint"):
            await verify_job(settings, JobFiles(input=source))
        assert not (tmp_path / "ids.txt.bulkdelete").exists()  # nothing created
        await run_job(settings, JobFiles(input=source))
        before = server.stats.profile_requests  # a delete may check its credentials first
        with pytest.raises(CheckpointMismatch, match=r"--id-type.*Verify a job with"):
            await verify_job(make_settings(server.base_url, id_type="identity"),
                             JobFiles(input=source))
        with pytest.raises(CheckpointMismatch, match="--account-id"):
            await verify_job(make_settings(server.base_url, account_id="OTHER"),
                             JobFiles(input=source))
        assert server.stats.profile_requests == before


async def test_bad_credentials_abort_the_verify(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    async with fake_server() as server:
        await run_job(make_settings(server.base_url), JobFiles(input=source))
        with pytest.raises(FatalApiError, match="401"):
            await verify_job(make_settings(server.base_url, passcode=Secret("wrong")),
                             JobFiles(input=source), sample=10)
    assert not (tmp_path / "ids.txt.bulkdelete" / "verify.json").exists()


async def test_verify_all_starts_over_when_the_job_moved_on(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """A verify --all stopped half-way resumes only on the job it began on: after a further
    delete run its population is not the job's any more, so it checks everything again."""
    ids = make_ids(400)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(latency=0.005) as server:
        settings = make_settings(server.base_url, concurrency=1)
        await run_job(make_settings(server.base_url, limit=200), JobFiles(input=source))
        stop = StopRequest()
        task = asyncio.create_task(verify_job(settings, JobFiles(input=source), sample=None,
                                              stop=stop))
        async with asyncio.timeout(30):
            while len(server.stats.looked_up) < 50:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        stop.request(130, "SIGINT")
        assert (await task).exit_code == 130
        await run_job(settings, JobFiles(input=source))
        server.stats.looked_up.clear()
        with structlog.testing.capture_logs() as logs:
            result = await verify_job(settings, JobFiles(input=source), sample=None)
    assert "verify_restarted" in [entry["event"] for entry in logs]  # and it says so
    assert result.exit_code == 0
    assert result.summary["checked"] == 400
    assert set(server.stats.looked_up) == set(ids)


async def test_a_csv_job_is_read_back_by_its_column(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """The deleted IDs are read the way the job read them: here a CSV column, with an
    invalid line skipped, and a batch size the verify takes from the checkpoint."""
    ids = make_ids(120)
    source = tmp_path / "ids.csv"
    rows = [f"{n},{ident}\n" for n, ident in enumerate(ids)]
    rows.insert(50, "x,\n")  # an empty ID: invalid, never sent nor checked
    source.write_text("n,guid\n" + "".join(rows))
    files = JobFiles(input=source, column="guid")
    async with fake_server() as server:
        await run_job(make_settings(server.base_url, batch_size=7), files)
        result = await verify_job(make_settings(server.base_url), files, sample=None)
        assert set(server.stats.looked_up) & set(ids) == set(ids)
    assert (result.exit_code, result.summary["checked"], result.summary["gone"]) == (
        0, 120, 120)


async def test_an_input_edited_once_its_fingerprint_is_taken_is_refused(
    tmp_path: Path, fake_server: ServerFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The watch on the input starts before the fingerprint: an edit right after the
    binding matched is seen by the read, not verified as the job's input."""
    source = write_ids(tmp_path / "ids.txt", make_ids(50))
    async def then_edit(*args: Any) -> Any:
        binding = await binding_for(*args)
        with source.open("a") as out:
            out.write(make_ids(51)[-1] + "\n")
        return binding

    async with fake_server() as server:
        settings = make_settings(server.base_url)
        await run_job(settings, JobFiles(input=source))
        monkeypatch.setattr("bulkdelete.verify.run.binding_for", then_edit)
        with pytest.raises(InputChanged, match="input changed during the run"):
            await verify_job(settings, JobFiles(input=source), sample=10)
    assert not (tmp_path / "ids.txt.bulkdelete" / "verify.json").exists()


def test_deleted_batches_keep_the_job_numbering_and_drop_failed_and_undone_ids(
    tmp_path: Path,
) -> None:
    """Batches the job has not done come out empty, failed IDs are left out, the rest is
    the job's batch as the job read it — from any batch's position on."""
    ids = make_ids(250)
    source = write_ids(tmp_path / "ids.txt", ids)
    state = State(binding=Binding(fingerprint(source), "lines", None, 100, "guid", "A", "h"),
                  totals=Totals(250, 0, 3))
    Ledger(state.progress).done(0, 0, 1, 98, 2, None)
    Ledger(state.progress).done(2, 200 * 12, 201, 50, 0, None)  # batch 1 not done
    failed = {ids[5], ids[6]}
    watched = Input(source, "lines", "guid").watched()
    out = list(deleted_batches(watched, 100, state, failed))
    assert [b.seq for b in out] == [0, 1, 2]
    assert out[0].ids == [i for i in ids[:100] if i not in failed]
    assert out[1].ids == []
    assert out[2].ids == ids[200:]
    resumed = list(deleted_batches(watched, 100, state, failed, start=(2, 200 * 12, 201)))
    assert [(b.seq, b.ids) for b in resumed] == [(2, ids[200:])]


def test_failed_ids_reads_the_failed_file_and_tolerates_its_absence(tmp_path: Path) -> None:
    assert failed_ids(tmp_path / "none.txt") == set()
    path = tmp_path / "failed.txt"
    path.write_text("a\n\nb \na\n")
    assert failed_ids(path) == {"a", "b"}
