"""A profile as an operator uses one (docs/cli.md, "Profiles"): the account, the target and
the passcode file come from the config file, the plan says so, and the run deletes there."""

from __future__ import annotations

from pathlib import Path

from bulkdelete.fake import FakeServer
from tests.conftest import (
    ACCOUNT,
    CLI,
    PASSCODE,
    assert_nothing_lost,
    cli_env,
    delete_args,
    make_ids,
    write_ids,
)
from tests.e2e.support import ckpt_dir, one_error_line, report_of, run_subprocess


def _profile_env(tmp_path: Path, server: FakeServer, **extra: str) -> dict[str, str]:
    """No CLEVERTAP_* at all: everything the run needs is in the profile 'rehearsal'."""
    folder = tmp_path / "xdg" / "bulkdelete"
    folder.mkdir(parents=True, mode=0o700)
    (folder / "rehearsal.passcode").write_text(PASSCODE + "\n")
    config = folder / "config.toml"
    config.write_text(f'[profiles.rehearsal]\naccount_id = "{ACCOUNT}"\n'
                      f'base_url = "{server.base_url}"\npasscode_file = "rehearsal.passcode"\n')
    config.chmod(0o600)
    env = {k: v for k, v in cli_env().items() if not k.startswith("CLEVERTAP_")}
    return {**env, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), **extra}


async def test_a_profile_runs_a_job_with_no_clevertap_variable_set(
    tmp_path: Path, server: FakeServer,
) -> None:
    ids = make_ids(400)
    source = write_ids(tmp_path / "ids.txt", ids)
    env = _profile_env(tmp_path, server)
    code, out, err = await run_subprocess(
        [*CLI, *delete_args(source, "--profile", "rehearsal", "--dry-run")], env)
    assert code == 0, err
    host = server.base_url.removeprefix("http://")
    assert f"target:     account {ACCOUNT} at {host} (from profile 'rehearsal')" in out
    assert f"credentials accepted by {host}" in out
    # The environment's name for it works as the flag does.
    code, _, err = await run_subprocess(
        [*CLI, *delete_args(source)], {**env, "BULKDELETE_PROFILE": "rehearsal"})
    assert code == 0, err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    assert report_of(source)["target"] == {"account_id": ACCOUNT, "host": host}


async def test_an_unknown_profile_is_one_line_and_nothing_is_sent(
    tmp_path: Path, server: FakeServer,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(10))
    env = _profile_env(tmp_path, server)
    code, _, err = await run_subprocess([*CLI, *delete_args(source, "--profile", "prod")], env)
    assert code == 2
    one_error_line(err, "no profile 'prod'", "rehearsal")
    assert (server.stats.requests, server.stats.profile_requests) == (0, 0)
    assert not ckpt_dir(source).exists()
