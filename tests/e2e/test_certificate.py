"""``bulkdelete certificate`` as an operator runs it: a real job, verify and certificate,
each a CLI subprocess against the shipped fake server over loopback (docs/certificate.md).
No ID of the input may appear in either file."""

from __future__ import annotations

import json
from pathlib import Path

from bulkdelete.checkpoint.evidence import Baseline, Seen, load_baseline, save_baseline
from bulkdelete.fake.config import absent_by_share
from tests.conftest import (
    CLI,
    ServerFactory,
    assert_nothing_lost,
    cli_run,
    delete_argv,
    make_ids,
    write_ids,
)


async def test_a_real_job_verified_then_certified_holds_no_input_id(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(400)
    source = write_ids(tmp_path / "erasures.txt", ids)
    folder = tmp_path / "erasures.txt.bulkdelete"
    poison, came_back = ids[10], ids[20]
    async with fake_server(poison_ids=frozenset({poison}),
                           recreated_ids=frozenset({came_back})) as server:
        code, output = await cli_run(delete_argv(
            source, "--requester", "<script>alert(1)</script>", "--ticket", "DSR-9 & co"),
            server.base_url)
        assert code == 1, output  # the poison ID failed
        assert assert_nothing_lost(ids, server, folder / "failed.txt") == {poison}
        # The delete's own baseline, with the pairs this test needs (the calibration kept).
        kept = load_baseline(folder)
        assert kept is not None
        save_baseline(folder, Baseline(
            size=4, seed=1, population=400, checked_at="2026-01-01T00:00:00.000Z",
            calibration=kept.calibration,
            ids=[(i, Seen.PRESENT) for i in (ids[5], came_back, poison, ids[30])]))
        code, output = await cli_run(
            [*CLI, "verify", str(source), "--id-type", "guid", "--no-progress",
             "--sample", "100", "--seed", "4"], server.base_url)
        assert code == 1, output  # the profile that came back is still present
        code, output = await cli_run([*CLI, "certificate", str(source)], server.base_url)
        assert code == 0, output
    assert "certificate: verified early" in output
    assert str(folder / "certificate.html") in output
    page = (folder / "certificate.html").read_text(encoding="utf-8")
    data = (folder / "certificate.json").read_text(encoding="utf-8")
    for ident in ids:
        assert ident not in page, ident
        assert ident not in data, ident
    record = json.loads(data)
    assert record["requester"] == "<script>alert(1)</script>"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert record["id_scan"]["input_read"] is True
    assert record["verify"]["baseline"]["present_before_still_present"] == 1


async def test_the_certificate_command_takes_the_folder_and_refuses_no_job(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(30))
    folder = tmp_path / "ids.txt.bulkdelete"
    async with fake_server() as server:
        code, output = await cli_run([*CLI, "certificate", str(source)], server.base_url)
        assert code == 2, output
        assert "no checkpoint" in output
        assert "Traceback" not in output
        code, output = await cli_run(delete_argv(source), server.base_url)
        assert code == 0, output
        assert_nothing_lost(make_ids(30), server, folder / "failed.txt")
        code, output = await cli_run([*CLI, "certificate", str(folder)], server.base_url)
        assert code == 0, output
        assert "certificate: deleted, not yet verified" in output
        written = (folder / "certificate.json").read_bytes()
        for name in ("certificate.json", "certificate.html"):  # never another output
            code, refused = await cli_run(delete_argv(source, "--report", str(folder / name)),
                                          server.base_url)
            assert code == 2, refused
            assert "is the job's certificate" in refused
    assert (folder / "certificate.json").read_bytes() == written
    record = json.loads((folder / "certificate.json").read_text())
    assert record["status"]["state"] == "deleted, not yet verified"
    assert record["verify"] is None


async def test_a_job_with_a_share_never_existing_is_certified_erased_apart_from_not_found(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """Issue #20's done-when: 30 % of the input names no profile. The job runs; its verify
    --all and certificate count as *erased* exactly the sampled profiles that existed before
    the delete, and the rest only as *not found*; no input ID is in either file."""
    ids = make_ids(600)
    source = write_ids(tmp_path / "ids.txt", ids)
    folder = tmp_path / "ids.txt.bulkdelete"
    async with fake_server(absent_share=0.3) as server:
        code, output = await cli_run(delete_argv(source, "--baseline", "200"), server.base_url)
        assert code == 0, output
        assert_nothing_lost(ids, server, folder / "failed.txt")
        code, said = await cli_run(
            [*CLI, "verify", str(source), "--id-type", "guid", "--no-progress", "--all"],
            server.base_url)
        assert code == 0, said
        code, output = await cli_run([*CLI, "certificate", str(source)], server.base_url)
        assert code == 0, output
    baseline = load_baseline(folder)
    assert baseline is not None
    existed = {ident for ident, seen in baseline.ids if seen is Seen.PRESENT}
    never = {ident for ident, seen in baseline.ids if seen is Seen.ABSENT}
    assert existed == {i for i, _ in baseline.ids if not absent_by_share(i, 0.3)}
    assert never == {i for i, _ in baseline.ids if absent_by_share(i, 0.3)}
    assert existed
    assert never
    verified = json.loads((folder / "verify.json").read_text())
    paired = verified["baseline"]
    assert (paired["present_before"], paired["absent_before"]) == (len(existed), len(never))
    assert paired["erased"] == paired["present_before_now_gone"] == len(existed)
    assert (verified["checked"], verified["gone"]) == (600, 600)  # every one not found
    assert f"{len(existed)} of the {len(existed)} sampled profiles that existed before the " \
           "delete are gone now (erased)" in said
    record = json.loads((folder / "certificate.json").read_text())
    assert record["verify"]["baseline"]["erased"] == len(existed)
    assert record["baseline"]["absent"] == len(never)
    page = (folder / "certificate.html").read_text(encoding="utf-8")
    assert f"erased (present before, gone now)</th><td>{len(existed)} of the {len(existed)} " \
           "profiles that existed before the delete" in page
    assert "gone (not found)" in page
    assert "<em>Not found</em>: gone now, its state before unknown" in page
    for ident in ids:
        assert ident not in page, ident
        assert ident not in json.dumps(record), ident
