"""The API edge through a real ``bulkdelete delete`` subprocess against the fake server on
127.0.0.1: what a hostile or broken server sends (endless bodies, a Retry-After that asks
for no pause, error texts that echo the passcode) and credentials no header can carry.
The fake server runs in the test's own event loop, so its record outlives the client."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer
from tests.conftest import (
    PASSCODE,
    ServerFactory,
    assert_nothing_lost,
    cli_env,
    delete_argv,
    make_ids,
    write_ids,
)


@dataclass(frozen=True)
class Run:
    code: int
    output: str  # stdout and stderr together
    max_rss_kib: int  # this child's own peak resident memory


def _run_blocking(argv: list[str], env: dict[str, str], timeout: float) -> Run:
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            # wait4, not wait: it reports this child's own peak RSS, not every child's.
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return Run(proc.returncode, out.read().decode(errors="replace"), usage.ru_maxrss)


async def run_cli(argv: list[str], env: dict[str, str], timeout: float = 120) -> Run:
    """Run the CLI to its end in a thread, so the fake server in this loop keeps serving."""
    return await asyncio.to_thread(_run_blocking, argv, env, timeout)


def checkpoint_of(source: Path) -> Path:
    return source.with_name(source.name + ".bulkdelete")


async def until(server: FakeServer, requests: int, within: float = 30) -> None:
    async with asyncio.timeout(within):
        # Polls the server's counter; it has no event to wait on.
        while server.stats.requests < requests:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def finished_cleanly(run: Run, ids: list[str], server: FakeServer, source: Path) -> None:
    """Exit 0, nothing in the failed file, and every ID acknowledged by the server."""
    assert run.code == 0, run.output
    failed = assert_nothing_lost(ids, server, checkpoint_of(source) / "failed.txt")
    assert not failed


# -- answers that never end -------------------------------------------------------------------

HUGE = 96 * 2**20  # long enough that reading one whole shows in the memory of the process


async def test_huge_answers_are_retried_and_memory_stays_bounded(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A server that answers a third of the requests with a 96 MiB body: the run still
    completes with nothing lost (such an answer is retried), and the client's peak memory
    stays within a fraction of one such body of the same job against a healthy server."""
    ids = make_ids(2_000)
    runs = {}
    for name, knobs in (("healthy", {}), ("huge", {"p_huge_body": 0.3,
                                                   "huge_body_bytes": HUGE})):
        source = write_ids(tmp_path / f"{name}.txt", ids)
        async with fake_server(**knobs) as server:
            runs[name] = await run_cli(delete_argv(source), cli_env(server.base_url))
        finished_cleanly(runs[name], ids, server, source)
    assert server.stats.faults > 0  # the huge answers did happen
    grown = runs["huge"].max_rss_kib - runs["healthy"].max_rss_kib
    assert grown * 1024 < HUGE / 4, f"peak memory grew by {grown / 1024:.0f} MiB"


# -- a Retry-After that asks for no pause ---------------------------------------------------

STORM = 1.0  # seconds every request is answered 429


async def storm(source: Path, fake_server: ServerFactory, header: str | None) -> int:
    """Requests the server received during a STORM-second 429 storm whose answers carry
    ``Retry-After: <header>`` (none when None); then the storm ends and the run must
    complete with nothing lost."""
    ids = make_ids(600)
    write_ids(source, ids)
    async with fake_server(p_429=1.0, retry_after_header=header) as server:
        cli = asyncio.create_task(run_cli(delete_argv(source), cli_env(server.base_url)))
        await until(server, 1)
        await asyncio.sleep(STORM)
        during = server.stats.requests
        server.reconfigure(dataclasses.replace(server.config, p_429=0.0))
        run = await cli
    finished_cleanly(run, ids, server, source)
    return during


async def test_retry_after_zero_negative_or_past_never_switches_off_the_429_pause(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """In a 429 storm, answers that say Retry-After: 0, -5 or a date in the past draw
    about as many requests as answers with no Retry-After at all (measured here): the
    header is a floor under the limiter's own escalating pause, never a replacement."""
    headers = ("0", "-5", "Wed, 21 Oct 2015 07:28:00 GMT")
    # All four storms at once, each with its own server and CLI: they mostly wait out
    # pauses, and the baseline shares whatever load the others bring.
    baseline, *counts = await asyncio.gather(
        storm(tmp_path / "none.txt", fake_server, None),
        *(storm(tmp_path / f"storm-{n}.txt", fake_server, h) for n, h in enumerate(headers)),
    )
    for header, during in zip(headers, counts, strict=True):
        assert during <= 2 * baseline + 10, (header, during, baseline)


# -- error texts that echo the passcode -----------------------------------------------------


def passcode_pieces(size: int = 5) -> set[str]:
    """Pieces of the test passcode that no honest output contains by chance (those that
    are only lower-case letters and hyphens could be English)."""
    pieces = {PASSCODE[i:i + size] for i in range(len(PASSCODE) - size + 1)}
    return {p for p in pieces if not all(c.islower() or c == "-" for c in p)}


async def test_a_passcode_echoed_by_the_server_reaches_no_file_and_no_output(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A server whose 400s quote the passcode (raw across the 200-character cut of the
    kept detail, and JSON-encoded): after the run no piece of it is in stdout, stderr,
    the log file, the failed file, its reasons, the report or the checkpoint."""
    ids = make_ids(1_000)
    poison = {ids[7], ids[450], ids[999]}
    source = write_ids(tmp_path / "ids.txt", ids)
    log_file = tmp_path / "run.log"
    async with fake_server(poison_ids=frozenset(poison), echo_passcode=True) as server:
        run = await run_cli(delete_argv(source, "--log-file", str(log_file)),
                            cli_env(server.base_url))
    assert run.code == 1, run.output
    failed = assert_nothing_lost(ids, server, checkpoint_of(source) / "failed.txt")
    assert failed == poison
    reasons = (checkpoint_of(source) / "failed.txt.reasons.jsonl").read_text()
    assert "Invalid identity" in reasons  # the server's text is kept, minus the passcode
    written = files_under(tmp_path, but=source)
    assert log_file in written
    written[Path("output")] = run.output
    leaks = {(str(path), piece) for path, text in written.items()
             for piece in passcode_pieces() if piece in text}
    assert not leaks


def files_under(folder: Path, *, but: Path) -> dict[Path, str]:
    return {path: path.read_text(errors="replace")
            for path in folder.rglob("*") if path.is_file() and path != but}


# -- credentials no header can carry --------------------------------------------------------


@pytest.mark.parametrize("which", ["passcode", "account"])
async def test_control_character_in_credentials_is_a_usage_error_before_anything_is_written(
    tmp_path: Path, fake_server: ServerFactory, which: str
) -> None:
    """A passcode or account ID with a control character cannot go into a header: exit 2
    with one line naming which setting, before a checkpoint exists or a request is sent,
    and without printing the passcode."""
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    bad = "s3cr3t-\x1b[2J-PASSCODE" if which == "passcode" else "ACC\x01OUNT"
    variable = "CLEVERTAP_PASSCODE" if which == "passcode" else "CLEVERTAP_ACCOUNT_ID"
    async with fake_server() as server:
        env = cli_env(server.base_url, **{variable: bad})
        run = await run_cli(delete_argv(source), env)
    assert run.code == 2, run.output
    assert "control character" in run.output
    assert ("passcode" if which == "passcode" else "account ID") in run.output
    assert "Traceback" not in run.output
    assert "s3cr3t" not in run.output
    assert PASSCODE not in run.output
    assert not checkpoint_of(source).exists()
    assert server.stats.requests == 0
