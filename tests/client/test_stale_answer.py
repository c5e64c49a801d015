"""docs/guarantees.md, "answers taken at their word": a connection is never reused after an
error answer, so an extra answer a broken server or proxy writes after it is never read as
the next request's."""

from __future__ import annotations

import asyncio

import aiohttp

from bulkdelete.client import ClevertapClient, Outcome
from bulkdelete.settings import Secret
from tests.client.stale import stale_server
from tests.client.support import ACCOUNT, PASSCODE


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
