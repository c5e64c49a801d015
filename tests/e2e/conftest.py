"""Fixtures of the end-to-end tests: operator credentials, a fake server in a thread, and
structlog reset after in-process ``main()`` runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from bulkdelete import logs
from bulkdelete.fake import FakeServer
from tests.conftest import ACCOUNT, FAST_PAUSES, PASSCODE
from tests.e2e.support import serve_in_thread


@pytest.fixture
def reset_logging() -> Iterator[None]:
    """main() configures structlog process-wide; leave it as other test modules expect."""
    yield
    logs.configure()  # closes a --log-file main() opened
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials by environment, as an operator would set them; no region or base URL;
    the short retry pauses the CLI honours only for loopback (tests/conftest.py)."""
    for name in ("CLEVERTAP_REGION", "CLEVERTAP_BASE_URL", "CLEVERTAP_ACCOUNT_ID",
                 "CLEVERTAP_PASSCODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLEVERTAP_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLEVERTAP_PASSCODE", PASSCODE)
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps help to this width
    for name, value in FAST_PAUSES.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def server(creds: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """A fake server in a thread, with CLEVERTAP_BASE_URL pointing at it."""
    with serve_in_thread(latency=0.001) as srv:
        monkeypatch.setenv("CLEVERTAP_BASE_URL", srv.base_url)
        yield srv
