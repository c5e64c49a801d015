"""The CleverTap-compatible fake server (docs/fake-server.md). Every command's parser imports
this package for the fake-server flags, so FakeServer (aiohttp's server side) loads on first use."""

from typing import TYPE_CHECKING, Any

from bulkdelete.fake.config import ENDPOINT, FakeServerConfig

if TYPE_CHECKING:
    from bulkdelete.fake.server import FakeServer

__all__ = ["ENDPOINT", "FakeServer", "FakeServerConfig"]


def __getattr__(name: str) -> Any:
    if name == "FakeServer":
        from bulkdelete.fake.server import FakeServer

        return FakeServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
