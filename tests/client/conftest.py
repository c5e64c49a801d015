"""Fixtures for the client tests: the scripted test server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.client.support import Script, Seen


@pytest.fixture
async def script() -> AsyncIterator[Script]:
    """A started aiohttp test server on 127.0.0.1 whose answers the test scripts."""

    async def dispatch(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        state.seen.append(Seen(request.method, request.path, dict(request.headers), body,
                               dict(request.query)))
        assert state.handler is not None, "test forgot to script an answer"
        return await state.handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state = Script(base_url=f"http://127.0.0.1:{server.port}")
    try:
        yield state
    finally:
        state.release.set()  # let any hanging handler finish so the server closes promptly
        await server.close()
