"""The one validated settings object, the masked ``Secret`` and the ``--max-errors`` budget."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from bulkdelete.errors import UsageError
from bulkdelete.settings import MAX_BATCH_SIZE, ErrorBudget, Secret, Settings

PASSCODE = "s3cr3t-PASSCODE-never-printed"


def build(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "account_id": "ACC-1",
        "passcode": Secret(PASSCODE),
        "base_url": "https://api.clevertap.com",
        "id_type": "guid",
    }
    values.update(overrides)
    return Settings(**values)


# -- Settings validation ------------------------------------------------------------------


def test_defaults_match_the_docs() -> None:
    """docs/cli.md's defaults: batch 100, concurrency 3, no rate ceiling, timeout 30 s,
    stall 600 s."""
    settings = build()
    assert settings.batch_size == MAX_BATCH_SIZE == 100
    assert settings.concurrency == 3
    assert settings.rate is None
    assert settings.timeout == 30.0
    assert settings.stall_timeout == 600.0
    assert settings.max_errors is None


def test_settings_are_frozen_and_keyword_only() -> None:
    """Settings cannot be changed after validation, nor built positionally."""
    settings = build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.concurrency = 50  # type: ignore[misc]
    with pytest.raises(TypeError):
        Settings("ACC", Secret(PASSCODE), "https://api.clevertap.com", "guid")  # type: ignore[call-arg]


@pytest.mark.parametrize("size", [1, 50, 100])
def test_batch_size_in_range_is_accepted(size: int) -> None:
    """Any batch size from 1 to the API's 100 is valid."""
    assert build(batch_size=size).batch_size == size


@pytest.mark.parametrize("size", [0, -1, 101, 1000])
def test_batch_size_out_of_range_is_refused(size: int) -> None:
    """Batch sizes outside 1..100 are a usage error naming the flag, range and value."""
    with pytest.raises(UsageError, match="--batch-size") as info:
        build(batch_size=size)
    assert "1..100" in str(info.value)
    assert str(size) in str(info.value)


@pytest.mark.parametrize("concurrency", [0, -3])
def test_concurrency_below_one_is_refused(concurrency: int) -> None:
    """At least one request must be allowed in flight."""
    with pytest.raises(UsageError, match="--concurrency"):
        build(concurrency=concurrency)


def test_concurrency_of_one_and_above_is_accepted() -> None:
    """1 is the smallest valid concurrency; larger values are kept as given."""
    assert build(concurrency=1).concurrency == 1
    assert build(concurrency=64).concurrency == 64


@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan, math.inf])
def test_rate_must_be_positive_and_finite(rate: float) -> None:
    """--rate 0, negative, NaN or infinite is refused (NaN would otherwise slip past `<= 0`)."""
    with pytest.raises(UsageError, match="--rate"):
        build(rate=rate)


@pytest.mark.parametrize("rate", [None, 0.5, 20.0])
def test_valid_rate_is_kept(rate: float | None) -> None:
    """No rate, or any positive finite rate, is accepted unchanged."""
    assert build(rate=rate).rate == rate


@pytest.mark.parametrize("timeout", [0.0, -5.0, math.nan, math.inf])
def test_timeout_must_be_positive_and_finite(timeout: float) -> None:
    """A request must be allowed to time out, and after a real, positive time."""
    with pytest.raises(UsageError, match="--timeout"):
        build(timeout=timeout)


def test_small_positive_timeout_is_accepted() -> None:
    """Fractions of a second are valid timeouts (the tests use them)."""
    assert build(timeout=0.05).timeout == 0.05


@pytest.mark.parametrize("account", ["", "   "])
def test_missing_account_id_is_refused_with_the_fix(account: str) -> None:
    """An empty or blank account ID says how to provide one."""
    with pytest.raises(UsageError) as info:
        build(account_id=account)
    message = str(info.value)
    assert "--account-id" in message
    assert "CLEVERTAP_ACCOUNT_ID" in message


def test_missing_passcode_is_refused_with_the_fix() -> None:
    """An empty passcode says both ways to provide one (env or file), never a CLI flag."""
    with pytest.raises(UsageError) as info:
        build(passcode=Secret(""))
    message = str(info.value)
    assert "CLEVERTAP_PASSCODE" in message
    assert "--passcode-file" in message


def test_id_type_must_be_guid_or_identity() -> None:
    """Only the two body keys the API knows are valid ID types."""
    assert build(id_type="identity").id_type == "identity"
    with pytest.raises(UsageError, match="--id-type"):
        build(id_type="email")


