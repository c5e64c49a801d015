"""The CleverTap-compatible fake server (docs/fake-server.md), its command line and the demo.

``from bulkdelete.fake import FakeServer, FakeServerConfig`` is the public way in. Every
command's parser imports this package and its config for the fake-server flags; FakeServer,
which brings aiohttp's server side, is imported only on first use.
"""

from typing import TYPE_CHECKING, Any

from bulkdelete.fake.config import ENDPOINT, FakeServerConfig, FakeServerStats

if TYPE_CHECKING:
    from bulkdelete.fake.server import FakeServer

__all__ = ["ENDPOINT", "FakeServer", "FakeServerConfig", "FakeServerStats"]


def __getattr__(name: str) -> Any:
    if name == "FakeServer":
        from bulkdelete.fake.server import FakeServer

        return FakeServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
