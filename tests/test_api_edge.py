"""The API edge through a real ``bulkdelete delete`` subprocess against the fake server on
127.0.0.1: what a hostile or broken server sends (endless bodies, a Retry-After that asks
for no pause, error texts that echo the passcode) and credentials no header can carry.
The fake server runs in the test's own event loop, so its record outlives the client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import (
    CLI,
    PASSCODE,
    ServerFactory,
    cli_env,
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


def delete_argv(source: Path, *extra: str) -> list[str]:
    return [*CLI, "delete", str(source), "--id-type", "guid", "--yes", "--no-progress",
            "--concurrency", "3", "--timeout", "5", *extra]


def checkpoint_of(source: Path) -> Path:
    return source.with_name(source.name + ".bulkdelete")


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
