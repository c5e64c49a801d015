"""Exit 4 (docs/exit-codes.md): a broken precondition once sending began keeps its class
and message, and gets the mid-run code; anything else is left as it is."""

from __future__ import annotations

import pytest

from bulkdelete.errors import (
    BulkDeleteError,
    FatalApiError,
    InputChanged,
    StoppedMidRun,
    StorageError,
    UsageError,
    mid_run,
)


@pytest.mark.parametrize("error", [InputChanged("input changed during the run: x"),
                                   StorageError("cannot write the journal: disk full")])
def test_a_broken_precondition_mid_run_is_exit_4_of_the_same_kind(
    error: BulkDeleteError,
) -> None:
    before = error.exit_code
    broken = mid_run(error)
    assert before == 2
    assert broken.exit_code == StoppedMidRun.exit_code != before
    assert isinstance(broken, type(error))
    assert str(broken) == str(error)
    assert mid_run(broken) is broken


@pytest.mark.parametrize("error", [UsageError("bad"), FatalApiError("401", status=401)])
def test_other_errors_keep_their_code(error: BulkDeleteError) -> None:
    assert mid_run(error) is error
