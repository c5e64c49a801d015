"""Fixtures and helpers for the fake server's own tests: a server factory with the fake's
default credentials and a POST that decodes whatever comes back (the client session is
tests/conftest.py's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from bulkdelete.fake import ENDPOINT, FakeServer, FakeServerConfig
from tests.conftest import ServerFactory

HEADERS = {
    "X-CleverTap-Account-Id": "FAKE-ACCOUNT",
    "X-CleverTap-Passcode": "fake-passcode",
    "Content-Type": "application/json; charset=utf-8",
}


@pytest.fixture
def serve() -> ServerFactory:
    """``async with serve(**config) as server``: a started server on 127.0.0.1, port 0."""

    @asynccontextmanager
    async def factory(**knobs: Any) -> AsyncIterator[FakeServer]:
        async with FakeServer(FakeServerConfig(**knobs)) as server:
            yield server

    return factory


async def post(
    session: aiohttp.ClientSession,
    server: FakeServer,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, Any]:
    """POST ``body`` (raw bytes, or JSON-encoded); the status and decoded JSON (or text)."""
    data = body if isinstance(body, bytes) else aiohttp.JsonPayload(body)
    async with session.post(
        server.base_url + ENDPOINT,
        data=data,
        headers=HEADERS if headers is None else headers,
        timeout=aiohttp.ClientTimeout(total=timeout),
    ) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def eventually(condition: Callable[[], bool], within: float = 2.0) -> None:
    """Wait until the server-side ``condition`` holds (the server notices disconnects late)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
