"""Guarantee 0 end to end, with the real CLI in a subprocess against the fake server: every ID
sent is a value of the ID column of the input as it was when the job started. An input
changed during a run stops it (exit 4, "input changed during the run"), nothing read after
the change is sent, the pre-count (and so --max-delete) is never exceeded, and the same
command with the original file restored finishes the job with nothing lost."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from bulkdelete.fake import FakeServer
from tests.conftest import (
    ServerFactory,
    answer_at_once,
    assert_nothing_lost,
    cli_finish,
    cli_start,
    delete_argv,
    make_ids,
    wait_for_acks,
    write_ids,
)

CONCURRENCY = 3
COUNT = 60_000  # several read blocks, so a change lands between two reads
WIDTH = len(make_ids(1)[0]) + 1  # bytes per line: the IDs are all as long


async def _run(argv: list[str], server: FakeServer,
               meanwhile: Callable[[], None] | None = None) -> tuple[int, str]:
    """Run the CLI; with *meanwhile*, call it once the server has acknowledged some IDs."""
    proc = await cli_start(argv, server.base_url)
    if meanwhile is not None:
        await wait_for_acks(server, 2_000)
        meanwhile()
    return await cli_finish(proc)


def _received(server: FakeServer) -> set[str]:
    return {i for i, n in server.stats.received.items() if n}


async def _changed_mid_run(
    tmp_path: Path, fake_server: ServerFactory, change: Callable[[Path], None],
    *extra: str, name: str = "ids.txt",
) -> None:
    """Start a job, apply *change* to its input mid-run, and check the run stops with
    exit 4 (stopped mid-run), sent only original IDs, and resumes to completion on the
    original file."""
    ids = make_ids(COUNT)
    original = set(ids)
    source = write_ids(tmp_path / name, ids)
    saved = source.read_bytes()
    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.005) as server:
        argv = delete_argv(source, *extra)
        code, output = await _run(argv, server, lambda: change(source))
        assert code == 4, output
        assert "input changed during the run" in output, output
        assert "Traceback" not in output
        assert _received(server) <= original, sorted(_received(server) - original)[:5]
        assert len(_received(server)) < COUNT, "changed too late to prove anything"
        report = json.loads((tmp_path / f"{name}.bulkdelete" / "report.json").read_text())
        assert report["exit_code"] == 4
        assert report["complete"] is False

        source.write_bytes(saved)  # restored: the checkpoint's file again
        answer_at_once(server)
        code, output = await _run(argv, server)
        assert code == 0, output
        assert _received(server) == original
        assert_nothing_lost(ids, server, tmp_path / f"{name}.bulkdelete" / "failed.txt")


async def test_input_rewritten_in_place_stops_the_run(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Truncated, then written again with other IDs of the same length: no other ID is sent."""

    def rewrite(path: Path) -> None:
        with path.open("r+b") as file:
            file.truncate(0)
            file.write("".join(f"{i}\n" for i in make_ids(COUNT, "xx")).encode())

    await _changed_mid_run(tmp_path, fake_server, rewrite)


async def test_same_size_edit_ahead_of_the_reader_stops_the_run(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Lines near the end replaced in place by other IDs of the same length, with the
    modification time put back: the edit is still seen, and the edited IDs never sent."""

    def edit(path: Path) -> None:
        info = path.stat()
        fd = os.open(path, os.O_WRONLY)
        try:
            os.pwrite(fd, "".join(f"{i}\n" for i in make_ids(3_000, "xx")).encode(),
                      (COUNT - 3_000) * WIDTH)
        finally:
            os.close(fd)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))

    await _changed_mid_run(tmp_path, fake_server, edit)


async def test_appended_input_cannot_pass_max_delete(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """IDs appended mid-run are never sent: not past the pre-count, not past --max-delete."""

    def append(path: Path) -> None:
        with path.open("ab") as file:
            file.write("".join(f"{i}\n" for i in make_ids(5_000, "xx")).encode())

    await _changed_mid_run(tmp_path, fake_server, append, "--max-delete", str(COUNT))


async def test_gz_input_is_watched_on_its_compressed_file(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A .gz input replaced by another archive mid-run stops the run the same way."""
    import gzip

    def replace(path: Path) -> None:
        other = tmp_path / "other.gz"
        other.write_bytes(gzip.compress("".join(f"{i}\n" for i in make_ids(COUNT, "xx"))
                                        .encode()))
        os.replace(other, path)

    ids = make_ids(COUNT)
    source = tmp_path / "ids.txt.gz"
    source.write_bytes(gzip.compress("".join(f"{i}\n" for i in ids).encode()))
    saved = source.read_bytes()
    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.005) as server:
        argv = delete_argv(source)
        code, output = await _run(argv, server, lambda: replace(source))
        assert code == 4, output
        assert "input changed during the run" in output, output
        assert _received(server) <= set(ids)
        source.write_bytes(saved)
        answer_at_once(server)
        code, output = await _run(argv, server)
        assert code == 0, output
        assert_nothing_lost(ids, server, tmp_path / "ids.txt.gz.bulkdelete" / "failed.txt")


async def test_csv_note_holding_id_lines_never_reaches_the_server(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A quoted note of 300 KB holding ``victimN,foo`` lines: its record is invalid, the
    victims inside its quotes are never sent, the records around it are."""
    note = "\n".join(f"victim{n},foo" for n in range(25_000))
    assert len(note) > 300_000
    text = f'id,note\nkeep-0,ok\nkeep-1,"{note}"\nkeep-2,ok\n'
    source = tmp_path / "ids.csv"
    source.write_text(text, encoding="utf-8")
    async with fake_server(concurrency_limit=CONCURRENCY) as server:
        code, output = await _run(delete_argv(source, "--column", "id"), server)
        assert code == 0, output
        assert _received(server) == {"keep-0", "keep-2"}
        assert_nothing_lost(["keep-0", "keep-2"], server,
                            tmp_path / "ids.csv.bulkdelete" / "failed.txt")
        report = json.loads((tmp_path / "ids.csv.bulkdelete" / "report.json").read_text())
        assert report["lines_invalid"] == 1, report
