"""The two commands a newcomer runs first: ``bulkdelete demo`` (the whole pipeline, then a
verify, against its own fake server: it checks nothing was lost itself) and ``bulkdelete
fake-server`` (docs/fake-server.md), as real subprocesses.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

from tests.conftest import CLI, cli_env
from tests.e2e.support import run_subprocess


async def test_demo_runs_and_proves_nothing_lost(tmp_path: Path) -> None:
    """``bulkdelete demo --ids 2000 --no-progress`` runs the whole pipeline against its
    own fake server (with faults) and reports that nothing was lost. Without --keep its
    folder is gone when it ends: its output names no file in it and ends on how to keep
    one (tests/e2e/test_small_things.py runs it with --keep)."""
    code, out, err = await run_subprocess(
        [*CLI, "demo", "--ids", "2000", "--no-progress"], cli_env(), cwd=tmp_path
    )
    assert code == 0, err
    assert "nothing lost" in out
    assert "lost: 0" in out
    # It ends with a verify of a sample, checked against the server's own answers.
    assert re.search(r"300 of 1,998 deleted IDs checked: \d+ gone, \d+ present, 0 unknown", out)
    assert "verify agrees with the fake server's own answers, ID for ID" in out
    assert "Traceback" not in out + err
    assert "bulkdelete-demo-" not in out
    assert out.splitlines()[-1].startswith("the demo's files went with its temporary folder")
    assert "bulkdelete demo --keep DIR" in out.splitlines()[-1]
    # Its verify names the still-present list only as what --keep would keep.
    assert "logged in again" in out, out
    assert "; they are listed in /" not in out
    assert "with --keep DIR they are listed in a still_present-<time>.txt" in out


async def test_fake_server_listens_and_stops_on_sigterm(tmp_path: Path) -> None:
    """``bulkdelete fake-server --port 0`` prints the URL it listens on once ready and
    exits 0 with a summary on SIGTERM."""
    proc = await asyncio.create_subprocess_exec(
        *CLI, "fake-server", "--port", "0", env=cli_env(), cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=20)).decode()
        assert re.fullmatch(r"fake server listening on http://127\.0\.0\.1:\d+\n", line), line
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err
    assert "fake server stopped: requests=0" in out.decode()
