"""The request the client sends (docs/api.md): method, path, the three documented headers
and a JSON body of exactly the IDs; the passcode never in the client's repr.
"""

from __future__ import annotations

import json

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from bulkdelete.client import ClevertapClient, Deleter, Outcome
from bulkdelete.settings import DELETE_PATH, IdType, Secret
from tests.client.support import ACCOUNT, PASSCODE, Script, answer, assert_no_secret


async def test_sends_the_documented_request(
    script: Script, session: aiohttp.ClientSession
) -> None:
    """POST to /1/delete/profiles.json with exactly the three documented headers and a
    ``{"guid": [...]}`` body carrying the IDs in order; 200 success is SUCCESS."""
    script.handler = answer(200, '{"status": "success"}', **{"Content-Type": "application/json"})
    ids = ["g-1", "g-2", "g-3"]
    result = await script.client("guid").delete_with(session, ids)

    assert result.outcome is Outcome.SUCCESS
    assert result.status == 200
    [seen] = script.seen
    assert seen.method == "POST"
    assert seen.path == DELETE_PATH == "/1/delete/profiles.json"
    assert seen.headers["X-CleverTap-Account-Id"] == ACCOUNT
    assert seen.headers["X-CleverTap-Passcode"] == PASSCODE
    assert seen.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(seen.body) == {"guid": ids}
    assert_no_secret(result)


async def test_identity_body_is_utf8_json(script: Script, session: aiohttp.ClientSession) -> None:
    """id_type identity puts the IDs under ``identity`` only (never both keys), as UTF-8."""
    script.handler = answer(200, '{"status": "success"}')
    ids = ["alice@example.com", "Zoë", "用户-7"]
    result = await script.client("identity").delete_with(session, ids)

    assert result.outcome is Outcome.SUCCESS
    [seen] = script.seen
    assert json.loads(seen.body.decode("utf-8")) == {"identity": ids}


async def test_bound_client_is_a_deleter(script: Script, session: aiohttp.ClientSession) -> None:
    """``bind(session)`` gives the engine's Deleter, sending the same request."""
    script.handler = answer(200, '{"status": "success"}')
    deleter: Deleter = script.client().bind(session)
    result = await deleter.delete(["x"])
    assert result.outcome is Outcome.SUCCESS
    assert json.loads(script.seen[0].body) == {"guid": ["x"]}


def test_client_repr_hides_the_passcode() -> None:
    """repr(client) shows where it sends, never the headers holding the passcode."""
    client = ClevertapClient(
        base_url="https://api.clevertap.com/",
        account_id=ACCOUNT,
        passcode=Secret(PASSCODE),
        id_type="guid",
        timeout=1.0,
    )
    assert_no_secret(client)
    assert "https://api.clevertap.com/1/delete/profiles.json" in repr(client)


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=100),
       st.sampled_from(["guid", "identity"]))
def test_body_is_the_json_document_whatever_the_ids(ids: list[str], id_type: IdType) -> None:
    """The request body parses to exactly {id_type: ids} for any IDs — quotes, backslashes,
    control characters and non-ASCII included."""
    client = ClevertapClient(base_url="http://127.0.0.1:1", account_id="A",
                             passcode=Secret("p"), id_type=id_type, timeout=1)
    assert json.loads(client.body(ids)) == {id_type: ids}
