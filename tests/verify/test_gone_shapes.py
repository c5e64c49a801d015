"""Verify says gone only when it is (docs/verify.md): answers that merely look like "not
found" are unknown, and verify.json keeps, counted, the shapes each "gone" rested on, with
the looked-up ID masked. Against a small aiohttp server of the test's own on loopback,
which acknowledges every delete and answers each lookup with its ID's scripted answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from bulkdelete import JobFiles, run_job, verify_job
from bulkdelete.errors import BulkDeleteError
from bulkdelete.verify.output import MAX_SHAPES
from tests.conftest import ServerFactory, make_ids, make_settings, serving, write_ids

NOT_CLEARLY_GONE: list[tuple[int, dict[str, object]]] = [
    (200, {"status": "fail", "error": "Token does not exist", "code": 401}),
    (302, {"status": "fail", "error": "not found"}),
    (200, {"status": "fail", "error": "Profile service not found", "code": 500}),
    (200, {"status": "fail", "error": "Profile not found", "code": 429}),
    (200, {"status": "fail", "error": "Account not found", "code": 404}),
    (200, {"status": "fail", "error": "Endpoint not found"}),
    (400, {"status": "fail", "error": "Required parameter identity not found"}),
    (200, {"status": "fail", "error": "No user permission to read profiles", "code": 400}),
    (200, {"status": "fail", "error": "not foundational", "code": 404}),
    (404, {"status": "fail", "error": "Not Found", "code": 404}),
    (405, {"status": "fail", "error": "Method not found", "code": 405}),
    (200, {"status": "success", "records": [{"name": "A"}]}),
    (200, {"status": "success", "record": ""}),
]


def _server(answers: dict[str, tuple[int, dict[str, object]]], deleted: set[str]):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        if request.method == "POST":
            deleted.update(json.loads(await request.read())["guid"])
            return web.json_response({"status": "success"})
        status, body = answers[request.query["objectId"]]
        ident = request.query["objectId"]
        text = json.dumps(body).replace("{id}", ident).replace("{ID}", ident.upper())
        return web.json_response(json.loads(text), status=status)
    return serving(handler)


@pytest.mark.parametrize(("status", "body"), NOT_CLEARLY_GONE)
async def test_an_answer_that_only_looks_gone_is_never_gone(
    tmp_path: Path, status: int, body: dict[str, object],
) -> None:
    """Ten deleted IDs whose lookups all get this answer: none is gone — unknown once
    retries are spent, or the verify stops (exit 3) on a fatal one — never exit 0."""
    ids = make_ids(10)
    deleted: set[str] = set()
    source = write_ids(tmp_path / "ids.txt", ids)
    async with _server(dict.fromkeys(ids, (status, body)), deleted) as base_url:
        settings = make_settings(base_url, max_retries=1, preflight=False, stall_timeout=1.0)
        assert (await run_job(settings, JobFiles(input=source))).exit_code == 0
        assert deleted == set(ids)
        try:
            result = await verify_job(settings, JobFiles(input=source), sample=None)
        except BulkDeleteError as exc:  # a fatal answer, or the abort rule
            stopped: BulkDeleteError | None = exc
        else:
            stopped = None
    if stopped is not None:
        assert stopped.exit_code == 3
        return
    assert result.summary["gone"] == 0, result.summary
    assert result.summary["gone_shapes"] == []
    assert result.exit_code == 1


async def test_the_gone_shapes_are_kept_counted_with_the_id_masked(tmp_path: Path) -> None:
    """verify.json lists each shape "gone" rested on, with its count; no ID in it."""
    ids = make_ids(40)
    answers: dict[str, tuple[int, dict[str, object]]] = {}
    for n, ident in enumerate(ids):
        answers[ident] = (
            (200, {"status": "success", "record": {}}) if n < 10 else
            (200, {"status": "fail", "error": "User {id} not found", "code": 404}) if n < 30
            else (200, {"status": "success", "record": {"name": "A"}}))
    deleted: set[str] = set()
    source = write_ids(tmp_path / "ids.txt", ids)
    async with _server(answers, deleted) as base_url:
        settings = make_settings(base_url, max_retries=1, preflight=False, stall_timeout=1.0)
        assert (await run_job(settings, JobFiles(input=source))).exit_code == 0
        result = await verify_job(settings, JobFiles(input=source), sample=None)
    summary = result.summary
    assert (summary["gone"], summary["present"], summary["unknown"]) == (30, 10, 0)
    written = json.loads((tmp_path / "ids.txt.bulkdelete" / "verify.json").read_text())
    assert written["gone_shapes"] == [
        {"http": 200, "status": "fail", "code": 404, "error": "User <ID> not found",
         "count": 20},
        {"http": 200, "status": "success", "record": "{}", "count": 10},
    ]
    assert not any(ident in json.dumps(written) for ident in ids)


async def test_the_fake_servers_not_found_is_the_shape_kept(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        settings = make_settings(server.base_url)
        assert (await run_job(settings, JobFiles(input=source))).exit_code == 0
        result = await verify_job(settings, JobFiles(input=source), sample=100, seed=3)
    assert result.summary["gone_shapes"] == [
        {"http": 200, "status": "fail", "code": 404, "error": "Profile not found",
         "count": 100}]


async def test_gone_shapes_stay_few_and_hold_no_id_whatever_the_texts(tmp_path: Path) -> None:
    """A server that echoes the ID in another case after the phrase, or words each answer
    differently (a request number): verify.json names no ID and its listing stays short,
    the shapes past the first few counted together, every gone one counted."""
    ids = make_ids(60)
    answers: dict[str, tuple[int, dict[str, object]]] = {}
    for n, ident in enumerate(ids):
        error = "User not found: {ID}" if n % 2 else f"User not found (request {n})"
        answers[ident] = (200, {"status": "fail", "error": error, "code": 404})
    deleted: set[str] = set()
    source = write_ids(tmp_path / "ids.txt", ids)
    async with _server(answers, deleted) as base_url:
        settings = make_settings(base_url, max_retries=1, preflight=False, stall_timeout=1.0)
        assert (await run_job(settings, JobFiles(input=source))).exit_code == 0
        result = await verify_job(settings, JobFiles(input=source), sample=None)
    assert result.summary["gone"] == 60
    written = json.loads((tmp_path / "ids.txt.bulkdelete" / "verify.json").read_text())
    shapes = written["gone_shapes"]
    assert sum(shape["count"] for shape in shapes) == 60
    assert len(shapes) <= MAX_SHAPES + 1, shapes
    assert {"http": 200, "status": "fail", "code": 404, "error": "User not found: <ID>",
            "count": 30} in shapes
    text = json.dumps(written).casefold()
    assert not any(ident.casefold() in text for ident in ids)
