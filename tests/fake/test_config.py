"""FakeServerConfig refuses settings the server cannot honour and keeps the passcode out
of its repr."""

from __future__ import annotations

import pytest

from bulkdelete.fake import FakeServerConfig


def test_config_refuses_impossible_settings() -> None:
    """Probabilities outside [0, 1], or fault probabilities adding up beyond 1, are refused."""
    with pytest.raises(ValueError, match="probability"):
        FakeServerConfig(p_500=1.5)
    with pytest.raises(ValueError, match="add up"):
        FakeServerConfig(p_500=0.6, p_reset=0.6)
    with pytest.raises(ValueError, match="negative"):
        FakeServerConfig(latency=-1)


def test_passcode_is_not_in_the_config_repr() -> None:
    """The passcode never reaches a log through a repr of the config."""
    assert "s3cret" not in repr(FakeServerConfig(passcode="s3cret"))
