"""Server text with the passcode taken out, shortened for storage (the secrets guarantee).

A server, or a proxy in front of it, may echo the request's headers in an error text, and
that text is kept beside the failed file. So every form the passcode can take there is
masked *before* the text is shortened — a cut first could leave a piece that no longer
matches — and a piece of it left at the very end (an echo the server itself cut off, or one
the shortening split) is dropped as well.

The forms: raw; JSON-escaped, as ``json.dumps`` writes it with or without ``ensure_ascii``,
and escaped twice (a JSON document quoted inside another); percent-encoded; and with its
whitespace collapsed, as the one-line shortening leaves it.
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
MIN_PIECE = 4  # a shorter piece at the end says too little to be worth losing real text


def secret_forms(secret: str) -> tuple[str, ...]:
    """Every form of ``secret`` to look for, longest first (so a long form is masked whole
    before a shorter one inside it could split it)."""
    if not secret:
        return ()
    escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(escaped)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        " ".join(secret.split()),
    }
    return tuple(sorted(filter(None, forms), key=len, reverse=True))


def shorten(text: str, forms: tuple[str, ...], limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, with no form of the secret in
    it and no piece of one (``MIN_PIECE`` characters or more) at its end."""
    text = " ".join(_mask(text, forms).split())
    # Collapsing whitespace can join two halves of a passcode that holds a space.
    text = _mask(text, forms)[:limit]
    return _drop_trailing_piece(text, forms)


def _mask(text: str, forms: tuple[str, ...]) -> str:
    if not any(form in text for form in forms):
        return text
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
