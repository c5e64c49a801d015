"""An option not given means the job's own (docs/cli.md, "Where the failed IDs go"): a job
run with ``--failed PATH`` is resumed, verified, planned and shown by ``status`` without
``--failed``, each using PATH, never the default beside the checkpoint. Real CLI
subprocesses against the fake server over loopback, with the nothing-lost check."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import (
    CLI,
    ServerFactory,
    assert_nothing_lost,
    cli_env,
    cli_run,
    delete_argv,
    make_ids,
    read_lines,
    write_ids,
)
from tests.e2e.support import ckpt_dir, run_subprocess


async def test_verify_status_dry_run_and_resume_without_failed_use_the_jobs_own(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(600)
    poison = {ids[7], ids[420]}
    source = write_ids(tmp_path / "ids.txt", ids)
    own = tmp_path / "elsewhere" / "mine.txt"
    own.parent.mkdir()
    async with fake_server(poison_ids=frozenset(poison)) as server:
        code, output = await cli_run(delete_argv(source, "--failed", str(own), "--limit", "300"),
                                     server.base_url)
        assert code == 1, output
        assert read_lines(own) == [ids[7]]

        code, output = await cli_run(
            [*CLI, "verify", str(source), "--id-type", "guid", "--no-progress", "--all"],
            server.base_url)
        assert code == 0, output  # accepted; the failed ID is not looked up as deleted
        assert "this job's failed IDs are in" not in output

        code, out, err = await run_subprocess([*CLI, "status", str(source)], cli_env())
        assert code == 0, err
        assert "300 of 600 IDs handled" in out

        code, output = await cli_run(delete_argv(source), server.base_url)
        assert code == 1, output
        assert f"failed IDs: {own}" in output
        assert not (ckpt_dir(source) / "failed.txt").exists()
        assert set(read_lines(own)) == poison

        code, output = await cli_run(delete_argv(source, "--dry-run"), server.base_url)
        assert code == 0, output
        assert f"{own}" in output.split("retry the failed IDs")[1]  # the retry hint's input
        assert assert_nothing_lost(ids, server, own) == poison