@pytest.mark.parametrize(
    ("field", "value", "flag"),
    [
        ("limit", 0, "--limit"),
        ("max_delete", -1, "--max-delete"),
        ("stall_timeout", 0.0, "--stall-timeout"),
        ("max_retries", -1, "max_retries"),
    ],
)
def test_other_bounds_are_validated(field: str, value: float, flag: str) -> None:
    """--limit ≥ 1, --max-delete ≥ 0, --stall-timeout > 0, max_retries ≥ 0."""
    with pytest.raises(UsageError, match=flag):
        build(**{field: value})


def test_base_url_is_normalised_and_validated() -> None:
    """The base URL goes through the same validation as --base-url, and host includes the port."""
    settings = build(base_url="http://127.0.0.1:8080/")
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.host == "127.0.0.1:8080"
    with pytest.raises(UsageError, match="unencrypted"):
        build(base_url="http://example.com")


def test_derived_grace_and_lookahead() -> None:
    """Graceful-stop wait is min(timeout, 30) unless set; lookahead scales with concurrency."""
    assert build(timeout=5.0).grace == 5.0
    assert build(timeout=120.0).grace == 30.0
    assert build(shutdown_grace=2.0).grace == 2.0
    assert build(concurrency=3).lookahead == 32
    assert build(concurrency=10).lookahead == 80
    assert build(window=7).lookahead == 7


# -- Secret -------------------------------------------------------------------------------


def test_secret_never_shows_its_value() -> None:
    """repr, str, f-strings (plain, !r, !s), %-formatting and format() are all masked."""
    secret = Secret(PASSCODE)
    renderings = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s}",
        "%s %r" % (secret, secret),  # noqa: UP031 - %-formatting is what logging uses
        format(secret),
        repr([secret]),
        repr({"passcode": secret}),
    ]
    for text in renderings:
        assert PASSCODE not in text
        assert "********" in text


def test_secret_reveals_only_on_request_and_compares_by_value() -> None:
    """reveal() is the one way out; equality and hashing follow the hidden value."""
    secret = Secret(PASSCODE)
    assert secret.reveal() == PASSCODE
    assert secret == Secret(PASSCODE)
    assert secret != Secret("other")
    assert secret != PASSCODE  # a Secret never equals the bare string
    assert len({secret, Secret(PASSCODE)}) == 1


def test_secret_has_no_dict_to_leak_through() -> None:
    """``vars()``-style introspection (used by some loggers) finds nothing to print."""
    with pytest.raises(TypeError):
        vars(Secret(PASSCODE))


def test_settings_repr_never_contains_the_passcode() -> None:
    """repr/str of the whole Settings (as a traceback or a debug log would show it) and of an
    error raised while validating it never contain the passcode."""
    settings = build()
    assert PASSCODE not in repr(settings)
    assert PASSCODE not in str(settings)
    assert PASSCODE not in f"{settings}"
    assert "ACC-1" in repr(settings)  # the repr is still useful
    with pytest.raises(UsageError) as info:
        build(batch_size=0)
    assert PASSCODE not in str(info.value)
    assert PASSCODE not in repr(info.value)


# -- ErrorBudget --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "percent"),
    [
        ("500", 500, None),
        (" 1 ", 1, None),
        ("2%", None, 2.0),
        ("0.5%", None, 0.5),
        ("100%", None, 100.0),
    ],
)
def test_error_budget_parses_counts_and_percentages(
    text: str, count: int | None, percent: float | None
) -> None:
    """``N`` is an absolute count, ``N%`` a percentage."""
    budget = ErrorBudget.parse(text)
    assert budget.count == count
    assert budget.percent == percent


@pytest.mark.parametrize(
    "text", ["", "abc", "0", "-5", "2.5", "0%", "-1%", "101%", "nan%", "inf%", "%", "5%%", "1e3"]
)
def test_error_budget_refuses_bad_values(text: str) -> None:
    """Zero, negatives, fractions of an ID, out-of-range or non-numeric percentages are usage
    errors that show an example of each valid form."""
    with pytest.raises(UsageError, match="--max-errors") as info:
        ErrorBudget.parse(text)
    assert "500" in str(info.value)
    assert "2%" in str(info.value)
    assert info.value.__cause__ is None  # `from None`: no ValueError chained into the output


def test_error_budget_str_round_trips() -> None:
    """str() gives back the form the operator typed (for the report and log lines)."""
    for text in ("500", "2%", "0.5%"):
        assert str(ErrorBudget.parse(text)) == text


def test_count_budget_is_exceeded_at_the_count() -> None:
    """``--max-errors 500`` aborts once this run has failed 500 IDs, whatever was attempted."""
    budget = ErrorBudget.parse("500")
    assert not budget.exceeded(failed=499, attempted=499)
    assert budget.exceeded(failed=500, attempted=500)
    assert budget.exceeded(failed=501, attempted=10_000)


