"""Helpers the end-to-end tests share: the fake server in a thread (for callers that block
the test's thread), in-process ``main()`` runs, CLI subprocesses and mixed inputs."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bulkdelete.cli import main
from bulkdelete.fake import FakeServer, FakeServerConfig
from tests.conftest import (
    ACCOUNT,
    PASSCODE,
    make_ids,
)


@contextmanager
def serve_in_thread(**knobs: Any) -> Iterator[FakeServer]:
    """The shipped fake server on its own event loop in a background thread, for callers
    that block the test's thread: in-process ``main()`` (it calls ``asyncio.run``) and
    pexpect. Keyword arguments are FakeServerConfig knobs; it accepts the test account."""
    knobs.setdefault("account_id", ACCOUNT)
    knobs.setdefault("passcode", PASSCODE)
    knobs.setdefault("seed", 1234)
    server = FakeServer(FakeServerConfig(**knobs))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-server", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def run_main(argv: list[str]) -> int:
    """``main(argv)``; argparse's own exits (--help, usage errors) become their code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run main() in-process; return the exit code, stdout and stderr."""
    code = run_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ckpt_dir(source: Path) -> Path:
    return source.with_name(source.name + ".bulkdelete")


def report_of(source: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ckpt_dir(source) / "report.json").read_text())
    return data


def assert_one_error_line(code: int, out: str, err: str, *fragments: str) -> str:
    """Exit 2, no traceback, exactly one ``error:`` line on stderr, naming every fragment."""
    assert code == 2, (out, err)
    assert "Traceback" not in out
    return one_error_line(err, *fragments)


def one_error_line(output: str, *fragments: str) -> str:
    """No traceback and exactly one ``error:`` line in ``output``, naming every fragment."""
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if "error:" in line]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


async def run_subprocess(
    argv: list[str], env: dict[str, str], *, cwd: Path | None = None, timeout: float = 60,
) -> tuple[int, str, str]:
    """A CLI subprocess with stdin that is not a terminal; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def write_mixed(path: Path) -> list[str]:
    """300 valid IDs with three invalid lines in the middle (lines 251, 252, 253): one over
    512 characters, one with undecodable bytes, one with a control character."""
    ids = make_ids(300)
    with path.open("wb") as out:
        for ident in ids[:250]:
            out.write(f"{ident}\n".encode())
        out.write(b"x" * 600 + b"\n")
        out.write(b"bad-\xff\xfe-bytes\n")
        out.write(b"ctl\x01char\n")
        for ident in ids[250:]:
            out.write(f"{ident}\n".encode())
    return ids
