"""A dry run needs no credentials (README step 1), on a started job too: without the target
set it plans what remains for the job's own account and host, from its checkpoint, instead
of refusing it as another job's; a target that is set and differs is still refused. Real
CLI subprocesses against the fake server over loopback."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import (
    ACCOUNT,
    CLI,
    ServerFactory,
    assert_nothing_lost,
    cli_env,
    cli_run,
    delete_argv,
    make_ids,
    write_ids,
)
from tests.e2e.support import ckpt_dir, run_subprocess


def _no_target() -> dict[str, str]:
    return {k: v for k, v in cli_env().items() if not k.startswith("CLEVERTAP_")}


async def test_a_dry_run_without_credentials_plans_the_rest_for_the_jobs_own_target(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    dry = [*CLI, "delete", str(source), "--id-type", "guid", "--dry-run"]
    async with fake_server() as server:
        code, output = await cli_run(delete_argv(source, "--limit", "300"), server.base_url)
        assert code == 0, output
        host = server.base_url.removeprefix("http://")
        sent = server.stats.requests

        code, out, err = await run_subprocess(dry, _no_target())
        assert code == 0, err
        assert f"target:     account {ACCOUNT} at {host} (the job's, from its checkpoint)" in out
        assert "deletes 700 IDs (700 IDs remain in the job)" in out
        assert "different job" not in out + err

        code, out, err = await run_subprocess([*dry, "--region", "in1"], _no_target())
        assert code == 2, out + err  # a target given is the target: another host is refused
        assert "target host" in err
        assert server.stats.requests == sent  # a dry run sends nothing

        code, output = await cli_run(delete_argv(source), server.base_url)
        assert code == 0, output
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
