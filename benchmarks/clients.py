"""The clients the tool is compared with, each run as its own process like the tool.

``python -m benchmarks.clients MODE --url URL --ids FILE --concurrency N`` sends every ID of
FILE (one per line) to the fake server as ``{"guid": [...]}`` batches of 100 and prints one
JSON line: ``{"ids": n, "send_s": s, "requests": r, "throttled": t, "failed": f,
"http": "..."}``. ``send_s`` is the sending phase alone (session open → last answer), the
counterpart of the tool's ``runs[-1].elapsed_s``; the caller times the whole process too.

Modes:

``bare``
    The floor: ``asyncio.Semaphore(N)``, batches and bodies pre-built before the clock starts,
    one aiohttp session with N connections, the status code checked and nothing else. At most
    N tasks exist at a time. A 429 is re-sent at once (it never happens when N is the
    server's limit, and it is counted).
``gather``
    What people typically hand-write: ``asyncio.gather`` over one coroutine per batch, an
    ``asyncio.Semaphore(N)``, ``session.post(json=...)`` and ``await response.json()``;
    on a non-200 it sleeps a second and tries again.
``bare-get``
    The floor for ``verify``: the same loop, one Get User Profile (``GET
    /1/profile.json?objectId=ID``) per ID, URLs pre-built before the clock starts, the
    status checked and the body read, nothing else.
``sequential``
    The naive script of CleverTap's docs turned into a loop: one ``requests.post`` at a
    time (no session, as in the docs' snippet). Without ``requests`` installed it uses
    ``urllib.request`` and says so in ``"http"``.

The credentials come from ``CLEVERTAP_ACCOUNT_ID`` / ``CLEVERTAP_PASSCODE``, as for the tool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import aiohttp
from yarl import URL

BATCH = 100
PATH = "/1/delete/profiles.json"
PROFILE_PATH = "/1/profile.json"

T = TypeVar("T")


@dataclass
class Outcome:
    ids: int = 0
    send_s: float = 0.0
    requests: int = 0
    throttled: int = 0
    failed: int = 0
    http: str = "aiohttp"


def _headers() -> dict[str, str]:
    return {
        "X-CleverTap-Account-Id": os.environ.get("CLEVERTAP_ACCOUNT_ID", ""),
        "X-CleverTap-Passcode": os.environ.get("CLEVERTAP_PASSCODE", ""),
        "Content-Type": "application/json; charset=utf-8",
    }


def _read_batches(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as lines:
        ids = [s for line in lines if (s := line.strip())]
    return [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]


async def run_bare(url: str, batches: Sequence[list[str]], concurrency: int) -> Outcome:
    """The floor: a semaphore, pre-built bodies, a status check. Nothing else."""
    out = Outcome(ids=sum(len(b) for b in batches))
    headers = _headers()
    target = url.rstrip("/") + PATH

    def post(session: aiohttp.ClientSession, body: bytes) -> Exchange:
        return session.post(target, data=body, headers=headers)

    bodies = [json.dumps({"guid": b}).encode() for b in batches]
    await _floor(post, bodies, BATCH, concurrency, out)
    return out


async def run_bare_get(url: str, batches: Sequence[list[str]], concurrency: int) -> Outcome:
    """The lookup floor: a semaphore, pre-built URLs, a status check, one GET per ID."""
    out = Outcome(ids=sum(len(b) for b in batches))
    headers = {k: v for k, v in _headers().items() if k != "Content-Type"}
    base = URL(url.rstrip("/") + PROFILE_PATH)

    def get(session: aiohttp.ClientSession, target: URL) -> Exchange:
        return session.get(target, headers=headers)

    targets = [base.with_query(objectId=ident) for batch in batches for ident in batch]
    await _floor(get, targets, 1, concurrency, out)
    return out


# One request, not yet sent: what a floor loop awaits as a context manager.
Exchange = AbstractAsyncContextManager[aiohttp.ClientResponse]


async def _floor(request: Callable[[aiohttp.ClientSession, T], Exchange], items: Sequence[T],
                 ids_each: int, concurrency: int, out: Outcome) -> None:
    """At most ``concurrency`` requests alive, one per item, a 429 re-sent at once; any other
    status but 200 fails the item's IDs. Times the send phase into ``out.send_s``."""
    sem = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()

    async def send(session: aiohttp.ClientSession, item: T) -> None:
        try:
            while True:
                out.requests += 1
                async with request(session, item) as response:
                    await response.read()
                    if response.status == 200:
                        return
                    if response.status == 429:
                        out.throttled += 1
                        continue
                    out.failed += ids_each
                    return
        finally:
            sem.release()

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        for item in items:
            await sem.acquire()
            task = asyncio.create_task(send(session, item))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    out.send_s = time.perf_counter() - started


async def run_gather(url: str, batches: Sequence[list[str]], concurrency: int) -> Outcome:
    """A typical hand-written asyncio script: gather over every batch with a semaphore."""
    out = Outcome(ids=sum(len(b) for b in batches))
    headers = _headers()
    target = url.rstrip("/") + PATH
    sem = asyncio.Semaphore(concurrency)

    async def delete(session: aiohttp.ClientSession, batch: list[str]) -> None:
        async with sem:
            for _ in range(10):
                out.requests += 1
                async with session.post(target, json={"guid": batch}, headers=headers) as r:
                    if r.status == 200:
                        await r.json()
                        return
                    if r.status == 429:
                        out.throttled += 1
                    await r.read()
                await asyncio.sleep(1.0)
            out.failed += len(batch)

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(delete(session, b) for b in batches))
    out.send_s = time.perf_counter() - started
    return out


def run_sequential(url: str, batches: Sequence[list[str]]) -> Outcome:
    """The docs' single request, in a loop: one at a time, no session."""
    try:
        import requests
    except ImportError:
        return _sequential_urllib(url, batches)
    out = Outcome(ids=sum(len(b) for b in batches), http="requests")
    headers = _headers()
    target = url.rstrip("/") + PATH
    started = time.perf_counter()
    for batch in batches:
        out.requests += 1
        r = requests.post(target, headers=headers, json={"guid": batch}, timeout=30)
        if r.status_code != 200:
            out.failed += len(batch)
            out.throttled += r.status_code == 429
    out.send_s = time.perf_counter() - started
    return out


def _sequential_urllib(url: str, batches: Sequence[list[str]]) -> Outcome:
    """The same loop with the standard library, for when ``requests`` is not installed."""
    out = Outcome(ids=sum(len(b) for b in batches),
                  http="urllib.request (requests not installed)")
    headers = _headers()
    target = url.rstrip("/") + PATH
    if not target.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {target}")
    started = time.perf_counter()
    for batch in batches:
        out.requests += 1
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            target, data=json.dumps({"guid": batch}).encode(), headers=headers, method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            out.failed += len(batch)
            out.throttled += exc.code == 429
    out.send_s = time.perf_counter() - started
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.clients")
    parser.add_argument("mode", choices=["bare", "bare-get", "gather", "sequential"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--ids", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=3)
    ns = parser.parse_args(argv)
    batches = _read_batches(ns.ids)
    if ns.mode == "bare":
        out = asyncio.run(run_bare(ns.url, batches, ns.concurrency))
    elif ns.mode == "bare-get":
        out = asyncio.run(run_bare_get(ns.url, batches, ns.concurrency))
    elif ns.mode == "gather":
        out = asyncio.run(run_gather(ns.url, batches, ns.concurrency))
    else:
        out = run_sequential(ns.url, batches)
    print(json.dumps(asdict(out)), flush=True)
    return 0 if out.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
