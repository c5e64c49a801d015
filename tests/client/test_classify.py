"""``classify``, row by row of the client's table (docs/api.md, docs/guarantees.md §6):
the status and body of an answer decide its outcome, reason and detail.
"""

from __future__ import annotations

import pytest

from bulkdelete.client import Outcome, classify
from tests.client.support import fail_body


def test_200_success_is_success() -> None:
    """HTTP 200 ``{"status": "success"}`` is the one success."""
    result = classify(200, b'{"status": "success"}')
    assert result.outcome is Outcome.SUCCESS
    assert result.status == 200


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (429, Outcome.THROTTLED),
        (500, Outcome.RETRYABLE),
        (503, Outcome.RETRYABLE),
        (400, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (401, Outcome.FATAL),
        (403, Outcome.FATAL),
    ],
)
def test_200_with_fail_body_is_classified_by_its_code(code: int, outcome: Outcome) -> None:
    """A 2xx whose body says ``"status": "fail"`` is a failure, classified by ``code``:
    429 paced, 5xx retried, 4xx rejected, 401/403 fatal; the error text is kept as detail."""
    result = classify(200, fail_body("something went wrong", code))
    assert result.outcome is outcome
    assert result.status == 200
    assert str(code) in result.reason
    assert result.detail == "something went wrong"


def test_200_with_fail_body_code_as_string_is_understood() -> None:
    """``"code": "429"`` (a digit string) counts like the number."""
    body = b'{"status": "fail", "error": "Too many concurrent requests", "code": "429"}'
    assert classify(200, body).outcome is Outcome.THROTTLED


@pytest.mark.parametrize(
    "body",
    [
        b'{"status": "fail", "error": "oops"}',
        b'{"status": "fail", "error": "oops", "code": null}',
        b'{"status": "fail", "error": "oops", "code": "abc"}',
        b'{"status": "fail", "error": "oops", "code": true}',
    ],
)
def test_200_with_fail_body_and_no_usable_code_is_retryable(body: bytes) -> None:
    """A fail body without a usable code cannot be blamed on the IDs: retry it."""
    result = classify(200, body)
    assert result.outcome is Outcome.RETRYABLE
    assert "no code" in result.reason


def test_200_fail_body_429_carries_retry_after() -> None:
    """Retry-After travels with an in-body 429 just as with an HTTP 429."""
    body = fail_body("Too many concurrent requests", 429)
    assert classify(200, body, retry_after=4.0).retry_after == 4.0


def test_400_is_rejected_with_the_server_detail() -> None:
    """400 means the request as sent is refused: REJECTED (bisection isolates why), with the
    server's own error text as detail and the body code noted when it differs."""
    result = classify(400, fail_body("Invalid identity: x", 400))
    assert result.outcome is Outcome.REJECTED
    assert result.status == 400
    assert result.detail == "Invalid identity: x"
    assert "code" not in result.reason  # same as the status: not repeated
    other = classify(400, fail_body("bad", 512))
    assert "code 512" in other.reason


@pytest.mark.parametrize(("status", "words"), [(401, "credentials"), (403, "not allowed")])
def test_401_and_403_are_fatal(status: int, words: str) -> None:
    """Credentials or permissions: no retry can fix them, the run must stop."""
    result = classify(status, fail_body("Invalid Credentials", status))
    assert result.outcome is Outcome.FATAL
    assert result.status == status
    assert words in result.reason


@pytest.mark.parametrize("status", [404, 405])
def test_404_and_405_are_fatal_wrong_url(status: int) -> None:
    """No delete endpoint at this address: the reason points at --region/--base-url."""
    result = classify(status, b"<html>Not Found</html>")
    assert result.outcome is Outcome.FATAL
    assert "--base-url" in result.reason


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_fatal(status: int) -> None:
    """A redirect means the wrong host: never follow it with the passcode, stop instead."""
    result = classify(status, b"")
    assert result.outcome is Outcome.FATAL
    assert "redirect" in result.reason


def test_429_is_throttled_with_retry_after() -> None:
    """HTTP 429 is paced by the limiter (THROTTLED), keeping the Retry-After it came with."""
    result = classify(429, fail_body("Too many concurrent requests", 429), retry_after=2.5)
    assert result.outcome is Outcome.THROTTLED
    assert result.retry_after == 2.5
    assert result.status == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_5xx_and_408_are_retryable(status: int) -> None:
    """Server-side and timeout statuses are retried; a JSON body is not called non-JSON."""
    result = classify(status, fail_body("Internal error", status))
    assert result.outcome is Outcome.RETRYABLE
    assert result.reason == f"HTTP {status}"


@pytest.mark.parametrize("status", [0, 1, 99, 100, 199])
def test_a_status_below_200_is_retryable_never_a_rejection(status: int) -> None:
    """No valid final answer has such a status (aiohttp passes on a "000"): it says nothing
    about the request, so its IDs are retried, not bisected into the failed file."""
    result = classify(status, fail_body("Invalid identity", 400))
    assert result.outcome is Outcome.RETRYABLE


def test_503_with_html_body_is_retryable() -> None:
    """A load balancer's HTML 503 page is retryable and flagged as non-JSON."""
    result = classify(503, b"<html><body><h1>503 Service Unavailable</h1></body></html>")
    assert result.outcome is Outcome.RETRYABLE
    assert result.status == 503
    assert "non-JSON" in result.reason


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>OK</body></html>",
        b"",
        b"\xff\xfe\x00garbage",
        b'{"status": "succ',
        b'"success"',
        b"[]",
        b'{"status": "pending"}',
        b"{}",
        b'{"error": "x", "code": 200}',
        b"null",
    ],
)
def test_200_with_unrecognised_body_is_retryable(body: bytes) -> None:
    """A 200 that is not a recognisable success or fail object (HTML, empty, undecodable,
    cut-off, wrong JSON shape) is never taken as a success: it is retried."""
    result = classify(200, body)
    assert result.outcome is Outcome.RETRYABLE
    assert result.status == 200
    assert "unrecognised body" in result.reason


def test_deeply_nested_garbage_body_is_retryable_not_a_crash() -> None:
    """Any body is classified, never raised: a pathological nesting depth from a broken
    proxy is an unparseable answer (RETRYABLE), not an exception through the engine."""
    assert classify(200, b"[" * 100_000).outcome is Outcome.RETRYABLE


def test_detail_is_short_and_single_line() -> None:
    """The server's text is collapsed to one line and capped, so one answer cannot flood the
    reasons file."""
    result = classify(400, fail_body("line one\n  line two " + "x" * 1000, 400))
    assert "\n" not in result.detail
    assert result.detail.startswith("line one line two x")
    assert len(result.detail) == 200
