"""Unit tests for :mod:`bulkdelete.certificate.record`: each headline state, the ID scan,
and the canonical encoding (docs/certificate.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bulkdelete.certificate import record
from bulkdelete.checkpoint import RunRecord, State, Traffic
from tests.checkpoint.helpers import make_state

ENDED = "2026-01-02T10:00:00.000Z"  # the delete run's end: the purge is due 48 h later
BEFORE_DUE = datetime(2026, 1, 3, tzinfo=UTC)
AFTER_DUE = datetime(2026, 1, 5, tzinfo=UTC)


def _job(*, complete: bool = True, verify: dict[str, Any] | None = None) -> State:
    state = make_state(batches_total=2, ids_total=150)
    state.progress.watermark = 2 if complete else 1
    state.progress.ids_deleted = 150 if complete else 100
    state.runs = [RunRecord(run_id="r1", started="2026-01-02T09:00:00.000Z", ended=ENDED,
                            exit_code=0, traffic=Traffic(ids_deleted=150))]
    state.verify = verify
    return state


def _verify(**counts: Any) -> dict[str, Any]:
    base = {"population": 150, "checked": 100, "gone": 100, "present": 0, "unknown": 0,
            "early": False, "purge_due_by": "2026-01-04T10:00:00.000Z"}
    return {**base, **counts}


@pytest.mark.parametrize(("state", "expected"), [
    (_job(complete=False), record.INCOMPLETE),
    (_job(), record.NOT_VERIFIED),
    (_job(verify=_verify(population=120)), record.NOT_VERIFIED),  # a delete ran since
    (_job(verify=_verify(early=True, present=3, gone=97)), record.EARLY),
    (_job(verify=_verify(present=2, gone=98)), record.STILL_PRESENT),
    (_job(verify=_verify(baseline={"kept": True, "present_before_still_present": 1})),
     record.STILL_PRESENT),
    (_job(verify=_verify(unknown=4, gone=96)), record.NOT_VERIFIED),
    (_job(verify=_verify()), record.VERIFIED),
], ids=["incomplete", "no-verify", "stale-verify", "early", "present", "baseline-present",
        "unknown", "verified"])
def test_each_headline_state(state: State, expected: str) -> None:
    status = record.headline(state, AFTER_DUE)
    assert status["state"] == expected
    assert status["why"]


def test_an_incomplete_job_is_incomplete_whatever_its_verify_says() -> None:
    state = _job(complete=False, verify=_verify(population=100))
    assert record.headline(state, BEFORE_DUE)["state"] == record.INCOMPLETE


def test_ids_are_masked_in_free_text_never_in_what_the_tool_made() -> None:
    """An ID quoted in a server's text, a ticket or an input name is masked; a short ID
    that happens to be part of a timestamp or a digest leaves those alone."""
    made: dict[str, Any] = {
        "ticket": "erase id-00000007 and id-00000070 please",
        "verify": {"gone_shapes": [{"error": "no user 'id-00000007'", "count": 3}]},
        "input": {"name": "id-00000070.txt", "sha256": "2026abc", "fingerprint": "v1:1:2026"},
        "made_at": "2026-01-02T00:00:00Z",
    }
    changed = record.mask_ids(made, iter(["id-00000007", "id-00000070", "2026", ""]))
    assert changed == 3
    assert made["ticket"] == "erase <ID> and <ID> please"
    assert made["verify"]["gone_shapes"][0]["error"] == "no user '<ID>'"
    assert made["input"]["name"] == "<ID>.txt"
    assert (made["input"]["sha256"], made["made_at"]) == ("2026abc", "2026-01-02T00:00:00Z")


def test_the_encoding_is_canonical() -> None:
    """Sorted keys, no whitespace: the same record always gives the same bytes."""
    one = record.encode({"b": [1, {"y": "é", "x": None}], "a": True})
    assert one == b'{"a":true,"b":[1,{"x":null,"y":"\\u00e9"}]}'
    assert record.encode(json.loads(one)) == one
