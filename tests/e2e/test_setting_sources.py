"""Where settings come from (docs/cli.md, "Where settings come from"): a flag beats the
environment, the environment beats the default, for every setting; an unknown region is
refused whatever else is set; the plan says where the target came from.

The fake server the ``server`` fixture starts is what ``CLEVERTAP_BASE_URL`` points at, as
in the README's rehearsal loop; a flag aimed elsewhere must win, and the checkpoint is
bound to the target the run really used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer
from tests.conftest import ACCOUNT, PASSCODE, assert_nothing_lost, delete_args, make_ids, write_ids
from tests.e2e.support import (
    assert_one_error_line,
    ckpt_dir,
    cli,
    report_of,
    serve_in_thread,
)

pytestmark = pytest.mark.usefixtures("reset_logging")


def _host(server: FakeServer) -> str:
    return server.base_url.removeprefix("http://")


def test_a_base_url_flag_beats_the_environments_and_binds_the_checkpoint(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """CLEVERTAP_BASE_URL names one server, --base-url another: every request goes to the
    flag's, the checkpoint and report are bound to it, and the plan says so. The same
    command without the flag then aims at the environment's server: a different target,
    refused by the checkpoint before anything is sent."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(latency=0.001) as flagged:
        code, out, err = cli(capsys, *delete_args(source, "--base-url", flagged.base_url,
                                                   "--dry-run"))
        assert code == 0, err
        assert f"at {_host(flagged)} (from --base-url)" in out
        code, out, err = cli(capsys, *delete_args(source, "--base-url", flagged.base_url))
        assert code == 0, err
        assert_nothing_lost(ids, flagged, ckpt_dir(source) / "failed.txt")
        assert server.stats.requests == 0
        assert server.stats.profile_requests == 0
        assert report_of(source)["target"] == {"account_id": ACCOUNT, "host": _host(flagged)}

        code, out, err = cli(capsys, *delete_args(source))
        assert_one_error_line(code, out, err, _host(server))
        assert server.stats.requests == 0


def test_a_region_flag_beats_a_base_url_from_the_environment(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """--region in1 with CLEVERTAP_BASE_URL still exported: the target is in1's host, and
    the environment's server hears nothing."""
    source = write_ids(tmp_path / "ids.txt", make_ids(10))
    code, out, err = cli(capsys, *delete_args(source, "--region", "in1", "--dry-run",
                                               "--no-preflight"))
    assert code == 0, err
    assert "at in1.api.clevertap.com (region in1 from --region)" in out
    assert server.stats.requests == 0
    assert server.stats.profile_requests == 0


@pytest.mark.parametrize(("env", "flags", "target"), [
    ({}, [], "api.clevertap.com (default region eu1)"),
    ({"CLEVERTAP_REGION": "sg1"}, [], "sg1.api.clevertap.com (region sg1 from CLEVERTAP_REGION)"),
    ({"CLEVERTAP_REGION": "sg1"}, ["--region", "us1"],
     "us1.api.clevertap.com (region us1 from --region)"),
    ({"CLEVERTAP_REGION": "sg1", "CLEVERTAP_BASE_URL": "https://127.0.0.1:9"}, [],
     "127.0.0.1:9 (from CLEVERTAP_BASE_URL)"),
    ({"CLEVERTAP_BASE_URL": "https://127.0.0.1:9"}, ["--base-url", "https://127.0.0.2:9",
                                                     "--region", "in1"],
     "127.0.0.2:9 (from --base-url)"),
])
def test_the_plan_says_where_the_target_came_from(
    tmp_path: Path, creds: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], env: dict[str, str], flags: list[str], target: str,
) -> None:
    """flag > environment > default, --base-url over --region, and an environment base URL
    over an environment region; the dry run's plan names the source."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    source = write_ids(tmp_path / "ids.txt", make_ids(10))
    code, out, err = cli(capsys, *delete_args(source, "--dry-run", "--no-preflight", *flags))
    assert code == 0, err
    assert f"target:     account {ACCOUNT} at {target}" in out


@pytest.mark.parametrize(("env", "flags", "named"), [
    ({}, ["--region", "eu2"], "eu2"),
    ({"CLEVERTAP_BASE_URL": "http://127.0.0.1:9"}, ["--region", "eu2"], "eu2"),
    ({"CLEVERTAP_REGION": "eu2"}, [], "CLEVERTAP_REGION"),
    ({"CLEVERTAP_REGION": "eu2"}, ["--base-url", "http://127.0.0.1:9"], "CLEVERTAP_REGION"),
    ({"CLEVERTAP_REGION": "eu2"}, ["--region", "in1"], "CLEVERTAP_REGION"),
    ({"CLEVERTAP_BASE_URL": "ftp://127.0.0.1:9"}, ["--region", "in1"], "CLEVERTAP_BASE_URL"),
    ({"CLEVERTAP_BASE_URL": "http://example.com"}, ["--base-url", "http://127.0.0.1:9"],
     "CLEVERTAP_BASE_URL"),
])
def test_an_unknown_region_is_refused_whatever_else_is_set(
    tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], env: dict[str, str], flags: list[str], named: str,
) -> None:
    """Not a region (or, in the environment, not a usable base URL), from the flag or the
    environment: exit 2 and one line naming it, whatever else is set beside it; nothing is
    sent and no checkpoint is made."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    source = write_ids(tmp_path / "ids.txt", make_ids(10))
    code, out, err = cli(capsys, *delete_args(source, *flags))
    assert_one_error_line(code, out, err, named)
    assert server.stats.requests == 0
    assert server.stats.profile_requests == 0
    assert not ckpt_dir(source).exists()


def test_an_account_id_flag_beats_the_environment(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """--account-id wins over CLEVERTAP_ACCOUNT_ID: the plan names the flag's account."""
    source = write_ids(tmp_path / "ids.txt", make_ids(10))
    code, out, err = cli(capsys, *delete_args(source, "--account-id", "OTHER-ACCOUNT",
                                               "--dry-run", "--no-preflight"))
    assert code == 0, err
    assert "account OTHER-ACCOUNT at" in out


def test_a_passcode_file_beats_the_environment(
    tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--passcode-file wins over CLEVERTAP_PASSCODE: a wrong passcode in the environment
    does not matter when the file holds the right one."""
    monkeypatch.setenv("CLEVERTAP_PASSCODE", "wrong-passcode")
    secret = tmp_path / "passcode"
    secret.write_text(PASSCODE + "\n", encoding="utf-8")
    secret.chmod(0o600)
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    code, _out, err = cli(capsys, *delete_args(source, "--passcode-file", str(secret)))
    assert code == 0, err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
