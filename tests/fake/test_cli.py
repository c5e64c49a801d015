"""``bulkdelete fake-server``'s options and serve loop, as a subprocess and in-process."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from bulkdelete.fake import ENDPOINT, FakeServer, FakeServerConfig
from bulkdelete.fake.config import add_cli_arguments
from bulkdelete.fake.server import run_from_args
from tests.fake.conftest import HEADERS

ROOT = Path(__file__).resolve().parents[2]


async def test_non_loopback_host_is_refused() -> None:
    """The server has no TLS and no real credentials: it listens on loopback only."""
    with pytest.raises(ValueError, match="loopback"):
        await FakeServer(FakeServerConfig()).start(host="0.0.0.0")  # noqa: S104 - refused
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--host", "192.168.1.10"])


CLI = (
    "import argparse, sys\n"
    "from bulkdelete.fake.config import add_cli_arguments\n"
    "from bulkdelete.fake.server import run_from_args\n"
    "p = argparse.ArgumentParser()\n"
    "add_cli_arguments(p)\n"
    "sys.exit(run_from_args(p.parse_args(sys.argv[1:])))\n"
)


async def test_cli_serves_until_sigterm(session: aiohttp.ClientSession, tmp_path: Path) -> None:
    """The CLI prints its URL, serves with the env passcode, and on SIGTERM exits 0 with a
    summary; the passcode never appears in its output."""
    record = tmp_path / "record.txt"
    poison = tmp_path / "poison.txt"
    poison.write_text("bad\n\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "MY_PASSCODE": "cli-s3cret",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLI,
        "--port",
        "0",
        "--passcode-env",
        "MY_PASSCODE",
        "--record",
        str(record),
        "--poison-file",
        str(poison),
        "--retry-after",
        "1",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        prefix = "fake server listening on "
        assert line.startswith(prefix + "http://127.0.0.1:"), line
        url = line.removeprefix(prefix).strip()
        headers = {**HEADERS, "X-CleverTap-Passcode": "cli-s3cret"}
        async with session.post(url + ENDPOINT, json={"guid": ["x", "y"]}, headers=headers) as r:
            assert r.status == 200
        async with session.post(url + ENDPOINT, json={"guid": ["bad"]}, headers=headers) as r:
            assert r.status == 400
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "accepted=1 acknowledged_ids=2" in out.decode()
    assert record.read_text().splitlines() == ["x", "y"]
    assert b"cli-s3cret" not in line.encode() + out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--passcode-env", "SURELY_UNSET_PASSCODE_VAR"], "SURELY_UNSET_PASSCODE_VAR"),
        (["--poison-file", "/nonexistent/poison.txt"], "poison.txt"),
        (["--p-500", "0.7", "--p-reset", "0.7"], "add up"),
        (["--p-500", "1.5"], "probability"),
        (["--latency", "-1"], "latency must not be negative"),
    ],
)
def test_cli_bad_settings_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Settings the server cannot run with are a one-line message and exit 2, no traceback."""
    monkeypatch.delenv("SURELY_UNSET_PASSCODE_VAR", raising=False)
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    assert run_from_args(parser.parse_args(args)) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
