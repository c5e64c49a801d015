"""The still-present lists a verify hands out (docs/verify.md): each verify writes its own,
named by its time and named in verify.json; a later verify never rewrites one, so a delete
fed one (with the checkpoint of its own the verify's command gives it) still resumes after
the next verify; --restart of the job drops verify.json but never a list; and after a
power loss a verify --all's count and its list agree."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shlex
import shutil
import signal
import sys
from pathlib import Path

from bulkdelete import JobFiles, run_job
from bulkdelete.checkpoint import CheckpointStore
from bulkdelete.errors import CheckpointError
from bulkdelete.fake import FakeServer
from tests.conftest import (
    CLI,
    ServerFactory,
    answer_at_once,
    assert_nothing_lost,
    cli_finish,
    cli_run,
    cli_start,
    delete_argv,
    make_ids,
    make_settings,
    read_lines,
    write_ids,
)


def _verify(source: Path, *extra: str) -> list[str]:
    return [*CLI, "verify", str(source), "--id-type", "guid", "--no-progress",
            "--timeout", "5", *extra]


def _printed_command(output: str) -> list[str]:
    """The delete command the verify printed for its list, as a subprocess argv."""
    lines = [line.strip() for line in output.splitlines()
             if line.strip().startswith("bulkdelete delete ")]
    assert len(lines) == 1, output
    words = shlex.split(lines[0])
    return [sys.executable, "-m", *words]


async def _wait_for_lookups(server: FakeServer, at_least: int) -> None:
    async with asyncio.timeout(60):
        # Polls another component's counter; it has no event to wait on.
        while len(server.stats.looked_up) < at_least:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def _deleted_with_comebacks(server: FakeServer, source: Path, back: list[str]) -> None:
    result = await run_job(make_settings(server.base_url), JobFiles(input=source))
    assert result.exit_code == 0
    server.reconfigure(dataclasses.replace(server.config, recreated_ids=frozenset(back)))


async def test_a_list_handed_out_is_never_rewritten_and_its_delete_resumes_after_another_verify(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(600)
    back = ids[100:112]
    source = write_ids(tmp_path / "ids.txt", ids)
    folder = tmp_path / "ids.txt.bulkdelete"
    async with fake_server() as server:
        await _deleted_with_comebacks(server, source, back)
        code, output = await cli_run(_verify(source, "--all"), server.base_url)
        assert code == 1, output
        first_name = json.loads((folder / "verify.json").read_text())["still_present"]
        assert first_name.startswith("still_present-")
        first = folder / first_name
        assert sorted(read_lines(first)) == back
        content = first.read_bytes()
        retry = _printed_command(output)
        assert str(first) in retry
        checkpoint = Path(retry[retry.index("--checkpoint") + 1])
        assert checkpoint.parent == folder.parent  # its own, outside the job's folder
        assert checkpoint.name not in {p.name for p in folder.parent.iterdir()}

        # A canary of that delete: 4 of the 12 IDs, then the job is left half done.
        canary = [*retry, "--yes", "--no-progress", "--batch-size", "2", "--limit", "4"]
        code, output = await cli_run(canary, server.base_url)
        assert code == 0, output
        assert "canary done" in output

        # Another verify: a list of its own; the first one is byte for byte as handed out.
        server.reconfigure(dataclasses.replace(server.config, recreated_ids=frozenset(
            ids[300:303])))
        code, output = await cli_run(_verify(source, "--sample", "600"), server.base_url)
        assert code == 1, output
        second_name = json.loads((folder / "verify.json").read_text())["still_present"]
        assert second_name != first_name
        assert sorted(read_lines(folder / second_name)) == ids[300:303]
        assert first.read_bytes() == content

        # The first list's delete still resumes and finishes.
        code, output = await cli_run([*retry, "--yes", "--no-progress", "--batch-size", "2"],
                                     server.base_url)
        assert code == 0, output
        assert "belongs to a different job" not in output
        assert_nothing_lost(back, server, checkpoint / "failed.txt")


async def test_restart_drops_the_last_verify_and_an_unfinished_one_and_keeps_every_list(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """--restart discards verify.json and the progress of an interrupted verify --all (both
    speak of the discarded job), keeps every still-present list (another job may read
    one), and its plan says so, naming the lists."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    folder = tmp_path / "ids.txt.bulkdelete"
    async with fake_server() as server:
        await _deleted_with_comebacks(server, source, ids[10:13])
        code, output = await cli_run(_verify(source, "--all"), server.base_url)
        assert code == 1, output
        listed = folder / json.loads((folder / "verify.json").read_text())["still_present"]
        content = listed.read_bytes()
        server.reconfigure(dataclasses.replace(server.config, latency=0.05))
        before = server.stats.looked_up.total()
        proc = await cli_start(_verify(source, "--all", "--concurrency", "1"), server.base_url)
        async with asyncio.timeout(30):
            # Polls the server's counter; there is no event to wait on.
            while server.stats.looked_up.total() < before + 5:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGINT)  # an interrupted verify --all: its progress stays
        code, output = await cli_finish(proc)
        assert code == 130, output
        assert (folder / "verify" / "state.json").exists()

        # Its profiles are gone (all but the comebacks): the new baseline may find none.
        code, output = await cli_run(
            delete_argv(source, "--restart", "--allow-absent", "--dry-run"), server.base_url)
        assert code == 0, output
        assert ("restart:    the job starts over: its progress, verify.json and verify/ are "
                f"discarded; 1 still-present list verify handed out stays (another job may "
                f"read it): {listed.name}") in output
        answer_at_once(server)
        code, output = await cli_run(delete_argv(source, "--restart", "--allow-absent"),
                                     server.base_url)
        assert code == 0, output
        assert not (folder / "verify.json").exists()
        assert not (folder / "verify").exists()
        assert listed.read_bytes() == content
        assert_nothing_lost(ids, server, folder / "failed.txt")