def test_percentage_applies_only_after_1000_attempted() -> None:
    """One bad batch early on (100 % of 100) must not abort a 2 % budget; from 1,000 attempted
    the percentage is enforced."""
    budget = ErrorBudget.parse("2%")
    assert not budget.exceeded(failed=100, attempted=100)
    assert not budget.exceeded(failed=999, attempted=999)
    assert budget.exceeded(failed=20, attempted=1000)
    assert not budget.exceeded(failed=19, attempted=1000)
    assert budget.exceeded(failed=200, attempted=10_000)
    assert not budget.exceeded(failed=199, attempted=10_000)


def test_empty_budget_is_never_exceeded() -> None:
    """No --max-errors: never abort on error count."""
    assert not ErrorBudget().exceeded(failed=10**9, attempted=10**9)


@pytest.mark.parametrize("char", ["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85"])
@pytest.mark.parametrize("which", ["passcode", "account_id"])
def test_control_character_in_credentials_is_refused_without_echoing_them(
    which: str, char: str
) -> None:
    """A control character cannot travel in a request header: a usage error naming the
    setting and the position, never the value (it may be the passcode)."""
    value = f"abc{char}def-{PASSCODE}"
    overrides: dict[str, Any] = (
        {"passcode": Secret(value)} if which == "passcode" else {"account_id": value}
    )
    with pytest.raises(UsageError, match="control character") as info:
        build(**overrides)
    message = str(info.value)
    assert f"U+{ord(char):04X} at position 4" in message
    assert ("the passcode" if which == "passcode" else "the account ID") in message
    assert "abc" not in message
    assert PASSCODE not in message


# -- the audit trail and the preflight ----------------------------------------------------


def test_preflight_is_on_and_the_audit_fields_empty_by_default() -> None:
    settings = build()
    assert settings.preflight is True
    assert (settings.requester, settings.ticket) == (None, None)


@pytest.mark.parametrize("value", ["Ana Ruiz", "DSR-1041 / CHG-77", "é" * 200, ""])
def test_one_line_of_at_most_200_characters_is_kept(value: str) -> None:
    settings = build(requester=value, ticket=value)
    assert (settings.requester, settings.ticket) == (value, value)


@pytest.mark.parametrize(("value", "says"), [
    ("x" * 201, "at most 200 characters, got 201"),
    ("a\nb", "one line"), ("a\r\nb", "one line"), ("a\u2028b", "one line"),
    ("a\u2029b", "one line"), ("a\x85b", "one line"), ("tab\there", "one line"),
])
@pytest.mark.parametrize("field", ["requester", "ticket"])
def test_a_longer_or_multiline_audit_value_is_refused(field: str, value: str,
                                                      says: str) -> None:
    with pytest.raises(UsageError, match=says) as info:
        build(**{field: value})
    assert f"--{field}" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "flag", "bound"),
    [
        ("concurrency", 65, "--concurrency", "1..64"),
        ("concurrency", 10_000, "--concurrency", "1..64"),
        ("rate", 1e-9, "--rate", "0.01"),
        ("rate", 1e9, "--rate", "10000"),
        ("timeout", 1e-9, "--timeout", "0.01"),
        ("timeout", 1e9, "--timeout", "3600"),
        ("stall_timeout", math.inf, "--stall-timeout", "86400"),
        ("stall_timeout", math.nan, "--stall-timeout", "86400"),
        ("stall_timeout", 1e-9, "--stall-timeout", "0.1"),
        ("stall_timeout", -1.0, "--stall-timeout", "0.1"),
        ("limit", 2.5, "--limit", "whole number"),
        ("max_delete", math.inf, "--max-delete", "whole number"),
        ("batch_size", True, "--batch-size", "whole number"),
    ],
)
def test_pacing_options_are_bounded_and_finite(
    field: str, value: float, flag: str, bound: str
) -> None:
    """A run that would never send (--rate 1e-9), one that would open thousands of
    connections (--concurrency 10000) and NaN/infinite times are refused naming the flag
    and its range (docs/cli.md, "Bounds")."""
    with pytest.raises(UsageError, match=flag) as info:
        build(**{field: value})
    assert bound in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("concurrency", 64), ("rate", 0.01), ("rate", 10_000.0), ("timeout", 0.05),
     ("timeout", 3600.0), ("stall_timeout", 0.3), ("stall_timeout", 86_400.0)],
)
def test_the_bounds_themselves_are_accepted(field: str, value: float) -> None:
    """Each range is inclusive; the fast tests' small times stay valid."""
    assert getattr(build(**{field: value}), field) == value
