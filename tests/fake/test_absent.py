"""The fake server's known-profile set (docs/fake-server.md, "Profiles that never existed"):
identities and objectIds are separate namespaces, part of an input can name no profile
(a file, a share by hash), a random 32-hex ID names none, and a profile that never existed
answers exactly as a deleted one does."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

import aiohttp
import pytest

from bulkdelete.answer import Verdict
from bulkdelete.fake.config import (
    FakeServerConfig,
    absent_by_share,
    add_cli_arguments,
    config_from_args,
)
from tests.conftest import ServerFactory, make_ids
from tests.fake.conftest import HEADERS, post
from tests.fake.test_profiles import look


async def test_identities_and_object_ids_are_separate_namespaces(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """A delete under ``guid`` marks the objectId only; with profiles under identity only,
    an objectId lookup finds nothing."""
    async with serve() as server:
        await post(session, server, {"guid": ["x-1"]})
        assert await look(session, server, "x-1", "guid") is Verdict.GONE
        assert await look(session, server, "x-1", "identity") is Verdict.PRESENT
        await post(session, server, {"identity": ["x-2"]})
        assert await look(session, server, "x-2", "guid") is Verdict.PRESENT
    async with serve(profiles_under="identity") as server:
        assert await look(session, server, "x-3", "identity") is Verdict.PRESENT
        assert await look(session, server, "x-3", "guid") is Verdict.GONE


async def test_absent_ids_answer_as_a_deleted_profile_does(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """Never existed and gone look the same to the API: byte for byte the same answer."""
    async with serve(absent_ids=frozenset({"never"})) as server:
        await post(session, server, {"identity": ["gone"]})
        url = server.base_url + "/1/profile.json"
        bodies = []
        for ident in ("never", "gone"):
            async with session.get(url, params={"identity": ident},
                                   headers=HEADERS) as response:
                bodies.append((response.status, await response.read()))
            assert await look(session, server, ident, "guid") is (
                Verdict.GONE if ident == "never" else Verdict.PRESENT)
    assert bodies[0] == bodies[1]


async def test_a_known_set_names_the_only_profiles(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    async with serve(known_ids=frozenset({"k-1"})) as server:
        assert await look(session, server, "k-1") is Verdict.PRESENT
        assert await look(session, server, "k-1", "guid") is Verdict.PRESENT
        assert await look(session, server, "other") is Verdict.GONE


async def test_an_absent_share_follows_the_published_rule(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """The server's absent IDs are exactly those ``absent_by_share`` names: about the share."""
    ids = make_ids(400)
    expected = {i for i in ids if absent_by_share(i, 0.3)}
    assert 0.2 < len(expected) / len(ids) < 0.4
    async with serve(absent_share=0.3, concurrency_limit=0) as server:
        found = {i for i in ids if await look(session, server, i) is Verdict.GONE}
    assert found == expected
    assert not any(absent_by_share(i, 0.0) for i in ids)
    assert all(absent_by_share(i, 1.0) for i in ids)


async def test_a_random_id_names_no_profile_unless_asked(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    probe = secrets.token_hex(16)
    async with serve() as server:
        assert await look(session, server, probe) is Verdict.GONE
        assert await look(session, server, probe, "guid") is Verdict.GONE
    async with serve(random_ids_present=True) as server:
        assert await look(session, server, probe) is Verdict.PRESENT


def test_command_line_knobs(tmp_path: Path) -> None:
    (tmp_path / "absent.txt").write_text("a-1\n\na-2\n")
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    config = config_from_args(parser.parse_args([
        "--absent-file", str(tmp_path / "absent.txt"), "--absent-share", "0.25",
        "--known-file", str(tmp_path / "absent.txt"),
        "--profiles-under", "objectId", "--random-ids-present"]))
    assert config.absent_ids == config.known_ids == {"a-1", "a-2"}
    assert config.absent_share == 0.25
    assert config.profiles_under == "objectId"
    assert config.random_ids_present
    with pytest.raises(ValueError, match="absent_share"):
        FakeServerConfig(absent_share=1.5)
    with pytest.raises(ValueError, match="profiles_under"):
        FakeServerConfig(profiles_under="email")