async def test_verify_help_feeds_the_list_to_a_job_with_its_own_checkpoint(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    async with fake_server() as server:
        code, output = await cli_run([*CLI, "verify", "--help"], server.base_url)
    assert code == 0, output
    example = output[output.index("then delete what is still there"):]
    assert "--checkpoint ids.txt-still_present-" in example
    assert "ids.txt.bulkdelete/still_present.txt" not in output


def _copy_progress(verify: Path, into: Path) -> None:
    """verify --all's state and journals as they are now (not its lists): copied until a
    consistent copy is had (a snapshot may replace them under the copy)."""
    for _ in range(100):
        shutil.rmtree(into, ignore_errors=True)
        into.mkdir()
        try:
            for path in sorted(verify.iterdir()):
                if path.name == "state.json" or path.name.startswith("journal."):
                    shutil.copy2(path, into / path.name)
            CheckpointStore(into).load()
            return
        except (OSError, CheckpointError):
            continue
    raise AssertionError("no consistent copy of the verify's progress")


async def test_after_a_power_loss_the_verify_count_and_its_list_agree(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """verify --all's list of present IDs is fsync'd per batch, its journal about once a
    second: a power loss can leave the list ahead of the journal. Simulated: the progress
    copied at one instant, the list kept from a later one, the run killed. The profiles
    are then gone; the resumed verify re-checks the unrecorded batches (gone now), and its
    count of present IDs equals the lines of its list, exactly the IDs it counts."""
    ids = make_ids(1500)
    back = ids[::10]
    source = write_ids(tmp_path / "ids.txt", ids)
    folder = tmp_path / "ids.txt.bulkdelete"
    verify = folder / "verify"
    async with fake_server(concurrency_limit=3) as server:
        await _deleted_with_comebacks(server, source, back)
        server.reconfigure(dataclasses.replace(server.config, latency=0.004))
        argv = _verify(source, "--all", "--concurrency", "3")
        proc = await cli_start(argv, server.base_url)
        await _wait_for_lookups(server, 450)
        saved = tmp_path / "at-power-loss"
        await asyncio.to_thread(_copy_progress, verify, saved)
        await _wait_for_lookups(server, 900)
        proc.send_signal(signal.SIGKILL)
        await cli_finish(proc)
        listed_at_kill = len(read_lines(verify / "present.txt"))
        for path in list(verify.iterdir()):
            if path.name == "state.json" or path.name.startswith("journal."):
                path.unlink()
        for path in saved.iterdir():
            shutil.copy2(path, verify / path.name)
        then = CheckpointStore(verify).load()
        counted_then = then.progress.reasons.get("present", 0)
        assert listed_at_kill > counted_then, "the list was not ahead of the journal"

        server.reconfigure(dataclasses.replace(server.config, recreated_ids=frozenset(),
                                               latency=0.0))
        code, output = await cli_run(argv, server.base_url)
        assert code == 1, output
        summary = json.loads((folder / "verify.json").read_text())
        # (Named in verify.json; a tool that names none writes still_present.txt.)
        listed = read_lines(folder / summary.get("still_present", "still_present.txt"))
        assert summary["present"] == len(listed) == counted_then
        assert set(listed) <= set(back)
        # The list kept the name its --all was given when it began, resumed or not.
        assert summary.get("still_present") == (then.verify or {}).get("list")
        assert str(summary["still_present"]).endswith("-all.txt")
