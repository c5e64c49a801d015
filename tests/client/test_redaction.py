"""The passcode never reaches a Result (docs/guarantees.md §8), however the server echoes
it back.
"""

from __future__ import annotations

import json

import aiohttp
import pytest

from bulkdelete.client import ClevertapClient, Outcome
from bulkdelete.settings import Secret
from tests.client.support import ACCOUNT, Script, answer, fail_body

ODD_PASSCODE = 'p\\a"ss-w\u00f6rd/+ 9'  # a backslash, a quote, non-ASCII, URL specials


def pieces(secret: str, size: int = 4) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def echo_cases() -> list[tuple[str, int, bytes]]:
    """Answers that echo ODD_PASSCODE in every form the guarantees name."""
    escaped = json.dumps(ODD_PASSCODE)[1:-1]
    lead = "x" * 195  # the echo starts just before a 200-character cut
    return [
        ("raw, across the cut", 400, fail_body(lead + ODD_PASSCODE + " tail", 400)),
        ("raw, at the start", 400, fail_body(ODD_PASSCODE + " was refused", 400)),
        ("non-string error", 400, json.dumps(
            {"status": "fail", "code": 400, "error": {"headers": {"passcode": ODD_PASSCODE}}}
        ).encode()),
        ("JSON-escaped in an HTML page", 200,
         f"<html><pre>{{\"X-CleverTap-Passcode\": \"{escaped}\"}}</pre></html>".encode()),
        ("escaped twice", 400, fail_body(json.dumps({"passcode": escaped}), 400)),
        ("cut off by the server", 400, fail_body("bad request, passcode=" + ODD_PASSCODE[:9], 400)),
    ]


@pytest.mark.parametrize(("status", "body"), [c[1:] for c in echo_cases()],
                         ids=[c[0] for c in echo_cases()])
async def test_an_echoed_passcode_never_reaches_the_detail(
    script: Script, session: aiohttp.ClientSession, status: int, body: bytes
) -> None:
    """Server text that echoes the passcode — raw, escaped, JSON-encoded, inside a
    non-string error, split by the 200-character cut or cut off by the server — keeps
    no piece of it (4 characters or more) in the Result, which goes to the reasons file."""
    script.handler = answer(status, body)
    client = ClevertapClient(base_url=script.base_url, account_id=ACCOUNT,
                             passcode=Secret(ODD_PASSCODE), id_type="guid", timeout=2.0)
    result = await client.delete_with(session, ["a"])
    assert result.outcome in (Outcome.REJECTED, Outcome.RETRYABLE)
    assert result.detail  # the server's text is kept, only the passcode is gone
    text = repr(result)
    forms = {ODD_PASSCODE, json.dumps(ODD_PASSCODE)[1:-1]}
    leaked = {piece for form in forms for piece in pieces(form) if piece in text}
    assert not leaked, result.detail
