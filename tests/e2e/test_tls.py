"""TLS is verified for real regions (docs/guarantees.md §8): a server whose certificate the
system does not trust is a fatal answer (exit 3), never a silent fallback to trusting it."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from bulkdelete.client import ClevertapClient, Outcome
from bulkdelete.errors import FatalApiError
from bulkdelete.job import run_job
from bulkdelete.settings import JobFiles, Secret
from tests.conftest import make_ids, make_settings, write_ids


@pytest.fixture
async def untrusted_https() -> AsyncIterator[tuple[str, list[int]]]:
    """An HTTPS endpoint on loopback whose certificate comes from a CA nobody trusts;
    yields its base URL and a list counting the requests that reached the handler."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    reached: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        reached.append(1)
        return web.json_response({"status": "success"})

    app = web.Application()
    app.router.add_post("/1/delete/profiles.json", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"https://127.0.0.1:{port}", reached
    finally:
        await runner.cleanup()


async def test_client_refuses_an_untrusted_certificate(
    untrusted_https: tuple[str, list[int]],
) -> None:
    """The client verifies certificates: an untrusted one is FATAL, and no request body
    (with its passcode header) ever reaches the handler."""
    import aiohttp

    url, reached = untrusted_https
    client = ClevertapClient(base_url=url, account_id="A", passcode=Secret("p"),
                             id_type="guid", timeout=5)
    async with aiohttp.ClientSession() as session:
        result = await client.delete_with(session, ["id-1"])
    assert result.outcome is Outcome.FATAL
    assert "TLS" in result.reason
    assert reached == []


async def test_a_job_against_an_untrusted_certificate_aborts_with_exit_3(
    tmp_path: Path, untrusted_https: tuple[str, list[int]],
) -> None:
    """The whole job stops at once (exit 3) and marks nothing failed (met mid-run: the
    preflight skipped)."""
    url, reached = untrusted_https
    source = write_ids(tmp_path / "ids.txt", make_ids(500))
    with pytest.raises(FatalApiError, match="TLS") as info:
        await run_job(make_settings(url, preflight=False), JobFiles(input=source))
    assert info.value.exit_code == 3
    assert reached == []
    assert (tmp_path / "ids.txt.bulkdelete" / "failed.txt").read_text() == ""


async def test_an_untrusted_certificate_fails_the_preflight_with_nothing_written(
    tmp_path: Path, untrusted_https: tuple[str, list[int]],
) -> None:
    """The preflight meets the bad certificate first: exit 3, nothing reached the server,
    no checkpoint folder."""
    url, reached = untrusted_https
    source = write_ids(tmp_path / "ids.txt", make_ids(500))
    with pytest.raises(FatalApiError, match="TLS") as info:
        await run_job(make_settings(url), JobFiles(input=source))
    assert info.value.exit_code == 3
    assert reached == []
    assert not (tmp_path / "ids.txt.bulkdelete").exists()
