"""Shared fixtures: the shipped fake server over loopback, generated inputs, and the
nothing-lost check every end-to-end test ends with (docs/guarantees.md §1). Also the two
tiers: a test that starts a server, a socket or a process is marked ``e2e``; the rest (the
unit tier, ``make check``) may do neither, which a guard enforces."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import settings

from bulkdelete.fake import FakeServer, FakeServerConfig
from bulkdelete.settings import Secret, Settings

ACCOUNT = "TEST-ACCOUNT"
PASSCODE = "s3cr3t-PASSCODE-never-printed"

ServerFactory = Callable[..., AbstractAsyncContextManager[FakeServer]]

# make check's quick look (--hypothesis-profile=check); make test keeps Hypothesis's
# defaults, and a test that sets its own max_examples keeps it in both.
settings.register_profile("check", max_examples=20)

# Tells the CLI to use short retry pauses; it honours it only for a loopback target.
FAST_PAUSES = {"BULKDELETE_TEST_PAUSES": "1"}
REAL_PAUSES = {"BULKDELETE_TEST_PAUSES": "0"}

# A test is end-to-end when it lives in tests/e2e, asks for a server or an HTTP session, or
# its module holds one of these names (it starts servers, sockets or processes itself).
E2E_FIXTURES = frozenset({"fake_server", "server", "serve", "script", "session"})
E2E_NAMES = frozenset({"serving", "serve_in_thread", "stale_server", "run_demo", "FakeServer",
                       "TestServer", "socket", "run_subprocess", "cli_run", "cli_start",
                       "subprocess", "pexpect", "Terminal"})
E2E_FOLDER = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        names = vars(module).keys() if module is not None else set()
        if (item.path.is_relative_to(E2E_FOLDER)
                or E2E_FIXTURES.intersection(getattr(item, "fixturenames", ()))
                or E2E_NAMES.intersection(names)):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _unit_tier_stays_local(request: pytest.FixtureRequest,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A test not marked e2e opens no network socket and starts no process: the unit tier
    stays fast and cannot hang on a port. (pytest.fail is not an Exception, so code under
    test that catches errors cannot swallow it.)"""
    if request.node.get_closest_marker("e2e") is not None:
        return

    def refuse(what: str) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            pytest.fail(f"{what} in a unit test: mark it e2e (tests/conftest.py)")
        return guarded

    real_connect, real_bind = socket.socket.connect, socket.socket.bind

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse("a network connection")()
        real_connect(sock, address)

    def bind(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse("a listening socket")()
        real_bind(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "bind", bind)
    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse("a subprocess"))


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk only to loopback: a name lookup of any other host fails at once, so a
    test that forgot its --base-url (the preflight of a dry run, say) can never reach a
    real CleverTap host from this process."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in ("localhost", "::1") \
                and not str(name).startswith("127."):
            raise socket.gaierror(socket.EAI_NONAME, f"tests talk only to loopback: {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)

@pytest.fixture
def fake_server() -> ServerFactory:
    """``async with fake_server(latency=..., p_500=...) as server:`` — a started server that
    accepts the test account and passcode; keyword arguments are FakeServerConfig knobs."""

    @asynccontextmanager
    async def factory(**knobs: Any) -> AsyncIterator[FakeServer]:
        knobs.setdefault("account_id", ACCOUNT)
        knobs.setdefault("passcode", PASSCODE)
        knobs.setdefault("seed", 1234)
        async with FakeServer(FakeServerConfig(**knobs)) as server:
            yield server

    return factory


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session, for tests that talk HTTP to a server of their own."""
    async with aiohttp.ClientSession() as client:
        yield client


def make_ids(count: int, prefix: str = "id") -> list[str]:
    return [f"{prefix}-{n:08d}" for n in range(count)]


def write_ids(path: Path, ids: Iterable[str]) -> Path:
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return path


def make_settings(base_url: str = "http://127.0.0.1:1", **overrides: Any) -> Settings:
    """Settings for fast tests: short timeouts and backoffs (the logic is the same); the
    default base URL is a loopback port nothing answers, for tests that send nothing. No
    baseline unless asked (``baseline=N``): its lookups belong to tests about it."""
    values: dict[str, Any] = {
        "account_id": ACCOUNT,
        "passcode": Secret(PASSCODE),
        "base_url": base_url,
        "id_type": "guid",
        "concurrency": 3,
        "timeout": 2.0,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
        "max_retries": 8,
        "baseline": 0,
    }
    values.update(overrides)
    return Settings(**values)


def read_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]


def assert_nothing_lost(
    expected: Iterable[str], server: FakeServer, failed_path: Path | None
) -> set[str]:
    """Every valid ID was acknowledged by the server at least once or is in the failed file.
    Returns the failed IDs so a test can pin exactly which ones."""
    failed = set(read_lines(failed_path)) if failed_path is not None else set()
    acked = server.stats.acknowledged
    lost = [i for i in expected if acked[i] == 0 and i not in failed]
    assert not lost, f"{len(lost)} IDs lost, e.g. {lost[:5]}"
    return failed


def cli_env(base_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a CLI subprocess: credentials by env, as an operator would, and the
    short retry pauses (``**REAL_PAUSES`` where a test needs the product's own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVERTAP_")}
    env["CLEVERTAP_ACCOUNT_ID"] = ACCOUNT
    env["CLEVERTAP_PASSCODE"] = PASSCODE
    if base_url is not None:
        env["CLEVERTAP_BASE_URL"] = base_url
    env["PYTHONUNBUFFERED"] = "1"
    env.update(FAST_PAUSES)
    env.update(extra)
    return env


CLI = [sys.executable, "-m", "bulkdelete"]


def delete_args(source: Path, *extra: str, concurrency: int | None = None,
                unattended: bool = True) -> list[str]:
    """``delete`` with a short request timeout; unattended (the default) as an operator's
    script runs it: no prompt, no bar."""
    return ["delete", str(source), "--id-type", "guid",
            *(["--yes", "--no-progress"] if unattended else []),
            *(["--concurrency", str(concurrency)] if concurrency is not None else []),
            "--timeout", "5", *extra]


def delete_argv(source: Path, *extra: str, concurrency: int = 3) -> list[str]:
    """:func:`delete_args` as a subprocess's command line."""
    return [*CLI, *delete_args(source, *extra, concurrency=concurrency)]


async def cli_start(argv: list[str], base_url: str, **env: str) -> asyncio.subprocess.Process:
    """The CLI as a real subprocess (so a test can signal or kill it) against base_url;
    ``env`` adds to :func:`cli_env`."""
    return await asyncio.create_subprocess_exec(
        *argv, env=cli_env(base_url, **env), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def cli_finish(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    """Wait for a started CLI; its exit code and its stdout + stderr."""
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode() + err.decode()


async def cli_run(argv: list[str], base_url: str) -> tuple[int, str]:
    return await cli_finish(await cli_start(argv, base_url))


def answer_at_once(server: FakeServer) -> None:
    """The server's latency removed: for a rerun that only has to finish the job."""
    server.reconfigure(dataclasses.replace(server.config, latency=0.0))


async def wait_for_acks(server: FakeServer, at_least: int) -> None:
    async with asyncio.timeout(60):
        # Polls another component's counter; it has no event to wait on.
        while server.stats.acknowledged_ids < at_least:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


@asynccontextmanager
async def serving(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """A small aiohttp server of the test's own on loopback, for answers the fake server
    cannot give; yields its base URL. A hanging handler is cut off at the end instead of
    being waited for."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
