"""``delete_ids`` holds an iterable to the file path's rule (docs/library.md, "From any
iterable of IDs"): the reader's ID rule decides every item, invalid items are counted by
position and never sent, and a bad setting is a ``UsageError``, never an AttributeError.
Against the shipped fake server on loopback: what it acknowledged is exactly the valid set."""

from __future__ import annotations

from typing import Any

import pytest

from bulkdelete import Secret, Settings, UsageError, delete_ids
from tests.conftest import ACCOUNT, PASSCODE, ServerFactory, make_ids, make_settings

BLANK = "blank"  # not an invalid item: counted in lines_blank


async def test_an_iterable_gets_the_same_id_rule_as_a_file(fake_server: ServerFactory) -> None:
    """Too long, a line break or a tab inside, not a string: each is an invalid item,
    counted by its position (from 1) with the reader's reason and never sent; an empty or
    blank one is a blank, counted apart as a file's blank line is. Surrounding whitespace is
    trimmed, as in a file. The server acknowledges exactly the valid values."""
    valid = make_ids(250)
    bad: list[tuple[object, str]] = [
        ("x" * 600, "longer than 512 characters"),
        ("a\nb", "control character"),
        ("c\td", "control character"),
        ("", BLANK),
        ("   ", BLANK),
        (42, "not a string"),
        (None, "not a string"),
        (b"bytes-id", "not a string"),
    ]
    items: list[object] = []
    expected_samples = []
    for n, value in enumerate(valid):
        items.append(f"  {value}\r\n" if n % 50 == 0 else value)
        if n % 30 == 7 and bad:
            item, reason = bad.pop(0)
            items.append(item)
            if reason != BLANK:
                expected_samples.append({"line": len(items), "reason": reason})
    assert not bad
    async with fake_server() as server:
        result = await delete_ids(make_settings(server.base_url), iter(items))
        assert set(server.stats.received) == set(valid)
        assert set(server.stats.acknowledged) == set(valid)
    report = result.report
    assert result.exit_code == 0
    assert result.failed_ids == []
    assert report["ids_total"] == report["ids_deleted"] == len(valid)
    assert report["lines_invalid"] == len(expected_samples)
    assert report["invalid_samples"] == expected_samples
    assert report["lines_blank"] == 2
    assert report["complete"] is True


async def test_a_plain_string_passcode_is_wrapped(fake_server: ServerFactory) -> None:
    """A library caller may give the passcode as a str: it is wrapped in a Secret (masked
    from then on) and the run is accepted by the server."""
    ids = make_ids(120)
    settings = make_settings("http://127.0.0.1:9", passcode=PASSCODE)
    assert isinstance(settings.passcode, Secret)
    assert PASSCODE not in repr(settings)
    async with fake_server() as server:
        result = await delete_ids(make_settings(server.base_url, passcode=PASSCODE), ids)
        assert set(server.stats.acknowledged) == set(ids)
    assert result.exit_code == 0


@pytest.mark.parametrize(("field", "value", "named"), [
    ("passcode", 12345, "passcode"),
    ("passcode", None, "passcode"),
    ("passcode", b"bytes", "passcode"),
    ("account_id", 12345, "account_id"),
    ("base_url", None, "base_url"),
])
def test_a_setting_of_the_wrong_type_is_a_usage_error(
    field: str, value: Any, named: str
) -> None:
    """The documented error, naming the setting, and never the value itself."""
    values: dict[str, Any] = {"account_id": ACCOUNT, "passcode": Secret(PASSCODE),
                              "base_url": "http://127.0.0.1:9", "id_type": "guid"}
    values[field] = value
    with pytest.raises(UsageError, match=named) as info:
        Settings(**values)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("char", ["\x0c", "\x0b", "\x1c", "\x1f", "\x85", "\xa0", "\u2028"])
async def test_an_item_is_never_sent_other_than_as_it_is(
    fake_server: ServerFactory, char: str
) -> None:
    """Only ordinary whitespace (space, tab, CR, LF) is trimmed from an item, as from a
    file's value: a form feed, a separator control or a no-break space at its edge makes it
    invalid, never sent as the shorter value nobody asked for (the file path's rule)."""
    ids = make_ids(5)
    items = [f"{char}{ids[0]}", f"{ids[1]}{char}", *ids[2:]]
    async with fake_server() as server:
        result = await delete_ids(make_settings(server.base_url), items)
        assert set(server.stats.received) == set(ids[2:])
    assert [sample["line"] for sample in result.report["invalid_samples"]] == [1, 2]
    assert result.report["lines_invalid"] == 2


@pytest.mark.parametrize(("ids", "message"), [
    ("id-00000001", "not a single string"), (b"id-00000001", "not a single string"),
    (bytearray(b"id-1"), "not a single string"), (42, "not iterable"), (None, "not iterable"),
])
async def test_one_string_for_the_iterable_is_a_usage_error(
    fake_server: ServerFactory, ids: object, message: str
) -> None:
    """A str is an iterable of its characters: passed where the IDs go (one ID instead of a
    list of one), each character would be sent as an ID nobody asked for. That, or no
    iterable at all, is a UsageError before anything is sent."""
    async with fake_server() as server:
        with pytest.raises(UsageError, match=message):
            await delete_ids(make_settings(server.base_url), ids)  # type: ignore[arg-type]
        assert server.stats.requests == 0
