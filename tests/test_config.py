"""Profiles (docs/cli.md, "Profiles"): the config file's format and what it refuses, and the
precedence flag > environment > profile > default for every setting a profile holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bulkdelete.cli.arguments import build_parser, settings_from_args
from bulkdelete.config import config_path, load_profile
from bulkdelete.errors import UsageError

BASE = ["delete", "ids.txt", "--id-type", "guid", "--dry-run"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An XDG config home of this user's alone, and no CLEVERTAP_*/BULKDELETE_ settings."""
    for name in list(os.environ):
        if name.startswith(("CLEVERTAP_", "BULKDELETE_PROFILE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "bulkdelete"
    folder.mkdir(parents=True, mode=0o700)
    (folder / "prod.passcode").write_text("profile-passcode\n")
    (tmp_path / "flag.passcode").write_text("flag-passcode\n")
    return folder


def write_config(home: Path, text: str, mode: int = 0o600) -> Path:
    path = home / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


PROD = """\
[profiles.prod]
account_id = "PROFILE-ACC"
region = "IN1"
passcode_file = "prod.passcode"

[profiles.rehearsal]
account_id = "REHEARSAL-ACC"
base_url = "http://127.0.0.1:8080"
"""


def test_the_config_file_is_under_xdg_config_home_else_dot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "bulkdelete" / "config.toml"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in ("", "relative/path"):  # a relative one is ignored, as XDG says
        monkeypatch.setenv("XDG_CONFIG_HOME", unset)
        assert config_path() == tmp_path / "home" / ".config" / "bulkdelete" / "config.toml"


def test_a_profile_reads_its_account_target_and_passcode_file(home: Path) -> None:
    write_config(home, PROD)
    prod = load_profile("prod")
    assert prod.account_id == "PROFILE-ACC"
    assert prod.target == ("https://in1.api.clevertap.com", "region in1 from profile 'prod'")
    assert prod.passcode_file == home / "prod.passcode"  # relative: beside the config file
    assert load_profile("rehearsal").target == ("http://127.0.0.1:8080",
                                                "from profile 'rehearsal'")


@pytest.mark.parametrize(("text", "fragment"), [
    ('[profiles.prod]\npasscode = "s3cr3t"\n', "holds a passcode"),
    ("[profiles.prod\n", "not valid TOML"),
    ('[profiles.other]\naccount_id = "A"\n', "no profile 'prod'"),
    ('[profiles.prod]\nregion = "mars"\n', "unknown region 'mars'"),
    ('[profiles.prod]\nregion = "in1"\nbase_url = "https://x.example"\n', "keep one"),
    ('[profiles.prod]\nbase_url = "http://example.com"\n', "refusing plain http://"),
    ('[profiles.prod]\naccount = "A"\n', "unknown keys account"),
    ("[profiles.prod]\naccount_id = 12\n", "account_id must be a string"),
])
def test_a_profile_that_cannot_be_used_is_refused_in_one_line(
    home: Path, text: str, fragment: str,
) -> None:
    write_config(home, text)
    with pytest.raises(UsageError, match=fragment) as refused:
        load_profile("prod")
    assert "\n" not in str(refused.value)
    assert "s3cr3t" not in str(refused.value)


def test_a_missing_config_file_is_named(home: Path) -> None:
    with pytest.raises(UsageError, match="config file does not exist"):
        load_profile("prod")


@pytest.mark.parametrize(("file_mode", "folder_mode", "fragment"), [
    (0o620, 0o700, "others can write it"),
    (0o602, 0o700, "others can write it"),
    (0o600, 0o770, "its folder"),
])
def test_a_config_others_can_write_is_refused(
    home: Path, file_mode: int, folder_mode: int, fragment: str,
) -> None:
    """Whoever can write it could aim the deletes at another account."""
    write_config(home, PROD, mode=file_mode)
    home.chmod(folder_mode)
    with pytest.raises(UsageError, match=fragment):
        load_profile("prod")


def _settings(argv: list[str]) -> tuple[str, str, str, str]:
    settings = settings_from_args(build_parser().parse_args(argv))
    return (settings.account_id, settings.host, settings.target_from,
            settings.passcode.reveal())


def test_a_profile_gives_what_neither_flag_nor_environment_does(home: Path) -> None:
    write_config(home, PROD)
    assert _settings([*BASE, "--profile", "prod"]) == (
        "PROFILE-ACC", "in1.api.clevertap.com", "region in1 from profile 'prod'",
        "profile-passcode")


def test_the_environment_beats_the_profile(
    home: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(home, PROD)
    monkeypatch.setenv("CLEVERTAP_ACCOUNT_ID", "ENV-ACC")
    monkeypatch.setenv("CLEVERTAP_PASSCODE", "env-passcode")
    monkeypatch.setenv("CLEVERTAP_REGION", "sg1")
    assert _settings([*BASE, "--profile", "prod"]) == (
        "ENV-ACC", "sg1.api.clevertap.com", "region sg1 from CLEVERTAP_REGION", "env-passcode")
    monkeypatch.delenv("CLEVERTAP_REGION")
    monkeypatch.setenv("CLEVERTAP_BASE_URL", "https://127.0.0.1:9")
    assert _settings([*BASE, "--profile", "prod"])[1:3] == ("127.0.0.1:9",
                                                           "from CLEVERTAP_BASE_URL")


def test_a_flag_beats_the_environment_and_the_profile(
    home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    write_config(home, PROD)
    monkeypatch.setenv("CLEVERTAP_ACCOUNT_ID", "ENV-ACC")
    monkeypatch.setenv("CLEVERTAP_PASSCODE", "env-passcode")
    monkeypatch.setenv("CLEVERTAP_REGION", "sg1")
    assert _settings([*BASE, "--profile", "prod", "--account-id", "FLAG-ACC", "--region",
                      "us1", "--passcode-file", str(tmp_path / "flag.passcode")]) == (
        "FLAG-ACC", "us1.api.clevertap.com", "region us1 from --region", "flag-passcode")


def test_without_a_profile_the_default_stands_and_the_file_is_not_read(home: Path) -> None:
    write_config(home, "this is not TOML")  # never read: no profile asked for
    assert _settings([*BASE, "--account-id", "A"])[1:3] == ("api.clevertap.com",
                                                            "default region eu1")


def test_bulkdelete_profile_names_it_and_the_flag_beats_it(
    home: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(home, PROD)
    monkeypatch.setenv("BULKDELETE_PROFILE", "rehearsal")
    assert _settings(BASE)[:3] == ("REHEARSAL-ACC", "127.0.0.1:8080",
                                   "from profile 'rehearsal'")
    assert _settings([*BASE, "--profile", "prod"])[0] == "PROFILE-ACC"


def test_a_profiles_passcode_file_that_cannot_be_read_is_named(home: Path) -> None:
    write_config(home, PROD)
    (home / "prod.passcode").unlink()
    with pytest.raises(UsageError, match="profile 'prod''s passcode_file"):
        _settings([*BASE, "--profile", "prod"])
