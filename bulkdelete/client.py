"""One API call, one classified result: the only module that speaks HTTP to CleverTap."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import aiohttp

from bulkdelete.answer import (
    MAX_RETRY_AFTER,
    SUCCESS,
    Outcome,
    Result,
    classify,
    classify_profile,
    lookup_shape,
    parse_retry_after,
)
from bulkdelete.redact import secret_forms
from bulkdelete.settings import DELETE_PATH, PROFILE_PATH, IdType, Secret

# What an answer means is re-exported, so a caller of the client needs one import.
__all__ = ["MAX_BODY", "MAX_RETRY_AFTER", "SUCCESS", "BoundClient", "ClevertapClient",
           "Deleter", "Failures", "Outcome", "Result", "classify", "parse_retry_after"]

MAX_BODY = 64 * 1024  # read no further: a longer answer is RETRYABLE, memory stays bounded


class Deleter(Protocol):
    """Never raises for an answer or a network failure: it classifies it."""

    async def delete(self, ids: Sequence[str]) -> Result: ...


# The IDs of a batch that did not come out as asked, each with why.
Failures = list[tuple[str, Result]]


class ClevertapClient:
    """One request per call over a caller's session; the passcode goes only into headers."""

    def __init__(self, *, base_url: str, account_id: str, passcode: Secret, id_type: IdType,
                 timeout: float, calibration: dict[str, Any] | None = None) -> None:
        # This account's not-found shape, when learned (docs/verify.md, "Calibration").
        self._calibration = calibration
        self._url = base_url.rstrip("/") + DELETE_PATH
        self._profile_url = base_url.rstrip("/") + PROFILE_PATH
        self._id_type = id_type
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = {
            "X-CleverTap-Account-Id": account_id,
            "X-CleverTap-Passcode": passcode.reveal(),
            "Content-Type": "application/json; charset=utf-8",
        }
        # A proxy may echo the headers: the passcode is kept out of the failed file's reasons.
        self._hide = secret_forms(passcode.reveal())

    def __repr__(self) -> str:  # never show the headers: they hold the passcode
        return f"ClevertapClient(url={self._url!r}, id_type={self._id_type!r})"

    def bind(self, session: aiohttp.ClientSession) -> BoundClient:
        return BoundClient(self, session)

    def body(self, ids: Sequence[str]) -> bytes:
        return json.dumps({self._id_type: list(ids)}, ensure_ascii=False,
                          separators=(",", ":")).encode()

    async def delete_with(self, session: aiohttp.ClientSession, ids: Sequence[str]) -> Result:
        request = session.post(self._url, data=self.body(ids), headers=self._headers,
                               timeout=self._timeout, allow_redirects=False)
        return await self._exchange(request, classify)

    async def profile_with(
        self, session: aiohttp.ClientSession, ident: str, *, key: str | None = None,
        shapes: list[dict[str, Any] | None] | None = None,
    ) -> Result:
        """``shapes``, when given, gets each answer's :func:`lookup_shape` (a calibration)."""
        key = key or ("objectId" if self._id_type == "guid" else "identity")
        request = session.get(self._profile_url, params={key: ident}, headers=self._headers,
                              timeout=self._timeout, allow_redirects=False)
        classify_answer = partial(classify_profile, ident=ident, calibration=self._calibration)

        def noting(status: int, body: bytes, retry_after: float | None, *,
                   hide: tuple[str, ...]) -> Result:
            assert shapes is not None
            shapes.append(lookup_shape(status, body, hide=hide, ident=ident))
            return classify_answer(status, body, retry_after, hide=hide)

        return await self._exchange(request, classify_answer if shapes is None else noting)

    async def _exchange(self, request: aiohttp.client._RequestContextManager,
                        classify_answer: Callable[..., Result]) -> Result:
        try:
            async with request as response:
                clean = False  # only a 200 read whole that is a success may carry another
                try:
                    # Close, not pool, a connection whose body is still arriving: pooled as
                    # it ends, another request could read a stray answer behind this one.
                    connection = response.connection  # None once released
                    if connection is not None and connection.protocol is not None:
                        connection.protocol.force_close()
                    parts: list[bytes] = []
                    size = 0
                    while size <= MAX_BODY and not response.content.at_eof():
                        parts.append(await response.content.read(MAX_BODY + 1 - size))
                        size += len(parts[-1])
                    if size > MAX_BODY:
                        return Result(Outcome.RETRYABLE, "answer over 64 KiB", response.status)
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    result = classify_answer(response.status, b"".join(parts), retry_after,
                                             hide=self._hide)
                    clean = response.status == 200 and result.outcome is Outcome.SUCCESS
                    return result
                finally:
                    # Never reuse the connection of an unclear answer, a timeout or a cut-off
                    # body; the protocol too, as a whole answer is already pooled.
                    if not clean:
                        if (protocol := getattr(response, "_protocol", None)) is not None:
                            protocol.close()
                        response.close()
        except TimeoutError:
            return Result(Outcome.RETRYABLE, f"timeout after {self._timeout.total:g}s")
        except aiohttp.ClientConnectorCertificateError:
            return Result(Outcome.FATAL, "TLS certificate verification failed")
        except aiohttp.ClientSSLError:
            return Result(Outcome.FATAL, "TLS handshake failed")
        except aiohttp.ClientPayloadError:
            return Result(Outcome.RETRYABLE, "answer cut off")
        except aiohttp.ServerDisconnectedError:
            return Result(Outcome.RETRYABLE, "connection reset")
        except aiohttp.ClientConnectorError as exc:  # TLS failures, its subclasses, are above
            # No connection was made, so no request left: the one failure that fails no ID.
            err = exc.os_error
            if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(err, socket.gaierror):
                why = f"DNS lookup failed: {err.strerror or err}"
            elif err.errno and err.errno > 0:
                why = os.strerror(err.errno)  # "Connection refused", without the address
            else:
                why = err.strerror or str(err) or type(err).__name__
            host = f"[{exc.host}]" if ":" in exc.host else exc.host  # an IPv6 literal
            return Result(Outcome.UNREACHED, f"cannot connect to {host}:{exc.port} ({why[:120]})")
        except (aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError) as exc:
            return Result(Outcome.RETRYABLE, f"network error ({type(exc).__name__})")


@dataclass(frozen=True)
class BoundClient:
    client: ClevertapClient
    session: aiohttp.ClientSession

    async def delete(self, ids: Sequence[str]) -> Result:
        return await self.client.delete_with(self.session, ids)

    async def profile(self, ident: str) -> Result:
        return await self.client.profile_with(self.session, ident)
