"""The two commands a newcomer runs first: ``bulkdelete demo`` (the whole pipeline, then a
verify, against its own fake server: it checks nothing was lost itself) and ``bulkdelete
fake-server`` (docs/fake-server.md), as real subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path

from tests.conftest import CLI, cli_env
from tests.e2e.support import run_subprocess
from tests.e2e.test_logs import json_records


async def test_demo_runs_and_proves_nothing_lost(tmp_path: Path) -> None:
    """``bulkdelete demo --ids 2000 --no-progress`` runs the whole pipeline against its
    own fake server (with faults) and reports that nothing was lost. Without --keep its
    folder is gone when it ends: its output names no file in it and ends on how to keep
    one."""
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


async def test_demo_with_keep_and_json_logs_names_the_files_it_kept(tmp_path: Path) -> None:
    """``demo --keep DIR --log-format json``: the failed file and the still-present list it
    names exist, and its last line says where; on stderr its opening line is a JSON record
    too, and the run's events carry the run's ID."""
    kept = tmp_path / "kept"
    code, out, err = await run_subprocess(
        [*CLI, "demo", "--ids", "500", "--no-progress", "--keep", str(kept),
         "--log-format", "json"], cli_env(), cwd=tmp_path)
    assert code == 0, err
    records = json_records(err)
    assert records[0]["event"] == "demo"
    assert all(r.get("run_id") for r in records[1:]), records
    failed = kept / "ids.txt.bulkdelete" / "failed.txt"
    assert f"2 rejected IDs went to the failed file {failed}" in out
    assert failed.exists()
    assert (kept / "ids.txt").exists()
    # Each verify's list has its own name (docs/verify.md), which verify.json gives.
    verify = json.loads((kept / "ids.txt.bulkdelete" / "verify.json").read_text())
    still = kept / "ids.txt.bulkdelete" / verify["still_present"]
    assert f"; they are listed in {still}" in out
    assert still.exists()
    assert out.splitlines()[-1].startswith(f"files kept in {kept}")


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
