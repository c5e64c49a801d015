"""Helpers shared by the client tests: the test account, CleverTap's fail body, and the
scripted aiohttp test server the real ``ClevertapClient`` talks to (its fixtures are in
this folder's conftest.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from bulkdelete.client import ClevertapClient
from bulkdelete.settings import IdType, Secret

ACCOUNT = "TEST-ACCOUNT"
PASSCODE = "s3cr3t-PASSCODE-never-printed"


def fail_body(error: str, code: int) -> bytes:
    return json.dumps({"status": "fail", "error": error, "code": code}).encode()


# What a test scripts: the scripted server's answer to every request.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """One request as the scripted server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Script:
    """The per-test answer: ``handler`` answers every request; ``seen`` records them."""

    base_url: str
    handler: Handler | None = None
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def client(self, id_type: IdType = "guid", timeout: float = 2.0) -> ClevertapClient:
        return ClevertapClient(
            base_url=self.base_url,
            account_id=ACCOUNT,
            passcode=Secret(PASSCODE),
            id_type=id_type,
            timeout=timeout,
        )


def answer(status: int, body: bytes | str, **headers: str) -> Handler:
    """A handler that answers every request with this status, body and headers."""

    async def handler(request: web.Request) -> web.StreamResponse:
        text = body.encode() if isinstance(body, str) else body
        return web.Response(status=status, body=text, headers=headers)

    return handler


def assert_no_secret(*values: object) -> None:
    """Neither the repr nor the str of any value shows the passcode."""
    for value in values:
        assert PASSCODE not in repr(value)
        assert PASSCODE not in str(value)


def client_for(base_url: str) -> ClevertapClient:
    """A client for ``base_url`` that no scripted server answers (for unreached hosts)."""
    return ClevertapClient(base_url=base_url, account_id=ACCOUNT, passcode=Secret(PASSCODE),
                           id_type="guid", timeout=2.0)
