"""The command that retries a finished job's failed IDs (docs/exit-codes.md)."""

from __future__ import annotations

import shlex
from pathlib import Path

from bulkdelete.cli.arguments import build_parser, new_checkpoint, retry_command


def test_the_retry_reads_the_failed_file_as_lines_with_a_checkpoint_of_its_own(
    tmp_path: Path,
) -> None:
    """What binds the old job (input, format, column, delimiter, checkpoint, failed file, report,
    --restart, --limit, --dry-run) is dropped, also as --opt=value or abbreviated; the
    target, ID type and tuning stay."""
    ckpt = tmp_path / "ids.csv.bulkdelete"
    argv = ["delete", "--format", "csv", "ids.csv", "--id-type", "identity", "--col", "email",
            "--delimiter", ";",
            "--checkpoint=" + str(ckpt), "--failed", "f.txt", "--report", "r.json",
            "--restart", "--limit", "1000", "--dry-run", "--concurrency", "5", "--yes",
            "--base-url", "http://127.0.0.1:9", "-q"]
    ns = build_parser().parse_args(argv)
    command = shlex.split(retry_command(ns, Path("f.txt"), ckpt))
    assert command == ["bulkdelete", "delete", "f.txt", "--id-type", "identity",
                       "--base-url", "http://127.0.0.1:9", "--concurrency", "5", "-q",
                       "--yes", "--format", "lines", "--checkpoint",
                       str(tmp_path / "ids.csv-retry.bulkdelete")]


def test_a_verify_retries_as_a_delete_without_its_own_options(tmp_path: Path) -> None:
    ns = build_parser().parse_args(["verify", "ids.txt", "--id-type", "guid", "--all",
                                    "--seed", "3", "--concurrency", "2"])
    command = retry_command(ns, Path("still.txt"), tmp_path / "ids.txt.bulkdelete",
                            tag="still")
    assert command == ("bulkdelete delete still.txt --id-type guid --concurrency 2 "
                       f"--format lines --checkpoint {tmp_path / 'ids.txt-still.bulkdelete'}")


def test_a_new_checkpoint_is_one_that_does_not_exist_yet(tmp_path: Path) -> None:
    ckpt = tmp_path / "ids.txt.bulkdelete"
    first = new_checkpoint(ckpt)
    assert first == tmp_path / "ids.txt-retry.bulkdelete"
    first.mkdir()
    second = new_checkpoint(ckpt)
    assert second == tmp_path / "ids.txt-retry2.bulkdelete"
    second.mkdir()
    # A retry of a retry counts on rather than growing the name.
    assert new_checkpoint(first) == tmp_path / "ids.txt-retry3.bulkdelete"
    assert new_checkpoint(tmp_path / "custom") == tmp_path / "custom-retry.bulkdelete"
