"""Answers from the wire, classified (docs/guarantees.md §6): the real ``ClevertapClient``
against aiohttp's test server, whose handler answers from a per-test script.
"""

from __future__ import annotations

import aiohttp

from bulkdelete.client import Outcome
from bulkdelete.settings import DELETE_PATH
from tests.client.support import Script, answer, assert_no_secret, fail_body


async def test_500_is_retryable(script: Script, session: aiohttp.ClientSession) -> None:
    """An HTTP 500 with CleverTap's JSON body is RETRYABLE."""
    script.handler = answer(500, fail_body("Internal error", 500))
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.RETRYABLE
    assert result.status == 500
    assert_no_secret(result)


async def test_html_503_is_retryable(script: Script, session: aiohttp.ClientSession) -> None:
    """A proxy's HTML 503 page is RETRYABLE, flagged as a non-JSON body."""
    script.handler = answer(
        503, "<html><body>Service Unavailable</body></html>", **{"Content-Type": "text/html"}
    )
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.RETRYABLE
    assert result.status == 503
    assert "non-JSON" in result.reason


async def test_400_with_detail_is_rejected(script: Script, session: aiohttp.ClientSession) -> None:
    """A 400 is REJECTED with the server's error text as detail (kept beside the failed file)
    and an ID-free reason."""
    script.handler = answer(400, fail_body("Invalid guid: bad-id", 400))
    result = await script.client().delete_with(session, ["bad-id"])
    assert result.outcome is Outcome.REJECTED
    assert result.status == 400
    assert result.detail == "Invalid guid: bad-id"
    assert "bad-id" not in result.reason
    assert_no_secret(result)


async def test_401_is_fatal(script: Script, session: aiohttp.ClientSession) -> None:
    """Invalid credentials stop the run (FATAL), and the result does not echo the passcode."""
    script.handler = answer(401, fail_body("Invalid Credentials", 401))
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.FATAL
    assert result.status == 401
    assert_no_secret(result)


async def test_200_fail_body_429_from_the_wire(
    script: Script, session: aiohttp.ClientSession
) -> None:
    """A 200 whose body is a fail with code 429 is THROTTLED, not a success."""
    script.handler = answer(200, fail_body("Too many concurrent requests", 429))
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.THROTTLED


async def test_redirect_is_fatal_and_not_followed(
    script: Script, session: aiohttp.ClientSession
) -> None:
    """A 302 is FATAL and the client does not follow it: the passcode is sent exactly once,
    to the configured URL, never to the Location."""
    script.handler = answer(302, "", Location="/elsewhere")
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.FATAL
    assert result.status == 302
    assert [seen.path for seen in script.seen] == [DELETE_PATH]
