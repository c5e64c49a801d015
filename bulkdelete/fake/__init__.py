"""The CleverTap-compatible fake server (docs/fake-server.md), its command line and the demo.

``from bulkdelete.fake import FakeServer, FakeServerConfig`` is the public way in. Importing
this package imports aiohttp's server side; the ``delete`` command never does.
"""

from bulkdelete.fake.config import (
    DEFAULT_PASSCODE,
    ENDPOINT,
    MAX_IDS_PER_REQUEST,
    PASSCODE_ENV,
    FakeServerConfig,
    FakeServerStats,
)
from bulkdelete.fake.server import FakeServer

__all__ = [
    "DEFAULT_PASSCODE",
    "ENDPOINT",
    "MAX_IDS_PER_REQUEST",
    "PASSCODE_ENV",
    "FakeServer",
    "FakeServerConfig",
    "FakeServerStats",
]
