"""The fake server's Get User Profile (docs/fake-server.md): which profiles exist.

Every ID is present until a delete of it is acknowledged, and gone ``purge_delay`` seconds
later, as CleverTap purges some hours after a delete; re-created IDs stay present, unclear
ones always get a fail body with code 500. Verify classifies these answers (docs/verify.md).
"""

from __future__ import annotations

import json
import time

from aiohttp import web

import bulkdelete.fake.answers as answers
from bulkdelete.fake.config import FakeServerConfig, FakeServerStats

KEYS = ("identity", "objectId")


class ProfileBook:
    """When each acknowledged ID's delete was first acknowledged, and the lookups' counts."""

    def __init__(self, stats: FakeServerStats) -> None:
        self._stats = stats
        self._deleted_at: dict[str, float] = {}

    def deleted(self, ids: list[str]) -> None:
        now = time.monotonic()
        for ident in ids:
            self._deleted_at.setdefault(ident, now)

    def answer(self, request: web.BaseRequest, config: FakeServerConfig) -> tuple[bytes, int]:
        """The body and status for an admitted lookup, or a 400 for a malformed one."""
        keys = [key for key in KEYS if key in request.query]
        if len(keys) != 1 or len(request.query) != 1:
            return answers.LOOKUP_ONE_KEY, 400
        ident = request.query[keys[0]]
        if not ident:
            return answers.LOOKUP_ONE_KEY, 400
        if config.keep_ids:
            self._stats.looked_up[ident] += 1
        if not config.remember_deletes:
            return answers.LOOKUPS_OFF, 503
        if ident in config.unclear_ids:
            return answers.FAIL_BODY, 200
        deleted_at = self._deleted_at.get(ident)
        if (ident in config.recreated_ids or deleted_at is None
                or time.monotonic() - deleted_at < config.purge_delay):
            record = {keys[0]: ident, "profileData": {}}
            return json.dumps({"status": "success", "record": record}).encode(), 200
        return answers.PROFILE_NOT_FOUND, 200
