"""``bulkdelete demo``: the whole pipeline against an in-process fake server, no account.

It generates IDs (a few of them invalid lines, two of them IDs the fake API rejects), starts
the fake server with CleverTap's limit of 3 in flight and some injected faults (JSON 500s,
HTML 503s, resets), runs the real job — reader, checkpoint, limiter, client over loopback,
failed file, report — and then checks the nothing-lost guarantee against the server's own
record of acknowledged IDs.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from bulkdelete.cli.display import Display
from bulkdelete.fake import FakeServer, FakeServerConfig
from bulkdelete.job import JobResult, run_job
from bulkdelete.logs import say
from bulkdelete.report import summary_lines
from bulkdelete.settings import JobFiles, Secret, Settings

DEMO_ACCOUNT = "DEMO-ACCOUNT"
DEMO_PASSCODE = "demo-passcode"


def write_demo_input(path: Path, count: int, poison: list[str]) -> list[str]:
    ids = [str(uuid.UUID(int=(n * 2654435761) % (1 << 128) + 1, version=4))
           for n in range(count)]
    step = max(1, count // (len(poison) + 1))
    for i, bad in enumerate(poison, start=1):
        ids[min(count - 1, i * step)] = bad
    with path.open("w", encoding="utf-8") as out:
        for n, ident in enumerate(ids):
            out.write(f"{ident}\n")
            if n == count // 3:
                out.write("\n   \n")  # blank lines are skipped
            if n == count // 2:
                out.write("x" * 600 + "\n")  # an over-long line: counted invalid
    return ids


async def _demo(ids: int, workdir: Path, show_progress: bool) -> tuple[JobResult, int, int]:
    poison = ["poison-id-1", "poison-id-2"] if ids >= 10 else []
    source = workdir / "ids.txt"
    expected = write_demo_input(source, ids, poison)
    config = FakeServerConfig(
        account_id=DEMO_ACCOUNT, passcode=DEMO_PASSCODE, concurrency_limit=3,
        latency=0.02, latency_jitter=0.02, p_500=0.02, p_503_html=0.02, p_reset=0.01,
        poison_ids=frozenset(poison), seed=7,
    )
    async with FakeServer(config) as server:
        settings = Settings(
            account_id=DEMO_ACCOUNT, passcode=Secret(DEMO_PASSCODE),
            base_url=server.base_url, id_type="guid", concurrency=3, timeout=5,
            backoff_base=0.05, backoff_cap=1.0,
        )
        result = await run_job(
            settings, JobFiles(input=source),
            observer=Display(show_progress=show_progress),
        )
        acked = server.stats.acknowledged
    valid = set(expected) - set(poison)
    lost = len([i for i in valid if acked[i] == 0])
    return result, len(valid) - lost, lost


def run_demo(*, ids: int, keep: Path | None, show_progress: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="bulkdelete-demo-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        say(f"demo: deleting {ids:,} generated IDs through a fake CleverTap server "
            "(limit 3 in flight, ~2% 500s, ~2% HTML 503s, ~1% resets, 2 rejected IDs)",
            event="demo", ids=ids)
        result, acked, lost = asyncio.run(_demo(ids, workdir, show_progress))
        for line in summary_lines(result.report):
            print(line)
        print(f"fake server acknowledged {acked:,} of the valid IDs; lost: {lost}")
        if result.report["ids_failed"]:
            print(f"rejected IDs are in the failed file ({result.report['ids_failed']} of them)")
        if lost:
            print("NOTHING-LOST CHECK FAILED", file=sys.stderr)
            return 3
        print("nothing lost: every valid ID was acknowledged or is in the failed file")
        return 0 if result.exit_code in (0, 1) else result.exit_code
