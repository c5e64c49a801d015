"""The lookup classifier (docs/verify.md, "Gone, present, unknown"): only the documented
"gone" shapes are ever gone, whatever the status and body; a property test over generated
answers, and one unit case per shape."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.answer import Outcome, Verdict, classify_profile, gone_shape, verdict

PHRASES = ("user not found", "profile not found", "no user found", "no profile found",
           "user does not exist", "profile does not exist", "no such user", "no such profile")
ABSENT = object()  # a key left out of the body altogether
EMPTY_RECORDS: tuple[Any, ...] = (ABSENT, None, {}, [])


def _empty_record(payload: dict[str, Any]) -> bool:
    if "record" not in payload:
        return True
    record = payload["record"]
    return record is None or (type(record) in (dict, list) and len(record) == 0)


# What may stand before the phrase: nothing, or the end of an earlier sentence or label,
# then quotes or brackets, then an article ("Error: the user was not found").
_OPENS_A_CLAUSE = re.compile(
    r"(?:^|.*[.:;!?]|.*\s[-–—])[\s'\"(\[]*(?:(?:the|this|that)\s+)?$")


def _says_not_found(error: str) -> bool:
    """A phrase that opens the text or one of its sentences: "API user not found" is about
    an API user, not the profile looked up."""
    text = " ".join(error.casefold().split())
    return any(_OPENS_A_CLAUSE.match(text[:found.start()])
               for phrase in PHRASES
               for found in re.finditer(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])",
                                        text))


def _code_allows_gone(payload: dict[str, Any]) -> bool:
    code = payload.get("code")
    if code is None:
        return True
    if isinstance(code, str) and code.isascii() and code.isdigit() and len(code) == 3:
        code = int(code)
    return (type(code) is int and 400 <= code < 500 and code not in (401, 403, 429))


def contract_gone(status: int, body: bytes) -> bool:
    """The gone shapes (docs/verify.md), written independently of bulkdelete.answer."""
    if status != 200:
        return False
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    if not isinstance(payload, dict):
        return False
    if payload.get("status") == "success":
        others = [v for k, v in payload.items() if k not in ("status", "record")]
        return _empty_record(payload) and not any(
            type(v) in (dict, list) and len(v) for v in others)
    error = payload.get("error")
    return (
        payload.get("status") == "fail"
        and _code_allows_gone(payload)
        and isinstance(error, str)
        and _says_not_found(error)
    )


def contract_present(status: int, body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    if not (isinstance(payload, dict) and status == 200 and payload.get("status") == "success"):
        return False
    record = payload.get("record")
    return isinstance(record, dict | list) and len(record) > 0


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
                     "Profile found", "user", "Internal error", "Account not found",
                     "Endpoint not found", "Required parameter identity not found",
                     "No user permission for this", "not foundational", "Not Found",
                     "Profile service not found", "user not foundational",
                     "Token does not exist", "No such identity"]),
)
records = st.one_of(
    st.sampled_from(EMPTY_RECORDS),
    st.sampled_from([{"name": "A"}, [1], "x", "", 0, False, {"": None}, [None]]),
)
json_bodies = st.builds(
    lambda status, record, error, code, records_key: body_of(
        {"status": status, "record": record, "error": error, "code": code,
         "records": records_key}),
    st.sampled_from([ABSENT, "success", "fail", "FAIL", "Success", "ok", None, 1]),
    records,
    st.one_of(st.just(ABSENT), errors, st.sampled_from([None, 404, ["not found"],
                                                        {"msg": "not found"}])),
    st.one_of(st.just(ABSENT), st.sampled_from([200, 400, 401, 404, 429, 500, "404", None,
                                                "²", 4.04e2, True, "9" * 50])),
    st.sampled_from([ABSENT, ABSENT, [], [{"name": "A"}], {"name": "A"}]),
)
other_bodies = st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b"", b"<html>404 Not Found</html>", b"Not Found", b"null", b"[]",
                     b'"not found"', b'{"status": "fail", "error": "not fou',
                     b'{"status": "success", "record": {}']),
)
bodies = st.one_of(json_bodies, other_bodies)


@settings(deadline=None)
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
        assert status == 200


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


@pytest.mark.parametrize("code", [404, 400, 410, "404", None])
@pytest.mark.parametrize(
    "error", ["Profile not found", "User DOES NOT EXIST", "no user found",
              "No such profile", "user was not found", "Profile  not\nfound.",
              "Error: user not found", "The profile does not exist",
              "Lookup failed. No such user", "'User not found'", "E404 - user not found"],
)
def test_a_not_found_fail_body_under_200_is_gone(code: object, error: str) -> None:
    """A 200 fail body whose error says the user or profile is not found, with no code or
    a 4xx about the request; its shape rides along for verify.json."""
    fields: dict[str, Any] = {"status": "fail", "error": error}
    if code is not None:
        fields["code"] = code
    result = classify_profile(200, json.dumps(fields).encode())
    assert verdict(result) is Verdict.GONE
    assert gone_shape(result)["status"] == "fail"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"status": "fail", "error": "Token does not exist", "code": 401}'),
        (302, b'{"status": "fail", "error": "not found"}'),
        (302, b'{"status": "fail", "error": "User not found"}'),
        (200, b'{"status": "fail", "error": "Profile not found", "code": 500}'),
        (200, b'{"status": "fail", "error": "Profile not found", "code": 429}'),
        (200, b'{"status": "fail", "error": "Profile service not found", "code": 404}'),
        (200, b'{"status": "fail", "error": "Account not found", "code": 404}'),
        (200, b'{"status": "fail", "error": "Endpoint not found", "code": 404}'),
        (400, b'{"status": "fail", "error": "Required parameter identity not found"}'),
        (200, b'{"status": "fail", "error": "Required parameter identity not found"}'),
        (200, b'{"status": "fail", "error": "No user permission for this", "code": 400}'),
        (200, b'{"status": "fail", "error": "not foundational", "code": 400}'),
        (200, b'{"status": "fail", "error": "user not foundational", "code": 400}'),
        (200, b'{"status": "fail", "error": "API user not found", "code": 400}'),
        (200, b'{"status": "fail", "error": "Authenticated user not found"}'),
        (200, b'{"status": "fail", "error": "Required parameter user not found"}'),
        (200, b'{"status": "fail", "error": "Session profile does not exist"}'),
        (200, b'{"status": "fail", "error": "The api-user not found"}'),
        (404, b'{"status": "fail", "error": "Not Found", "code": 404}'),
        (404, b'{"status": "fail", "error": "Profile not found", "code": 404}'),
        (405, b'{"status": "fail", "error": "Method not found", "code": 405}'),
        (200, b'{"status": "success", "records": [{"name": "A"}]}'),
        (200, b'{"status": "success", "record": null, "records": {"name": "A"}}'),
        (200, b'{"status": "success", "record": ""}'),
        (200, b'{"status": "success", "record": 0}'),
        (200, b'{"status": "fail", "error": "Profile not found", "code": "\\u00b2"}'),
    ],
)
def test_not_clearly_gone_is_never_gone(status: int, body: bytes) -> None:
    """The answers that only look like "gone": a fatal code, a redirect, a server or
    throttling code, a phrase not about the profile, a status other than 200, a profile
    under another key, an empty-string record."""
    assert verdict(classify_profile(status, body)) is not Verdict.GONE


@pytest.mark.parametrize("echo", ["Ann+Lee@Example.com", "ann+lee@example.com",
                                  "Ann%2BLee%40Example.com", "ANN%2bLEE%40EXAMPLE.COM"])
@pytest.mark.parametrize("before", [": ", ":_", " ('"])
def test_a_gone_shape_masks_the_id_however_the_server_echoes_it(echo: str, before: str) -> None:
    body = json.dumps({"status": "fail", "error": f"User not found{before}{echo}"}).encode()
    result = classify_profile(200, body, ident="Ann+Lee@Example.com")
    assert gone_shape(result)["error"] == f"User not found{before}<ID>"


@pytest.mark.parametrize("ident", ["u", "e", "ser", "OUND"])
def test_a_short_id_inside_a_word_is_not_masked(ident: str) -> None:
    """Only the ID standing on its own is masked: an ID that is a piece of a word does not
    break the phrase (or the text) apart."""
    body = json.dumps({"status": "fail", "error": f"User not found: {ident}"}).encode()
    result = classify_profile(200, body, ident=ident)
    assert gone_shape(result)["error"] == "User not found: <ID>"


def test_a_gone_shape_masks_the_looked_up_id_and_the_passcode() -> None:
    body = b'{"status": "fail", "error": "User u-42 not found (key s3cr3t)", "code": 404}'
    result = classify_profile(200, body, hide=("s3cr3t",), ident="u-42")
    assert gone_shape(result) == {"http": 200, "status": "fail", "code": 404,
                                  "error": "User <ID> not found (key [redacted])"}


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


def test_a_lookup_of_a_wrong_url_does_not_speak_of_a_delete() -> None:
    """A 404 or 405 stops a verify as it stops a delete, with a reason true of a lookup."""
    for status in (404, 405):
        result = classify_profile(status, b"<html>Not Found</html>")
        assert result.outcome is Outcome.FATAL
        assert "delete" not in result.reason
        assert "--base-url" in result.reason


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
