"""Pacing and safety options out of their range, through the real command line: exit 2,
one line naming the flag and its range, nothing sent, no checkpoint (docs/cli.md,
"Bounds")."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer
from tests.conftest import delete_args, make_ids, write_ids
from tests.e2e.support import assert_one_error_line, ckpt_dir, cli

pytestmark = pytest.mark.usefixtures("reset_logging")


@pytest.mark.parametrize(("flags", "fragments"), [
    (["--rate", "1e-9"], ("--rate", "0.01")),
    (["--rate", "inf"], ("--rate",)),
    (["--concurrency", "10000"], ("--concurrency", "1..64")),
    (["--timeout", "nan"], ("--timeout",)),
    (["--timeout", "1e9"], ("--timeout", "3600")),
    (["--stall-timeout", "inf"], ("--stall-timeout", "86400")),
    (["--stall-timeout", "nan"], ("--stall-timeout",)),
    (["--batch-size", "101"], ("--batch-size", "1..100")),
    (["--limit", "0"], ("--limit",)),
    (["--max-delete", "-1"], ("--max-delete",)),
])
def test_an_option_out_of_its_range_is_refused_before_anything_is_sent(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str],
    flags: list[str], fragments: tuple[str, ...],
) -> None:
    """Each bound is checked before the input is read or anything is sent."""
    source = write_ids(tmp_path / "ids.txt", make_ids(10))
    code, out, err = cli(capsys, *delete_args(source, *flags))
    assert_one_error_line(code, out, err, *fragments)
    assert server.stats.requests == 0
    assert server.stats.profile_requests == 0
    assert not ckpt_dir(source).exists()
