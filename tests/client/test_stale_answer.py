"""docs/guarantees.md, "answers taken at their word": a connection is never reused after an
error answer, so an extra answer a broken server or proxy writes after it is never read as
the next request's."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from bulkdelete.client import ClevertapClient, Outcome
from bulkdelete.settings import Secret
from tests.client.stale import stale_server
from tests.client.support import ACCOUNT, PASSCODE, Script, fail_body


def _client(base_url: str) -> ClevertapClient:
    return ClevertapClient(base_url=base_url, account_id=ACCOUNT, passcode=Secret(PASSCODE),
                           id_type="guid", timeout=2.0)


async def test_an_extra_answer_after_an_error_is_never_taken_as_the_next_ones() -> None:
    """Every request gets a 500 and then a stray 200 success on the same connection: each
    delete and each lookup is a 500 (retryable), none a success, and every request after
    an error went over a new connection."""
    async with stale_server() as server, aiohttp.ClientSession() as session:
        client = _client(server.base_url)
        results = []
        for n in range(6):
            if n % 2:
                results.append(await client.profile_with(session, f"id-{n}"))
            else:
                results.append(await client.delete_with(session, [f"id-{n}"]))
            await asyncio.sleep(0.1)  # the stray answer has arrived by now
        assert [r.outcome for r in results] == [Outcome.RETRYABLE] * 6, results
        assert all(r.status == 500 for r in results)
        assert server.connections == 6


async def test_an_error_whose_body_comes_in_pieces_frees_no_connection_for_another() -> None:
    """Many requests at once; every answer is a 500 whose body arrives in two pieces, the
    second carrying a stray 200 success behind it. aiohttp frees a connection the moment
    an answer's end arrives, before the request's own task runs again: a connection
    dropped only then has meanwhile gone to another request, which is cut ("network
    error") or reads the stray answer as its own ("ok", though nothing was acknowledged).
    Every request must see its own 500."""
    async with stale_server(split=True) as server, aiohttp.ClientSession() as session:
        client = _client(server.base_url)

        async def worker(n: int) -> list[str]:
            reasons = []
            for k in range(15):
                if k % 2:
                    result = await client.profile_with(session, f"id-{n}-{k}")
                else:
                    result = await client.delete_with(session, [f"id-{n}-{k}"])
                reasons.append(result.reason)
            return reasons

        reasons = [r for rs in await asyncio.gather(*map(worker, range(12))) for r in rs]
    assert set(reasons) == {"HTTP 500"}, sorted(set(reasons))


async def test_decisive_answers_keep_their_connection(
    script: Script, session: aiohttp.ClientSession,
) -> None:
    """Only an error answer costs the connection: lookups answered with the not-found fail
    body (what a verify of gone profiles mostly sees), found profiles and delete successes
    all travel over one kept-alive connection."""
    peers: set[object] = set()

    async def handler(request: web.Request) -> web.StreamResponse:
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        if request.method == "POST":
            return web.Response(body=b'{"status": "success"}')
        if request.query.get("objectId", "").startswith("gone"):
            return web.Response(body=fail_body("User not found", 404))
        return web.Response(body=b'{"status": "success", "record": {"name": "x"}}')

    script.handler = handler
    client = script.client()
    results = [await client.profile_with(session, f"gone-{n}") for n in range(4)]
    results.append(await client.profile_with(session, "here"))
    results.append(await client.delete_with(session, ["a", "b"]))
    assert [r.outcome for r in results] == [Outcome.SUCCESS] * 6, results
    assert [r.reason for r in results[:5]] == ["gone"] * 4 + ["present"], results
    assert len(peers) == 1, peers
