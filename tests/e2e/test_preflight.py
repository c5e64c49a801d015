"""Before the operator says yes (docs/cli.md): the preflight, one read-only Get User
Profile before the confirmation, and nothing written until the run is confirmed. Run as an
operator runs it: a CLI subprocess against the shipped fake server over loopback. Every run
that sends anything ends with the nothing-lost check (docs/guarantees.md §1)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.conftest import (
    CLI,
    PASSCODE,
    ServerFactory,
    assert_nothing_lost,
    cli_env,
    delete_argv,
    make_ids,
    write_ids,
)
from tests.e2e.support import ckpt_dir, run_subprocess


async def test_wrong_passcode_exits_3_before_anything_is_deleted_or_written(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A passcode the target refuses: exit 3 after the one GET, not a single delete (the
    server's record), and no checkpoint folder, failed file or report left behind."""
    source = write_ids(tmp_path / "ids.txt", make_ids(500))
    async with fake_server() as server:
        code, out, err = await run_subprocess(
            delete_argv(source),
            cli_env(server.base_url, CLEVERTAP_PASSCODE="not-the-passcode-4711"))
        assert code == 3, err
        assert "refused the check" in err
        assert "401" in err
        assert server.stats.profile_requests == 1
        assert server.stats.requests == 0
        assert server.stats.acknowledged_ids == 0
    assert not ckpt_dir(source).exists()
    assert "Traceback" not in out + err
    assert "4711" not in out + err
    assert PASSCODE not in out + err


async def test_an_unreachable_target_exits_3_saying_it_cannot_be_reached(tmp_path: Path) -> None:
    """Nothing listens at the base URL: after the usual retries, exit 3 "cannot reach
    <host>", and nothing written."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = write_ids(tmp_path / "ids.txt", make_ids(200))
    code, out, err = await run_subprocess(
        delete_argv(source), cli_env(f"http://127.0.0.1:{port}"), timeout=120)
    assert code == 3, err
    assert f"cannot reach 127.0.0.1:{port}" in err
    assert not ckpt_dir(source).exists()
    assert "Traceback" not in out + err


async def test_a_good_preflight_is_followed_by_the_run(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Accepted credentials: the plan says so, then the whole job runs, nothing lost. The
    check asks for a random 32-hex identity, never one of the job's IDs; a guid job then
    asks for a random 32-hex objectId, its calibration (no baseline here: --baseline 0)."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(latency=0.002) as server:
        code, out, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "guid", "--yes", "--no-progress",
             "--dry-run", "--baseline", "0"], cli_env(server.base_url))
        assert code == 0, err
        host = server.base_url.split("//")[1]
        assert f"preflight:  credentials accepted by {host}" in out + err
        assert server.stats.profile_requests == 2
        assert not ckpt_dir(source).exists()

        code, out, err = await run_subprocess(delete_argv(source, "--baseline", "0"),
                                              cli_env(server.base_url))
        assert code == 0, err
        assert server.stats.profile_requests == 4
        probes = server.stats.looked_up
        assert len(probes) == 4
        assert set(probes.values()) == {1}
        assert all(re.fullmatch(r"[0-9a-f]{32}", probe) for probe in probes)
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


@pytest.mark.parametrize("dry_run", [False, True])
async def test_no_preflight_sends_no_lookup(
    dry_run: bool, tmp_path: Path, fake_server: ServerFactory
) -> None:
    """``--no-preflight`` skips the check (and ``--baseline 0`` the look before the
    delete): the server sees no GET at all."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        code, _, err = await run_subprocess(
            delete_argv(source, "--no-preflight", "--baseline", "0",
                        *(["--dry-run"] if dry_run else [])),
            cli_env(server.base_url))
        assert code == 0, err
        assert server.stats.profile_requests == 0
        assert "preflight:" not in err
        if not dry_run:
            assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


async def test_a_dry_run_without_credentials_sends_no_lookup(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A dry run may check a file before the operator holds the credentials: without them
    it sends nothing at all."""
    source = write_ids(tmp_path / "ids.txt", make_ids(300))
    async with fake_server() as server:
        env = cli_env(server.base_url)
        del env["CLEVERTAP_PASSCODE"]
        code, _, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "guid", "--dry-run"], env)
        assert code == 0, err
        assert server.stats.profile_requests == 0


async def test_no_yes_off_a_terminal_leaves_no_checkpoint(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Refused for want of --yes off a terminal: exit 2, no delete sent, no checkpoint
    folder; the next dry run plans a new job, not a resume."""
    source = write_ids(tmp_path / "ids.txt", make_ids(500))
    async with fake_server() as server:
        code, out, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "guid", "--no-progress"],
            cli_env(server.base_url))
        assert code == 2, err
        assert server.stats.requests == 0
        assert not ckpt_dir(source).exists()
        code, out, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "guid", "--dry-run"],
            cli_env(server.base_url))
        assert code == 0, err
        assert "(new job)" in out + err
        assert "(resume)" not in out + err
