"""Where requests go: CleverTap region names to API hosts, and the --base-url override."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from bulkdelete.errors import UsageError

DEFAULT_REGION = "eu1"

#: Spec §2. ``eu1`` is CleverTap's default region and has no prefix.
REGION_HOSTS: dict[str, str] = {
    "eu1": "api.clevertap.com",
    "in1": "in1.api.clevertap.com",
    "sg1": "sg1.api.clevertap.com",
    "us1": "us1.api.clevertap.com",
    "aps3": "aps3.api.clevertap.com",
    "mec1": "mec1.api.clevertap.com",
}

DELETE_PATH = "/1/delete/profiles.json"
PROFILE_PATH = "/1/profile.json"  # Get User Profile: verify and the preflight


def region_base_url(region: str) -> str:
    if (host := REGION_HOSTS.get(region.strip().lower())) is None:
        raise UsageError(f"unknown region {region!r}; choose one of: {', '.join(REGION_HOSTS)}")
    return f"https://{host}"


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(url: str) -> str:
    """``scheme://host[:port]``; plain ``http://`` only to loopback."""
    parts = urlsplit(url.strip())
    # No message repeats the URL: any part of it may hold a passcode pasted in the wrong place.
    unquoted = "(not repeated here, as it may hold a secret)"
    only = f"--base-url takes only scheme://host[:port] (the path {DELETE_PATH} is added)"
    if parts.username or parts.password:
        raise UsageError("--base-url must not carry credentials; use CLEVERTAP_PASSCODE")
    if parts.query or parts.fragment:
        raise UsageError(f"{only}: it must not carry a query string or a fragment {unquoted}")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"--base-url must look like https://host[:port] {unquoted}")
    if parts.path not in {"", "/"}:
        raise UsageError(f"{only}: it must not carry a path of its own {unquoted}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(
            f"refusing plain http:// to {parts.hostname}: the passcode would travel "
            "unencrypted. Use https://, or http:// only to 127.0.0.1/localhost."
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"--base-url has an invalid port {unquoted}") from exc
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 literal
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def resolve_base_url(region: str | None, base_url: str | None) -> str:
    """``--base-url`` wins over ``--region``; with neither, the default region (eu1)."""
    if base_url:
        return normalize_base_url(base_url)
    return region_base_url(region or DEFAULT_REGION)


def resolve_target(
    *, region_flag: str | None, base_url_flag: str | None, env_region: str | None,
    env_base_url: str | None,
) -> tuple[str, str]:
    """The base URL and its source: flag, then environment, then default; within one a base
    URL beats a region. A bad value is refused even when another would win."""
    if env_region and env_region.strip().lower() not in REGION_HOSTS:
        raise UsageError(f"CLEVERTAP_REGION={env_region!r} is not a region; choose one "
                         f"of: {', '.join(REGION_HOSTS)}")
    try:
        env_url = normalize_base_url(env_base_url) if env_base_url else None
    except UsageError as exc:
        raise UsageError(f"CLEVERTAP_BASE_URL: {exc}") from None
    if region_flag:
        region_base_url(region_flag)
    if base_url_flag:
        return normalize_base_url(base_url_flag), "from --base-url"
    if env_url and not region_flag:
        return env_url, "from CLEVERTAP_BASE_URL"
    for value, source in ((region_flag, "from --region"), (env_region, "from CLEVERTAP_REGION")):
        if value:
            name = value.strip().lower()
            return region_base_url(name), f"region {name} {source}"
    return region_base_url(DEFAULT_REGION), f"default region {DEFAULT_REGION}"
