"""Retry-After (docs/api.md): seconds or an HTTP date, garbage ignored, negatives zero,
capped at five minutes — parsed alone, then read off a 429 on the wire.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp
import pytest

from bulkdelete.client import MAX_RETRY_AFTER, Outcome, parse_retry_after
from tests.client.support import Script, answer, assert_no_secret, fail_body


@pytest.mark.parametrize(("value", "seconds"), [("5", 5.0), (" 7 ", 7.0), ("0.5", 0.5), ("0", 0.0)])
def test_retry_after_seconds(value: str, seconds: float) -> None:
    """delta-seconds, integer or fractional, surrounding space ignored."""
    assert parse_retry_after(value) == seconds


def test_retry_after_http_date_is_relative_to_now() -> None:
    """An HTTP date means "until then": seconds from ``now``; a past date means no wait."""
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    header = format_datetime(when, usegmt=True)
    assert parse_retry_after(header, now=when.timestamp() - 12) == pytest.approx(12.0)
    assert parse_retry_after(header, now=when.timestamp() + 60) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "Wed, 99 Foo 2015", "nan"])
def test_retry_after_garbage_is_ignored(value: str | None) -> None:
    """Anything unparseable is as if the header were absent (None), never an error."""
    assert parse_retry_after(value) is None


def test_retry_after_negative_is_zero() -> None:
    """A negative delay means "now", never a negative sleep."""
    assert parse_retry_after("-5") == 0.0


@pytest.mark.parametrize("value", ["301", "86400", "1e9", "inf"])
def test_retry_after_is_capped_at_five_minutes(value: str) -> None:
    """docs/guarantees.md §5: honour Retry-After, but never wait more than 300 s for one."""
    assert MAX_RETRY_AFTER == 300.0
    assert parse_retry_after(value) == 300.0


def test_retry_after_far_future_date_is_capped() -> None:
    """A date a day away waits only the 5-minute cap."""
    when = datetime(2030, 1, 2, tzinfo=UTC)
    header = format_datetime(when, usegmt=True)
    assert parse_retry_after(header, now=when.timestamp() - 86_400) == 300.0


async def test_429_with_retry_after(script: Script, session: aiohttp.ClientSession) -> None:
    """An HTTP 429 is THROTTLED and carries the server's Retry-After, in seconds."""
    script.handler = answer(
        429, fail_body("Too many concurrent requests", 429), **{"Retry-After": "7"}
    )
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.THROTTLED
    assert result.status == 429
    assert result.retry_after == 7.0
    assert_no_secret(result)


async def test_429_retry_after_is_capped(script: Script, session: aiohttp.ClientSession) -> None:
    """A huge Retry-After from the wire is capped at 5 minutes before it reaches the limiter."""
    script.handler = answer(429, "", **{"Retry-After": "99999"})
    result = await script.client().delete_with(session, ["a"])
    assert result.retry_after == MAX_RETRY_AFTER
