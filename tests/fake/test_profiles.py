"""The fake server's Get User Profile (docs/fake-server.md), asked through the real client:
present until a delete is acknowledged, gone after the purge delay, re-created profiles
present, unclear ones never decisive; its own in-flight limit, credentials and counts."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import aiohttp

from bulkdelete.answer import Verdict, verdict
from bulkdelete.client import ClevertapClient, Outcome
from bulkdelete.fake import FakeServer
from bulkdelete.fake.config import add_cli_arguments, config_from_args
from bulkdelete.settings import PROFILE_PATH, IdType, Secret
from tests.conftest import ServerFactory
from tests.fake.conftest import HEADERS, post


def client(server: FakeServer, id_type: IdType = "identity",
           passcode: str = "fake-passcode") -> ClevertapClient:
    return ClevertapClient(base_url=server.base_url, account_id="FAKE-ACCOUNT",
                           passcode=Secret(passcode), id_type=id_type, timeout=5.0)


async def look(session: aiohttp.ClientSession, server: FakeServer, ident: str,
               id_type: IdType = "identity") -> Verdict:
    return verdict(await client(server, id_type).profile_with(session, ident))


async def test_present_until_deleted_then_gone(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    async with serve() as server:
        assert await look(session, server, "u-1") is Verdict.PRESENT
        assert await post(session, server, {"identity": ["u-1"]}) == (200, {"status": "success"})
        assert await look(session, server, "u-1") is Verdict.GONE
        assert await look(session, server, "u-2") is Verdict.PRESENT
    assert server.stats.looked_up == {"u-1": 2, "u-2": 1}
    assert server.stats.profile_requests == 3
    assert server.stats.requests == 1  # the deletes' counters count POSTs only


async def test_gone_only_after_the_purge_delay(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    async with serve(purge_delay=0.4) as server:
        await post(session, server, {"identity": ["u-1"]})
        assert await look(session, server, "u-1") is Verdict.PRESENT
        await asyncio.sleep(0.5)
        assert await look(session, server, "u-1") is Verdict.GONE


async def test_recreated_and_unclear_profiles(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    async with serve(recreated_ids=frozenset({"back"}), unclear_ids=frozenset({"fog"})) as server:
        await post(session, server, {"identity": ["back", "fog", "gone"]})
        assert await look(session, server, "back") is Verdict.PRESENT
        assert await look(session, server, "gone") is Verdict.GONE
        result = await client(server).profile_with(session, "fog")
        assert (result.outcome, result.status) == (Outcome.RETRYABLE, 200)
        assert verdict(result) is Verdict.UNKNOWN


async def test_guids_are_asked_by_object_id(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    async with serve() as server:
        await post(session, server, {"guid": ["g-1"]})
        assert await look(session, server, "g-1", "guid") is Verdict.GONE
        url = server.base_url + PROFILE_PATH
        for query in ({}, {"identity": "a", "objectId": "b"}, {"identity": ""}):
            async with session.get(url, params=query, headers=HEADERS) as response:
                assert response.status == 400


async def test_bad_credentials_get_401(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    async with serve() as server:
        result = await client(server, passcode="wrong").profile_with(session, "u-1")
    assert (result.outcome, result.status) == (Outcome.FATAL, 401)
    assert server.stats.unauthorized == 1


async def test_lookups_have_their_own_in_flight_limit(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """As at the API, the limit is per API: three lookups in flight do not block a delete,
    and a fourth lookup is throttled."""
    async with serve(concurrency_limit=3, latency=0.3) as server:
        lookups = [client(server).profile_with(session, f"u-{i}") for i in range(4)]
        results, (status, _) = await asyncio.gather(
            asyncio.gather(*lookups), post(session, server, {"identity": ["x"]}))
    assert status == 200
    assert sorted(r.outcome.value for r in results).count(Outcome.THROTTLED.value) == 1
    assert server.stats.lookups_in_flight.peak == 3
    assert server.stats.peak_in_flight == 1


async def test_command_line_knobs(tmp_path: Path, serve: ServerFactory,
                                  session: aiohttp.ClientSession) -> None:
    (tmp_path / "back.txt").write_text("b-1\nb-2\n")
    (tmp_path / "fog.txt").write_text("f-1\n")
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    config = config_from_args(parser.parse_args([
        "--purge-delay", "2.5", "--recreated-file", str(tmp_path / "back.txt"),
        "--unclear-file", str(tmp_path / "fog.txt"), "--forget-deletes"]))
    assert config.purge_delay == 2.5
    assert config.recreated_ids == {"b-1", "b-2"}
    assert config.unclear_ids == {"f-1"}
    assert not config.remember_deletes
    # Forgetting deletes, the server cannot answer a lookup truthfully: it says so.
    async with serve(remember_deletes=False) as server:
        result = await client(server).profile_with(session, "u-1")
    assert (result.outcome, result.status) == (Outcome.RETRYABLE, 503)
