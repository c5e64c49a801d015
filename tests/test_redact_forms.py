"""Passcode forms a plain search misses (the secrets guarantee): wrapped over lines, split
in pieces or fields, base64 or hex, HTML-escaped. What can be matched is masked; an answer
that still holds a long enough piece of the passcode loses its text altogether."""

from __future__ import annotations

import base64
import html
import json
import re

import pytest

from bulkdelete.answer import classify, classify_profile, gone_shape
from bulkdelete.redact import secret_forms, shorten

PASSCODE = 's3cr3t-PASS"CODE&never-printed'
PIECES = ("s3cr3t-PASS", 'PASS"CODE', "CODE&never", "never-printed", "3cr3t-PA")


def _echoes(passcode: str) -> dict[str, str]:
    raw = passcode.encode()
    mid = len(passcode) // 2
    third = len(passcode) // 3
    return {
        "wrapped": f"header was {passcode[:mid]}\n{passcode[mid:]} end",
        "wrapped-crlf": f"header was {passcode[:9]}\r\n  {passcode[9:]} end",
        "two-fields": f"a={passcode[:mid]} b={passcode[mid:]}",
        "three-pieces": (f"x {passcode[:third]} y {passcode[third:2 * third]} z "
                         f"{passcode[2 * third:]}"),
        "base64": f"auth {base64.b64encode(raw).decode()} done",
        "base64-urlsafe": f"auth {base64.urlsafe_b64encode(raw).decode().rstrip('=')}",
        "base64-in-context": "blob " + base64.b64encode(b"passcode=" + raw + b";").decode(),
        "hex": f"bytes {raw.hex()} end",
        "HEX": f"bytes {raw.hex().upper()} end",
        "html": f"<p>passcode {html.escape(passcode)}</p>",
        "html-numeric": "<p>" + "".join(f"&#{ord(c)};" for c in passcode) + "</p>",
        "json-in-html": html.escape(json.dumps({"p": passcode})),
        # Every character as a JSON \u escape, once or inside a quoted document again.
        "json-u-escapes": "got " + "".join(f"\\u{ord(c):04x}" for c in passcode),
        "json-u-escapes-twice": "got " + "".join(f"\\\\u{ord(c):04X}" for c in passcode),
    }


def _unicode_unescaped(text: str) -> str:
    return re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def _assert_no_piece(text: str) -> None:
    flat = "".join(text.split())
    unescaped = html.unescape(text)
    for piece in PIECES:
        for reading in (text, flat, unescaped, _unicode_unescaped(text)):
            assert piece not in reading, (piece, text)
    assert base64.b64encode(PASSCODE.encode()).decode()[:12] not in text
    assert PASSCODE.encode().hex()[:16] not in text.lower()
    assert html.escape(PASSCODE)[:14] not in text


@pytest.mark.parametrize("kind", list(_echoes(PASSCODE)))
def test_no_form_of_the_passcode_survives_the_scrub(kind: str) -> None:
    echo = _echoes(PASSCODE)[kind]
    kept = shorten(echo, secret_forms(PASSCODE), 200)
    _assert_no_piece(kept)


@pytest.mark.parametrize("kind", list(_echoes(PASSCODE)))
def test_an_answer_echoing_it_keeps_no_piece_in_any_detail(kind: str) -> None:
    echo = _echoes(PASSCODE)[kind]
    hide = secret_forms(PASSCODE)
    body = json.dumps({"status": "fail", "error": echo, "code": 400}).encode()
    _assert_no_piece(classify(200, body, hide=hide).detail)
    _assert_no_piece(classify(502, echo.encode(), hide=hide).detail)
    gone = json.dumps({"status": "fail", "error": f"User not found ({echo})"}).encode()
    _assert_no_piece(json.dumps(gone_shape(classify_profile(200, gone, hide=hide))))


def test_text_without_the_passcode_is_kept() -> None:
    text = "Invalid identity in request (poison ID) at line 7"
    assert shorten(text, secret_forms(PASSCODE), 200) == text
