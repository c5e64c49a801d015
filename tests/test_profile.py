"""The lookup classifier (docs/verify.md, "Gone, present, unknown"): only the documented
"gone" shapes are ever gone, whatever the status and body; a property test over generated
answers, and one unit case per shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.answer import Outcome
from bulkdelete.profile import Verdict, classify_profile, verdict

PHRASES = ("not found", "does not exist", "no such", "no user", "no profile", "not exist")
ABSENT = object()  # a key left out of the body altogether
EMPTY_RECORDS: tuple[Any, ...] = (ABSENT, None, {}, [], "")


def contract_gone(status: int, body: bytes) -> bool:
    """The gone shapes, written independently of bulkdelete.profile."""
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    if not isinstance(payload, dict):
        return False
    if payload.get("status") == "success":
        return status == 200 and payload.get("record") in (None, {}, [], "")
    error = payload.get("error")
    return (
        payload.get("status") == "fail"
        and status not in (401, 403, 429)
        and not 500 <= status < 600
        and isinstance(error, str)
        and any(phrase in error.casefold() for phrase in PHRASES)
    )


def contract_present(status: int, body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(payload, dict)
        and status == 200
        and payload.get("status") == "success"
        and payload.get("record") not in (None, {}, [], "")
    )


def body_of(fields: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in fields.items() if v is not ABSENT}).encode()


# --------------------------------------------------------------------------- strategies

statuses = st.one_of(
    st.sampled_from([200, 201, 202, 204, 206, 301, 400, 401, 403, 404, 405, 408, 409, 410,
                     422, 429, 500, 502, 503, 504, 599]),
    st.integers(min_value=100, max_value=599),
)


@st.composite
def mixed_case(draw: st.DrawFn, phrase: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(phrase), max_size=len(phrase)))
    return "".join(c.upper() if flip else c for c, flip in zip(phrase, flips, strict=True))


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ .:-'0123456789", max_size=20)
errors = st.one_of(
    words,
    st.tuples(words, st.sampled_from(PHRASES).flatmap(mixed_case), words).map("".join),
    # Near misses that must not count: a phrase cut or spaced differently.
    st.sampled_from(["not-found", "notfound", "no-such", "found", "exists", "no  user",
                     "Profile found", "user", "Internal error"]),
)
records = st.one_of(
    st.sampled_from(EMPTY_RECORDS),
    st.sampled_from([{"name": "A"}, [1], "x", 0, False, {"": None}, [None]]),
)
json_bodies = st.builds(
    lambda status, record, error, code: body_of(
        {"status": status, "record": record, "error": error, "code": code}),
    st.sampled_from([ABSENT, "success", "fail", "FAIL", "Success", "ok", None, 1]),
    records,
    st.one_of(st.just(ABSENT), errors, st.sampled_from([None, 404, ["not found"],
                                                        {"msg": "not found"}])),
    st.one_of(st.just(ABSENT), st.sampled_from([200, 400, 404, 429, 500, "404", None])),
)
other_bodies = st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b"", b"<html>404 Not Found</html>", b"Not Found", b"null", b"[]",
                     b'"not found"', b'{"status": "fail", "error": "not fou',
                     b'{"status": "success", "record": {}']),
)
bodies = st.one_of(json_bodies, other_bodies)


@settings(max_examples=1500, deadline=None)
@given(status=statuses, body=bodies)
def test_gone_only_for_the_documented_shapes(status: int, body: bytes) -> None:
    result = classify_profile(status, body)
    assert (verdict(result) is Verdict.GONE) == contract_gone(status, body)
    assert (verdict(result) is Verdict.PRESENT) == contract_present(status, body)


@settings(max_examples=300, deadline=None)
@given(status=st.integers(min_value=0, max_value=999), body=bodies)
def test_never_gone_outside_the_shapes_whatever_the_status(status: int, body: bytes) -> None:
    if verdict(classify_profile(status, body)) is Verdict.GONE:
        assert contract_gone(status, body)
        assert status == 200 or status < 500


# --------------------------------------------------------------------------- one per shape


@pytest.mark.parametrize(
    "body",
    [b'{"status": "success"}', b'{"status":"success","record":null}',
     b'{"status": "success", "record": {}}', b'{"status": "success", "record": []}'],
)
def test_success_without_a_record_is_gone(body: bytes) -> None:
    assert verdict(classify_profile(200, body)) is Verdict.GONE


def test_success_with_a_record_is_present() -> None:
    body = b'{"status": "success", "record": {"email": "a@example.com"}}'
    result = classify_profile(200, body)
    assert result.outcome is Outcome.SUCCESS
    assert verdict(result) is Verdict.PRESENT


@pytest.mark.parametrize("status", [201, 202, 204, 206])
@pytest.mark.parametrize("record", [b"", b', "record": {"a": 1}'])
def test_a_success_under_another_2xx_decides_nothing(status: int, record: bytes) -> None:
    body = b'{"status": "success"' + record + b"}"
    assert verdict(classify_profile(status, body)) is Verdict.UNKNOWN


@pytest.mark.parametrize("status", [200, 400, 404, 410])
@pytest.mark.parametrize(
    "error", ["Profile not found", "User DOES NOT EXIST", "No such identity",
              "no user with that id", "No Profile", "record not exist"],
)
def test_a_not_found_fail_body_is_gone(status: int, error: str) -> None:
    body = json.dumps({"status": "fail", "error": error, "code": status}).encode()
    assert verdict(classify_profile(status, body)) is Verdict.GONE


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(401, Outcome.FATAL), (403, Outcome.FATAL), (429, Outcome.THROTTLED),
     (500, Outcome.RETRYABLE), (503, Outcome.RETRYABLE)],
)
def test_not_found_text_under_a_status_about_the_server_is_not_gone(
    status: int, outcome: Outcome
) -> None:
    body = b'{"status": "fail", "error": "Profile not found", "code": 404}'
    result = classify_profile(status, body)
    assert result.outcome is outcome
    assert verdict(result) is Verdict.UNKNOWN


def test_an_unclear_fail_body_is_retried_then_unknown() -> None:
    result = classify_profile(200, b'{"status": "fail", "error": "Internal error", "code": 500}')
    assert result.outcome is Outcome.RETRYABLE
    assert verdict(result) is Verdict.UNKNOWN


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, b"<html><body>404 Not Found</body></html>"), (404, b""), (200, b"garbage"),
     (400, b'{"status": "fail", "error": "Invalid identity", "code": 400}'),
     (200, b'{"status": "fail", "code": 404}'), (200, b'{"error": "not found"}')],
)
def test_a_status_or_text_alone_is_never_gone(status: int, body: bytes) -> None:
    assert verdict(classify_profile(status, body)) is Verdict.UNKNOWN
