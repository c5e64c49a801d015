"""Region names to API hosts, and the ``--base-url`` override (docs/api.md). No network."""

from __future__ import annotations

import pytest

from bulkdelete.errors import UsageError
from bulkdelete.settings import (
    DEFAULT_REGION,
    DELETE_PATH,
    REGION_HOSTS,
    Secret,
    Settings,
    is_loopback,
    normalize_base_url,
    region_base_url,
    resolve_base_url,
)

#: Spec §2, written out independently of the module's own table.
DOCUMENTED_HOSTS = {
    "in1": "in1.api.clevertap.com",
    "sg1": "sg1.api.clevertap.com",
    "us1": "us1.api.clevertap.com",
    "aps3": "aps3.api.clevertap.com",
    "mec1": "mec1.api.clevertap.com",
    "eu1": "api.clevertap.com",
}


@pytest.mark.parametrize(("region", "host"), sorted(DOCUMENTED_HOSTS.items()))
def test_each_region_maps_to_its_spec_host(region: str, host: str) -> None:
    """Every region of docs/api.md resolves to ``https://`` plus exactly its documented host."""
    assert region_base_url(region) == f"https://{host}"
    assert resolve_base_url(region, None) == f"https://{host}"


def test_region_table_holds_exactly_the_six_spec_regions() -> None:
    """No region is missing and none is invented."""
    assert REGION_HOSTS == DOCUMENTED_HOSTS


def test_region_names_are_case_and_whitespace_insensitive() -> None:
    """``--region US1`` or an env value with a stray space still picks the right host."""
    assert region_base_url(" US1 ") == "https://us1.api.clevertap.com"


@pytest.mark.parametrize("region", [None, ""])
def test_default_region_is_eu1_without_prefix(region: str | None) -> None:
    """With neither --region nor --base-url the target is eu1, i.e. ``api.clevertap.com``."""
    assert DEFAULT_REGION == "eu1"
    assert resolve_base_url(region, None) == "https://api.clevertap.com"


def test_unknown_region_is_a_usage_error_listing_the_known_ones() -> None:
    """A typo'd region names itself and every valid choice, so the fix is obvious."""
    with pytest.raises(UsageError) as info:
        region_base_url("eu2")
    message = str(info.value)
    assert "'eu2'" in message
    for region in DOCUMENTED_HOSTS:
        assert region in message
    assert info.value.exit_code == 2


def test_base_url_overrides_region() -> None:
    """``--base-url`` wins over ``--region``: the region's host is not used at all."""
    assert resolve_base_url("in1", "https://proxy.example.com") == "https://proxy.example.com"
    assert resolve_base_url("in1", "http://127.0.0.1:8080") == "http://127.0.0.1:8080"


def test_base_url_still_validated_when_region_given() -> None:
    """The override does not bypass validation just because a valid region is also set."""
    with pytest.raises(UsageError):
        resolve_base_url("eu1", "http://example.com")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.5.5.5:9", "http://127.5.5.5:9"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://LOCALHOST:8080/", "http://localhost:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://[::1]", "http://[::1]"),
        ("http://127.0.0.1", "http://127.0.0.1"),
    ],
)
def test_plain_http_is_allowed_to_loopback(url: str, expected: str) -> None:
    """The local fake server may be reached over plain HTTP; the result is scheme://host[:port]
    (IPv6 brackets restored, trailing slash dropped)."""
    assert normalize_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://10.0.0.1", "10.0.0.1"),
        ("http://example.com:8080", "example.com"),
        ("http://[2001:db8::1]", "2001:db8::1"),
        ("http://localhost.example.com", "localhost.example.com"),
    ],
)
def test_plain_http_to_a_non_loopback_host_is_refused(url: str, host: str) -> None:
    """A passcode must never cross a network unencrypted: the message names the host, the
    reason and the fix (https://)."""
    with pytest.raises(UsageError) as info:
        normalize_base_url(url)
    message = str(info.value)
    assert "http://" in message
    assert "unencrypted" in message
    assert "https://" in message
    assert host in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com", "https://example.com"),
        ("https://example.com:8443", "https://example.com:8443"),
        ("https://10.0.0.1:443/", "https://10.0.0.1:443"),
        ("  https://eu.example.com  ", "https://eu.example.com"),
    ],
)
def test_https_to_any_host_is_accepted_and_port_kept(url: str, expected: str) -> None:
    """https:// may go anywhere; an explicit port (even the default one) is kept as given."""
    assert normalize_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://api.clevertap.com/1/delete/profiles.json",
        "https://api.clevertap.com/v1",
        "https://api.clevertap.com?x=1",
        "https://api.clevertap.com/#frag",
    ],
)
def test_base_url_with_path_query_or_fragment_is_refused(url: str) -> None:
    """Only scheme://host[:port] is taken: the message says the delete path is added for you."""
    with pytest.raises(UsageError, match="only scheme://host") as info:
        normalize_base_url(url)
    assert DELETE_PATH in str(info.value)


@pytest.mark.parametrize(
    "url", ["https://user:pw@api.clevertap.com", "https://user@api.clevertap.com",
            "http://:pw@127.0.0.1:8080"]
)
def test_base_url_with_credentials_is_refused(url: str) -> None:
    """Credentials in the URL are refused, and the message points at CLEVERTAP_PASSCODE."""
    with pytest.raises(UsageError, match="credentials") as info:
        normalize_base_url(url)
    assert "CLEVERTAP_PASSCODE" in str(info.value)
    assert "pw" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://acct:TOPSECRET@api.clevertap.com/1/delete/profiles.json",
        "ftp://acct:TOPSECRET@api.clevertap.com",
        "https://acct:TOPSECRET@api.clevertap.com?x=1",
    ],
)
def test_refused_base_url_never_echoes_its_password(url: str) -> None:
    """Spec §4.8: a secret pasted into the URL's userinfo must not reach the console through
    the error message, whichever check refuses the URL first."""
    with pytest.raises(UsageError) as info:
        normalize_base_url(url)
    assert "TOPSECRET" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["api.clevertap.com", "ftp://api.clevertap.com", "https://", "https://host:99999",
            "https://host:port"]
)
def test_malformed_base_url_is_a_usage_error(url: str) -> None:
    """No scheme, a wrong scheme, no host or a bad port: a usage error, never a traceback."""
    with pytest.raises(UsageError, match="--base-url"):
        normalize_base_url(url)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("localhost", True),
        ("LocalHost", True),
        ("::1", True),
        ("10.0.0.1", False),
        ("128.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
        ("::2", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    """Loopback is exactly localhost, 127.0.0.0/8 and ::1 — never a name merely containing
    "localhost"."""
    assert is_loopback(host) is expected


@pytest.mark.parametrize(
    ("base_url", "host"),
    [
        ("https://api.clevertap.com", "api.clevertap.com"),
        ("http://127.0.0.1:8080", "127.0.0.1:8080"),
        ("http://[::1]:9", "[::1]:9"),
    ],
)
def test_host_of_keeps_the_port(base_url: str, host: str) -> None:
    """The host recorded in checkpoints includes the port, so two local fake servers on
    different ports are different targets."""
    settings = Settings(account_id="a", passcode=Secret("p"), base_url=base_url, id_type="guid")
    assert settings.host == host
