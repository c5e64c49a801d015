"""The calibration (docs/verify.md, "Baseline and calibration"): a random ID's answer is
the account's not-found shape; with it, a fail body is gone exactly when it has that shape
(the phrase rule no longer decides), an empty success stays gone, a present record stays
present, and no answer but a clear not-found ever calibrates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkdelete.answer import ID_MASK, Verdict, classify_profile, lookup_shape, verdict


def _body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


MISSING = _body(status="fail", code=404, error="Record 4f3a missing")  # no phrase in it


def test_a_shape_the_phrase_rule_misses_is_learned_and_then_gone() -> None:
    """The random ID is masked out of the shape, so every other ID's answer matches it."""
    shape = lookup_shape(200, MISSING, ident="4f3a")
    assert shape == {"http": 200, "status": "fail", "code": 404,
                     "error": f"Record {ID_MASK} missing"}
    assert verdict(classify_profile(200, MISSING, ident="4f3a")) is Verdict.UNKNOWN
    other = _body(status="fail", code=404, error="Record u-77 missing")
    assert verdict(classify_profile(200, other, ident="u-77", calibration=shape)) is Verdict.GONE


def test_with_a_calibration_only_its_shape_is_gone() -> None:
    """A phrase the strict rule would take is unknown when it is not the account's shape;
    an empty success is gone and a record present either way."""
    shape = lookup_shape(200, _body(status="fail", code=404, error="Profile not found"))
    assert shape is not None
    worded = _body(status="fail", code=404, error="User not found")
    assert verdict(classify_profile(200, worded)) is Verdict.GONE
    assert verdict(classify_profile(200, worded, calibration=shape)) is Verdict.UNKNOWN
    for empty, found in ((_body(status="success"), Verdict.GONE),
                         (_body(status="success", record={"a": 1}), Verdict.PRESENT)):
        assert verdict(classify_profile(200, empty, calibration=shape)) is found
    other_code = _body(status="fail", code=400, error="Profile not found")
    assert verdict(classify_profile(200, other_code, calibration=shape)) is Verdict.UNKNOWN


@pytest.mark.parametrize(("status", "body"), [
    (200, _body(status="success", record={"identity": "x"})),  # present: never a calibration
    (200, _body(status="success", record="")),  # an unclear record
    (200, _body(status="fail", code=500, error="Profile not found")),
    (200, _body(status="fail", code=429, error="Too many concurrent requests")),
    (200, _body(status="fail", code=401, error="Profile not found")),
    (404, _body(status="fail", code=404, error="Profile not found")),
    (503, b"<html>busy</html>"),
    (200, b"not json"),
])
def test_no_other_answer_calibrates(status: int, body: bytes) -> None:
    assert lookup_shape(status, body) is None


@given(st.text(max_size=40), st.sampled_from([None, 400, 404, 422]))
def test_a_calibrated_shape_is_never_present(error: str, code: int | None) -> None:
    """Whatever the account's not-found wording, the answer it came from reads as gone
    with it, never as present."""
    body = _body(status="fail", error=error, **({} if code is None else {"code": code}))
    shape = lookup_shape(200, body, ident="probe")
    assert shape is not None
    assert verdict(classify_profile(200, body, ident="probe", calibration=shape)) is Verdict.GONE
