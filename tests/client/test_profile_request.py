"""The lookup the client sends for verify and the preflight (docs/api.md: Get User Profile):
a GET of /1/profile.json by ``identity`` or, for GUIDs, ``objectId``, with the documented
headers and no body; its answer classified as gone, present or not decisive."""

from __future__ import annotations

import json

import aiohttp
import pytest

from bulkdelete.answer import Verdict, verdict
from bulkdelete.client import Outcome
from bulkdelete.settings import PROFILE_PATH, IdType
from tests.client.support import (
    ACCOUNT,
    PASSCODE,
    Script,
    answer,
    assert_no_secret,
    client_for,
    fail_body,
)

PRESENT_BODY = json.dumps({"status": "success", "record": {"identity": "u-1"}})


@pytest.mark.parametrize(("id_type", "key"), [("identity", "identity"), ("guid", "objectId")])
async def test_asks_by_the_id_types_key(
    script: Script, session: aiohttp.ClientSession, id_type: IdType, key: str
) -> None:
    script.handler = answer(200, PRESENT_BODY)
    result = await script.client(id_type).profile_with(session, "u 1&x=2")

    assert verdict(result) is Verdict.PRESENT
    [seen] = script.seen
    assert (seen.method, seen.path, seen.body) == ("GET", PROFILE_PATH, b"")
    assert seen.query == {key: "u 1&x=2"}  # one parameter, the ID escaped whole
    assert seen.headers["X-CleverTap-Account-Id"] == ACCOUNT
    assert seen.headers["X-CleverTap-Passcode"] == PASSCODE
    assert_no_secret(result)


async def test_the_preflight_key_overrides_the_id_type(
    script: Script, session: aiohttp.ClientSession
) -> None:
    script.handler = answer(200, '{"status": "success"}')
    result = await script.client("guid").profile_with(session, "abc", key="identity")

    assert script.seen[0].query == {"identity": "abc"}
    # The bare success answer has no record: the profile is not there.
    assert verdict(result) is Verdict.GONE


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, PRESENT_BODY, Verdict.PRESENT),
        (200, '{"status": "success", "record": {}}', Verdict.GONE),
        (200, fail_body("Profile not found", 404), Verdict.GONE),
        (200, fail_body("User does not exist", 404), Verdict.GONE),
        # Only a 200 decides: the same text under an HTTP 404 is not CleverTap's answer.
        (404, fail_body("User does not exist", 404), Verdict.UNKNOWN),
        (200, fail_body("Internal error", 500), Verdict.UNKNOWN),
        (500, fail_body("not found", 500), Verdict.UNKNOWN),
        (400, fail_body("Invalid identity", 400), Verdict.UNKNOWN),
        (200, "<html>gateway</html>", Verdict.UNKNOWN),
    ],
)
async def test_answers_map_to_a_verdict(
    script: Script, session: aiohttp.ClientSession, status: int, body: str, expected: Verdict
) -> None:
    script.handler = answer(status, body)
    assert verdict(await script.client("identity").profile_with(session, "u-1")) is expected


@pytest.mark.parametrize("status", [401, 403])
async def test_bad_credentials_are_fatal_even_when_the_text_says_not_found(
    script: Script, session: aiohttp.ClientSession, status: int
) -> None:
    script.handler = answer(status, fail_body("account not found", status))
    result = await script.client("identity").profile_with(session, "u-1")

    assert result.outcome is Outcome.FATAL
    assert verdict(result) is Verdict.UNKNOWN


async def test_an_unreachable_host_is_unreached_not_gone(session: aiohttp.ClientSession) -> None:
    result = await client_for("http://127.0.0.1:9").profile_with(session, "u-1")
    assert result.outcome is Outcome.UNREACHED
    assert verdict(result) is Verdict.UNKNOWN
