"""A raw asyncio server on loopback that misbehaves as a broken proxy can: it answers
every request with a 500 and then, a moment later, writes an extra ``200 {"status":
"success"}`` on the same kept-alive connection. Nothing it ever sends acknowledges a
request; a client that reuses the connection reads the extra answer as the next one's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


def _answer(status: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


ERROR = _answer("500 Internal Server Error",
                b'{"status": "fail", "error": "Internal error", "code": 500}')
STALE = _answer("200 OK", b'{"status":"success"}')


@dataclass
class StaleServer:
    base_url: str = ""
    requests: int = 0  # requests read whole
    connections: int = 0
    stale_written: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)


async def _read_request(reader: asyncio.StreamReader) -> bool:
    """One request, headers and body; False at the end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return False
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        try:
            await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return False
    return True


@asynccontextmanager
async def stale_server(delay: float = 0.02, *, split: bool = False) -> AsyncIterator[StaleServer]:
    """The server; ``delay`` is how long after the 500 the extra answer follows. ``split``
    sends the 500's body in two pieces a moment apart, the extra answer right behind the
    second in the same write: the connection is then free again before the client's
    request task has run."""
    state = StaleServer()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        state.writers.append(writer)
        try:
            while await _read_request(reader):
                state.requests += 1
                if split:
                    writer.write(ERROR[:-20])
                    await writer.drain()
                    await asyncio.sleep(0.001)
                    writer.write(ERROR[-20:] + STALE)
                else:
                    writer.write(ERROR)
                    await writer.drain()
                    await asyncio.sleep(delay)
                    writer.write(STALE)
                await writer.drain()
                state.stale_written += 1
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state.base_url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        server.close()
        for writer in state.writers:  # wait_closed waits for open connections too
            writer.close()
        await server.wait_closed()
