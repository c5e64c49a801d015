"""``--encoding`` (docs/cli.md): a Windows-1252 or Latin-1 export reads as its text in every
format; which codecs the byte-wise reader can use is decided up front, with a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkdelete.errors import UsageError
from bulkdelete.reader import Input, InputFormat
from bulkdelete.reader.encoding import resolve_encoding
from bulkdelete.reader.rule import REASON_UTF8, encoding_hint
from tests.reader.support import invalid, values, write

JOSE = "josé@example.com"


@pytest.mark.parametrize(("name", "canonical"), [
    ("utf-8", "utf-8"), ("UTF8", "utf-8"), ("utf-8-sig", "utf-8"), ("cp1252", "cp1252"),
    ("windows-1252", "cp1252"), ("latin-1", "iso8859-1"), ("iso8859-15", "iso8859-15"),
])
def test_a_usable_codec_has_one_name_whatever_its_spelling(name: str, canonical: str) -> None:
    assert resolve_encoding(name) == canonical


@pytest.mark.parametrize(("name", "said"), [
    ("bogus", "unknown --encoding 'bogus'"), ("base64", "unknown --encoding"),
    ("utf-16", "cannot be read line by line"), ("shift_jis", "cannot be read line by line"),
    ("iso2022_jp", "cannot be read line by line"), ("utf-7", "cannot be read line by line"),
    ("cp500", "cannot be read line by line"),
])
def test_a_codec_the_reader_cannot_use_is_refused_with_the_way_out(name: str, said: str) -> None:
    with pytest.raises(UsageError, match=said) as info:
        resolve_encoding(name)
    assert "utf-8" in str(info.value)


@pytest.mark.parametrize(("fmt", "data"), [
    ("lines", b"jos\xe9@example.com\nann@example.com\n"),
    ("csv", b"name,identity\nJos\xe9,jos\xe9@example.com\nAnn,ann@example.com\n"),
    ("jsonl", b'{"identity": "jos\xe9@example.com"}\n{"identity": "ann@example.com"}\n'),
])
def test_a_cp1252_export_reads_as_its_text_in_every_format(
    tmp_path: Path, fmt: InputFormat, data: bytes,
) -> None:
    path = write(tmp_path / f"ids.{fmt}", data)
    as_utf8 = list(Input(path, fmt, "identity").records())
    assert invalid(as_utf8) == [(2 if fmt == "csv" else 1, REASON_UTF8)]
    read = list(Input(path, fmt, "identity", encoding=resolve_encoding("cp1252")).records())
    assert values(read) == [JOSE, "ann@example.com"]
    assert invalid(read) == []


def test_a_byte_cp1252_leaves_undefined_is_invalid_in_its_words(tmp_path: Path) -> None:
    """0x81 has no character in cp1252: that line is invalid as not cp1252, not UTF-8."""
    path = write(tmp_path / "ids.txt", b"a\x81b\nok\n")
    items = list(Input(path, "lines", "guid", encoding="cp1252").records())
    assert (values(items), invalid(items)) == (["ok"], [(1, "not valid cp1252")])


def test_the_hint_names_the_option_only_for_lines_not_utf8() -> None:
    hint = encoding_hint([REASON_UTF8])
    assert hint is not None
    assert "--encoding cp1252" in hint
    assert encoding_hint(["empty value", "not valid cp1252"]) is None
