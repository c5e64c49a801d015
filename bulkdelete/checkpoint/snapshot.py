"""How a snapshot is laid out in ``state.json`` (docs/checkpoint.md).

One JSON object, so a plain JSON parser (``jq``, ``python -m json.tool``) reads the file
whole::

    {"crc32": "3f9a02c1", "format": "bulkdelete-state", "state": {...}}

``crc32`` is the CRC-32 of the canonical dump of ``state`` (compact, keys sorted, ASCII):
a damaged file is detected rather than trusted, whether the damage breaks the JSON or only
changes a value. Only this layout is read.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Final

FORMAT: Final = "bulkdelete-state"


def canonical(state: dict[str, Any]) -> bytes:
    """The bytes the checksum covers: the same for the same state, however it was laid out."""
    return json.dumps(state, separators=(",", ":"), sort_keys=True).encode()


def checksum(body: bytes) -> str:
    return f"{zlib.crc32(body):08x}"


def encode(state: dict[str, Any]) -> bytes:
    """The file's bytes for ``state``: the state and its checksum in one JSON object."""
    body = canonical(state)
    return (b'{"crc32":"%s","format":"%s","state":%s}\n'
            % (checksum(body).encode(), FORMAT.encode(), body))


def decode(raw: bytes) -> dict[str, Any] | None:
    """The state in ``raw``, or None when the file is damaged (unparsable, or its checksum
    does not match)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    state = data.get("state")
    if not isinstance(state, dict) or data.get("crc32") != checksum(canonical(state)):
        return None
    return state

