"""The passcode taken out of server text before it is kept (the secrets guarantee): every
form of it, wherever it sits — including across the 200-character cut — and any piece of
it left at the end."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bulkdelete.client import classify
from bulkdelete.redact import DROPPED, MASK, MIN_PIECE, secret_forms, shorten

LIMIT = 200

def _in_own_words(passcode: str) -> bool:
    """A passcode sharing a piece with the tool's own fixed wording ("passcod" in the
    dropped-text note) would be "found" in that wording, which echoes nothing."""
    return any(passcode[i:i + MIN_PIECE] in own for own in (DROPPED, MASK)
               for i in range(len(passcode) - MIN_PIECE + 1))


# Passcodes as an operator could set them: printable, no control characters (refused as
# settings), no surrounding whitespace (stripped when read).
passcodes = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=MIN_PIECE,
    max_size=40,
).map(str.strip).filter(lambda p: len(p) >= MIN_PIECE and not _in_own_words(p))
fillers = st.text(max_size=300)


def injected_forms(passcode: str) -> list[str]:
    """What a server echoing the passcode writes: raw or as a JSON string's contents."""
    return [passcode, json.dumps(passcode)[1:-1], json.dumps(passcode, ensure_ascii=False)[1:-1]]


def assert_clean(detail: str, passcode: str) -> None:
    assert len(detail) <= LIMIT
    for form in {*injected_forms(passcode), " ".join(passcode.split())}:
        assert form not in detail
        for size in range(MIN_PIECE, len(form) + 1):
            assert not detail.endswith(form[:size]), (form[:size], detail[-60:])


@given(passcodes, fillers, fillers, st.integers(0, 3), st.integers(0, 2))
def test_no_form_or_trailing_piece_of_the_passcode_survives(
    passcode: str, before: str, after: str, near_cut: int, form: int
) -> None:
    """Wherever a form of the passcode sits in a server's error text — at the start, the
    end, or straddling the 200-character cut — the stored detail has none of it."""
    echo = injected_forms(passcode)[form]
    if near_cut:  # start the echo 1..3 × 4 characters before the cut
        before = (before + "y" * LIMIT)[: LIMIT - 4 * near_cut]
    body = json.dumps({"status": "fail", "code": 400, "error": before + echo + after})
    result = classify(400, body.encode(), hide=secret_forms(passcode))
    assert_clean(result.detail, passcode)


@given(passcodes, fillers)
def test_passcode_inside_a_non_string_error_is_masked(passcode: str, filler: str) -> None:
    """A JSON object or list as the ``error`` is written as JSON before masking, so the
    passcode inside it is found whatever characters it holds."""
    error = {"note": filler, "headers": {"X-CleverTap-Passcode": passcode}, "list": [passcode]}
    body = json.dumps({"status": "fail", "code": 400, "error": error}).encode()
    result = classify(400, body, hide=secret_forms(passcode))
    assert_clean(result.detail, passcode)


@given(passcodes, fillers, st.integers(0, 2))
def test_passcode_in_an_unrecognised_body_is_masked(
    passcode: str, filler: str, form: int
) -> None:
    """A body that is not the API's JSON (a proxy's page) keeps its text as the detail;
    the passcode in it is masked first, wherever it is in the whole body."""
    body = f"<html>{filler}{injected_forms(passcode)[form]}</html>".encode()
    result = classify(200, body, hide=secret_forms(passcode))
    assert_clean(result.detail, passcode)


def test_server_text_around_the_passcode_is_kept() -> None:
    """Masking takes out the passcode, not the message a person needs."""
    detail = shorten("Invalid passcode s3cr3t-X for account A", secret_forms("s3cr3t-X"), LIMIT)
    assert detail == f"Invalid passcode {MASK} for account A"


def test_a_piece_left_at_the_end_is_dropped() -> None:
    """An echo the server cut off itself ends the text with the passcode's first
    characters: they go; three characters or fewer say too little and stay."""
    forms = secret_forms("s3cr3t-PASSCODE")
    assert shorten("bad header passcode=s3cr3t-P", forms, LIMIT) == "bad header passcode="
    assert shorten("status: s3c", forms, LIMIT) == "status: s3c"


def test_a_passcode_that_is_part_of_the_mask_is_removed_outright() -> None:
    """A passcode inside the mask's own text cannot be masked with it."""
    assert shorten("x redacted y", secret_forms("redacted"), LIMIT) == "x y"


def test_a_mask_cannot_complete_a_passcode_that_ends_like_it() -> None:
    """A passcode that starts with the mask's last characters, echoed right before its own
    tail, would be whole again once the first echo is masked: that one is removed."""
    detail = shorten("x d]abab y", secret_forms("d]ab"), LIMIT)
    assert "d]ab" not in detail
    assert detail.startswith("x ")
    assert detail.endswith(" y")


def test_whitespace_collapse_cannot_reassemble_a_passcode() -> None:
    """A passcode with a space, echoed with a line break where the space was, becomes the
    passcode again once the text is put on one line: it is masked then too."""
    forms = secret_forms("open sesame")
    assert shorten("got open\nsesame here", forms, LIMIT) == f"got {MASK} here"


def test_no_passcode_no_masking() -> None:
    """Without a passcode to hide the text is only put on one line and shortened."""
    assert secret_forms("") == ()
    assert shorten("a\n b  c" + "d" * 300, (), LIMIT) == ("a b c" + "d" * 300)[:LIMIT]
