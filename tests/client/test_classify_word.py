"""Answers taken at their word (docs/guarantees.md): success is HTTP 200 with ``"status":
"success"`` and nothing left unprocessed; every answer, however odd, gets exactly one
class and classifying never raises."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.answer import Outcome, Result, classify, classify_profile

SUCCESS_BODY = b'{"status": "success"}'


@pytest.mark.parametrize("status", [201, 202, 203, 204, 206, 207, 226, 299])
def test_a_success_under_another_2xx_is_not_a_delete(status: int) -> None:
    """Only a 200 is CleverTap's success: a 201/202/207 success is an unclear answer,
    retried (a delete is idempotent), never counted deleted."""
    for body in (SUCCESS_BODY, b'{"status":"success"}', b'{"status": "success", "x": 1}'):
        result = classify(status, body)
        assert result.outcome is Outcome.RETRYABLE, (status, body, result)
        assert str(status) in result.reason


@pytest.mark.parametrize("unprocessed", [["g-1"], ["g-1", "g-2"], "g-1", {"g-1": "busy"}, 3])
def test_a_success_naming_unprocessed_ids_is_not_a_delete(unprocessed: object) -> None:
    """A 200 success that lists IDs as unprocessed did not delete them: the batch is
    retried (re-sending the processed ones is harmless) and, once retries are spent,
    every ID of it is in the failed file with this reason."""
    body = json.dumps({"status": "success", "unprocessed": unprocessed}).encode()
    result = classify(200, body)
    assert result.outcome is Outcome.RETRYABLE
    assert "unprocessed" in result.reason


@pytest.mark.parametrize("empty", [[], None, {}, ""])
def test_a_success_with_nothing_unprocessed_is_a_success(empty: object) -> None:
    body = json.dumps({"status": "success", "unprocessed": empty}).encode()
    assert classify(200, body).outcome is Outcome.SUCCESS


@pytest.mark.parametrize("code", [
    '"\\u00b2"', '"²"', "9" * 5000, '"' + "9" * 5000 + '"', "4.5e2", "404.0", "1e400",
    '"404.0"', "true", "false", '"four"', "[404]", '{"n": 404}', "-404", "99999999999",
    '"٤٠٤"', '" 404"',
])
@pytest.mark.parametrize("status", [200, 202, 400, 500])
def test_an_odd_code_is_retryable_never_an_error(code: str, status: int) -> None:
    """A code that is not a plain 3-digit number decides nothing: the 2xx fail body is
    retryable (as with no code), and neither classifier raises."""
    body = ('{"status": "fail", "error": "x", "code": ' + code + "}").encode()
    result = classify(status, body)
    assert isinstance(result, Result)
    if status == 200:
        assert result.outcome is Outcome.RETRYABLE, (code, result)
    assert isinstance(classify_profile(status, body), Result)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=20,
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"status": st.sampled_from(["success", "fail", "", "SUCCESS"]) | json_values,
                      "code": json_values | st.integers(100, 599),
                      "error": json_values, "record": json_values,
                      "unprocessed": json_values, "records": json_values},
    ).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


@settings(deadline=None)
@given(st.integers(min_value=100, max_value=999), bodies)
def test_every_answer_gets_exactly_one_class(status: int, body: bytes) -> None:
    """Whatever the status and the body, classify and classify_profile return one Result
    with one Outcome, never raise; a SUCCESS is only ever a 200."""
    for classifier in (classify, classify_profile):
        result = classifier(status, body, None, hide=("s3cr3t",))
        assert isinstance(result, Result)
        assert isinstance(result.outcome, Outcome)
        if result.outcome is Outcome.SUCCESS:
            assert status == 200
