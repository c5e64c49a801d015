"""The library surface (docs/library.md): a typed async API, exceptions under one root."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import bulkdelete
from bulkdelete import (
    AbortError,
    BulkDeleteError,
    FatalApiError,
    JobFiles,
    Secret,
    StoppedMidRun,
    delete_ids,
    run_job,
)
from tests.conftest import ServerFactory, assert_nothing_lost, make_ids, make_settings, write_ids

PUBLIC = {
    "REGION_HOSTS", "AbortError", "BulkDeleteError", "CheckpointError", "CheckpointLocked",
    "CheckpointMismatch", "ConfirmationRefused", "ErrorBudget", "FatalApiError", "InputError",
    "JobFiles", "JobResult", "Plan", "Secret", "Settings", "StalledError", "StopRequest",
    "StoppedMidRun", "TooManyErrors", "UsageError", "__version__", "delete_ids", "plan_job",
    "resolve_base_url", "run_job", "VerifyResult", "verify_job",
}


def test_all_is_exactly_the_public_api() -> None:
    """`bulkdelete.__all__` names exactly the supported API, and every name exists."""
    assert set(bulkdelete.__all__) == PUBLIC
    for name in bulkdelete.__all__:
        assert hasattr(bulkdelete, name), name


def test_every_exception_is_rooted_at_bulkdeleteerror() -> None:
    """One root for every fatal condition, each with the CLI's exit code."""
    for name in bulkdelete.__all__:
        obj = getattr(bulkdelete, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, BulkDeleteError), name
            assert obj.exit_code in (2, 3, 4), name
    assert AbortError.exit_code == 3
    assert StoppedMidRun.exit_code == 4  # docs/exit-codes.md: stopped mid-run


async def test_delete_ids_from_an_iterable(fake_server: ServerFactory) -> None:
    """A migration script deletes from any iterable (a generator here): no file, no
    checkpoint; failed IDs come back in the result."""
    ids = make_ids(1_234)
    async with fake_server(poison_ids=frozenset({ids[10]})) as server:
        result = await delete_ids(make_settings(server.base_url), (i for i in ids))
        assert result.failed_ids == [ids[10]]
        assert result.exit_code == 1
        assert result.report["ids_total"] == len(ids)
        assert result.report["ids_deleted"] == len(ids) - 1
        assert result.report["complete"] is True
        assert all(server.stats.acknowledged[i] for i in ids if i != ids[10])


async def test_run_job_raises_fatal_api_error_on_401(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Library callers get the exception (not an exit code) for a fatal answer."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        with pytest.raises(FatalApiError) as info:
            await run_job(make_settings(server.base_url, passcode=Secret("nope")),
                          JobFiles(input=source))
        assert info.value.status == 401
        result = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert_nothing_lost(ids, server, result.failed_path)
