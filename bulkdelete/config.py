"""Profiles: an account's ID, target and passcode *file* under a name, in
``$XDG_CONFIG_HOME/bulkdelete/config.toml`` (docs/cli.md, "Profiles"). A profile is the
last source before the default: a flag or the environment beats it."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bulkdelete.durable import private_folder_problem
from bulkdelete.errors import UsageError
from bulkdelete.settings import REGION_HOSTS, normalize_base_url, region_base_url

KEYS = frozenset({"account_id", "region", "base_url", "passcode_file"})


def config_path() -> Path:
    """``$XDG_CONFIG_HOME/bulkdelete/config.toml``; a relative XDG_CONFIG_HOME is ignored,
    as the XDG spec says."""
    home = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(home) if os.path.isabs(home) else Path.home() / ".config"
    return base / "bulkdelete" / "config.toml"


@dataclass(frozen=True)
class Profile:
    name: str
    account_id: str | None = None
    passcode_file: Path | None = None
    # The base URL the profile names (from its region or base_url), and the plan's words.
    target: tuple[str, str] | None = None


def load_profile(name: str, path: Path | None = None) -> Profile:
    """The profile *name*, checked: a refusal is a UsageError naming the file and the fix."""
    path = path or config_path()
    where = f"profile {name!r} in {path}"
    for what in (path.parent, path):
        try:
            problem = private_folder_problem(what.stat())
        except FileNotFoundError:
            raise UsageError(f"no {where}: the config file does not exist") from None
        except OSError as exc:
            raise UsageError(f"cannot read the config file {path}: {exc.strerror}") from None
        if problem is not None:
            # Whoever can write it can point the deletes at another account.
            raise UsageError(f"refusing the config file {path}: {problem.replace('in it', 'it')}"
                             if what == path else
                             f"refusing the config file {path}: its folder {what}: {problem}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"the config file {path} is not valid TOML: {exc}") from None
    profiles = data.get("profiles")
    table = profiles.get(name) if isinstance(profiles, dict) else None
    if not isinstance(table, dict):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else "none"
        raise UsageError(f"no {where} (a [profiles.{name}] table); profiles there: {known}")
    if "passcode" in table:
        raise UsageError(f"{where} holds a passcode: keep it out of the config file; put it "
                         "in a file of its own (chmod 600) and name that as passcode_file")
    if unknown := sorted(set(table) - KEYS):
        raise UsageError(f"{where} has unknown keys {', '.join(unknown)}; it takes only "
                         f"{', '.join(sorted(KEYS))}")
    if bad := [key for key, value in table.items() if not isinstance(value, str)]:
        raise UsageError(f"{where}: {', '.join(sorted(bad))} must be a string")
    if "region" in table and "base_url" in table:
        raise UsageError(f"{where} names both a region and a base_url: keep one")
    target = None
    try:
        if "base_url" in table:
            target = normalize_base_url(table["base_url"]), f"from profile {name!r}"
        elif "region" in table:
            region = table["region"].strip().lower()
            if region not in REGION_HOSTS:
                raise UsageError(f"unknown region {table['region']!r}; choose one of: "
                                 f"{', '.join(REGION_HOSTS)}")
            target = region_base_url(region), f"region {region} from profile {name!r}"
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
    passcode_file = table.get("passcode_file")
    return Profile(name=name, account_id=table.get("account_id") or None, target=target,
                   # A relative path is the config file's neighbour, wherever the run starts.
                   passcode_file=path.parent / Path(passcode_file).expanduser()
                   if passcode_file else None)
