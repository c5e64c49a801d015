"""Server text (which may echo the headers) without the passcode, shortened for storage.
Every form is masked *before* the cut (a cut could leave a piece no longer matching)."""

from __future__ import annotations

import base64
import contextlib
import html
import json
import re
from urllib.parse import quote, quote_plus, unquote

MASK = "[redacted]"
DROPPED = "[text dropped: it may hold the passcode]"
MIN_PIECE = 4  # a shorter piece at the end says too little to be worth losing real text
_MIN_LOOSE_PIECE = 6  # a piece found anywhere, however it is written

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){4,}")
# A JSON \uXXXX escape, however many times its backslash was itself escaped.
_UNICODE_ESCAPE = re.compile(r"\\+u([0-9a-fA-F]{4})")


class SecretForms(tuple[str, ...]):
    """The forms to mask, longest first, with the secret's pieces: made once per secret."""

    pieces: frozenset[str]

    def __new__(cls, forms: tuple[str, ...], secret: str) -> SecretForms:
        self = super().__new__(cls, forms)
        # Every run of a quarter of it (6+ characters), also without whitespace.
        pieces: set[str] = set()
        for form in {secret, "".join(secret.split())}:
            size = min(len(form), max(_MIN_LOOSE_PIECE, len(form) // 4))
            pieces |= {form[i:i + size] for i in range(len(form) - size + 1)}
        self.pieces = frozenset(pieces)
        return self


def secret_forms(secret: str) -> tuple[str, ...]:
    """Longest first, so a long form is masked whole before a shorter one splits it."""
    if not secret:
        return ()
    escaped = json.dumps(secret)[1:-1]
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
    b64url = base64.urlsafe_b64encode(raw).decode()
    forms = {
        secret, escaped, json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(escaped)[1:-1],
        quote(secret, safe=""), quote_plus(secret, safe=""), " ".join(secret.split()),
        html.escape(secret), html.escape(secret, quote=False), html.escape(escaped),
        b64, b64.rstrip("="), b64url, b64url.rstrip("="), raw.hex(), raw.hex().upper(),
    }
    return SecretForms(tuple(sorted(filter(None, forms), key=len, reverse=True)), secret)


def _readings(text: str) -> list[str]:
    """``text`` unwrapped, unescaped (HTML, JSON, percent), its base64 and hex runs decoded."""
    flat = "".join(text.split())
    found = [text, flat]
    for variant in (text, flat):
        unescaped = html.unescape(variant)
        found += [unescaped, unquote(unescaped),
                  unescaped.replace('\\"', '"').replace("\\\\", "\\"),
                  _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), unescaped)]
    for run in _BASE64.findall(flat):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            with contextlib.suppress(ValueError):  # binascii.Error is one
                found.append(decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
    for run in _HEX.findall(flat):
        found.append(bytes.fromhex(run).decode("utf-8", "replace"))
    return found


def shorten(text: str, forms: tuple[str, ...], limit: int) -> str:
    """One line of at most ``limit``: no form of the secret, no piece of one at the end;
    dropped whole when a quarter of it shows in any reading."""
    text = " ".join(_mask(text, forms).split())
    # Collapsing whitespace can join two halves of a passcode that holds a space.
    text = _drop_trailing_piece(_mask(text, forms), forms)
    pieces: frozenset[str] = getattr(forms, "pieces", frozenset())
    if pieces and text and any(piece in reading for reading in _readings(text.replace(MASK, " "))
                               for piece in pieces):
        return DROPPED[:limit]
    return _drop_trailing_piece(text[:limit], forms)


def _mask(text: str, forms: tuple[str, ...]) -> str:
    for form in forms:
        text = text.replace(form, MASK if form not in MASK else "")
    # A mask next to the text around it could form a passcode again (one that shares
    # characters with the mask); removing outright only shortens, so this ends.
    while found := next((form for form in forms if form in text), None):
        text = text.replace(found, "")
    return text


def _drop_trailing_piece(text: str, forms: tuple[str, ...]) -> str:
    dropped = True
    while dropped:
        dropped = False
        for form in forms:
            for size in range(min(len(form), len(text)), MIN_PIECE - 1, -1):
                if text.endswith(form[:size]):
                    text = text[:-size].rstrip()
                    dropped = True
                    break
    return text
