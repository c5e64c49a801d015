"""What a start costs: how soon a resume near the end of a 10M-line file, and a fresh start
of it, send their first request, and how many IDs a ``kill -9`` makes the rerun delete twice
(docs/guarantees.md §2, §3)."""

from __future__ import annotations

import random
import shutil
import time
from collections import Counter

from benchmarks.context import BATCH, CRASH_RECORD, RESUME_RECORD, Context, Row
from benchmarks.harness import (
    Child,
    ServerProcess,
    bulkdelete_argv,
    median,
    read_report,
    run,
    run_tool,
    spawn,
    tool_argv,
)

# --- resume -----------------------------------------------------------------------------


def _first_growth(server: ServerProcess, size0: int, child: Child,
                  timeout: float = 120.0) -> float:
    """Seconds from the child's start until the server's record grows past ``size0``: the
    first acknowledged request (at zero latency, the first request). Polled every 1 ms."""
    while server.record_size() <= size0:
        if time.perf_counter() - child.started > timeout or not child.running():
            raise RuntimeError(f"no request reached the server (see {child.err_path})")
        time.sleep(0.001)
    return time.perf_counter() - child.started


def resume(ctx: Context) -> list[Row]:
    name = "resume (10M-line file)" if not ctx.quick else "resume"
    count = ctx.sizes.resume_ids
    ids = ctx.ids(count)
    limit = count * 9 // 10
    # One server for the --limit run and the resumes: a checkpoint is bound to its host:port.
    server = ctx.servers.get(0.0, 0, ctx.workdir / RESUME_RECORD)
    ctx.say(f"resume: building a checkpoint at {limit:,} of {count:,} IDs (--limit)")
    made = run_tool(ids, server.url, 15, ctx.workdir, "resume_base", "--limit", str(limit))
    if made.report.get("complete"):
        raise RuntimeError("the --limit run completed the job; no checkpoint to resume")
    template = ctx.workdir / "resume_base.ckpt"
    times: list[float] = []
    for r in range(ctx.repeat):
        checkpoint = ctx.workdir / f"resume_{r}.ckpt"
        if checkpoint.exists():
            shutil.rmtree(checkpoint)
        shutil.copytree(template, checkpoint)
        size0 = server.record_size()
        child = spawn(tool_argv(ids, server.url, 15, checkpoint), ctx.workdir, f"resume_{r}")
        first = _first_growth(server, size0, child)
        m = child.reap()
        report = read_report(checkpoint)
        if m.exit_code != 0 or not report.get("complete"):
            raise RuntimeError(f"the resume did not complete (exit {m.exit_code})")
        times.append(first)
        ctx.say(f"resume run {r + 1}: first request after {first * 1000:.0f} ms, "
                f"{m.wall_s:.1f}s to finish the last {count - limit:,} IDs")
    # A fresh start of the same file: fingerprint, pre-count and checkpoint creation of
    # every line before the first request. Killed once that request is answered.
    fresh_times: list[float] = []
    for r in range(ctx.repeat):
        checkpoint = ctx.workdir / f"resume_fresh_{r}.ckpt"
        if checkpoint.exists():
            shutil.rmtree(checkpoint)
        size0 = server.record_size()
        child = spawn(tool_argv(ids, server.url, 15, checkpoint), ctx.workdir, f"fresh_{r}")
        fresh_times.append(_first_growth(server, size0, child))
        child.kill9()
        ctx.say(f"fresh start run {r + 1}: first request after "
                f"{fresh_times[-1] * 1000:.0f} ms")
    floors = [run([*bulkdelete_argv(), "--version"], ctx.workdir, f"startup_{r}").wall_s
              for r in range(ctx.repeat)]
    first, fresh = median(times), median(fresh_times)
    return [
        Row(name, "resume at 90%: process start → first request at the server",
            f"{first * 1000:.0f} ms", "< 1 s", first < 1.0),
        Row(name, "fresh start of the same file: process start → first request",
            f"{fresh * 1000:.0f} ms", "≤ 10 s", fresh <= 10.0),
        Row(name, "`bulkdelete --version` wall time (interpreter + imports floor)",
            f"{median(floors) * 1000:.0f} ms"),
    ]


# --- crash ------------------------------------------------------------------------------


def crash(ctx: Context) -> list[Row]:
    concurrency, latency = 3, 0.020
    name = f"crash (kill -9, c={concurrency}, {latency * 1000:.0f} ms)"
    count = ctx.sizes.crash_ids
    ids = ctx.ids(count)
    record = ctx.workdir / CRASH_RECORD
    server = ctx.servers.get(latency, concurrency, record)
    expected = count / (concurrency * BATCH / latency)  # seconds for a whole run
    rng = random.Random(20240229)
    twice: list[float] = []
    resent: list[float] = []
    lost = 0
    finished_early = 0
    for trial in range(ctx.sizes.crash_trials):
        checkpoint = ctx.workdir / f"crash_{trial}.ckpt"
        if checkpoint.exists():
            shutil.rmtree(checkpoint)
        size0 = server.record_size()
        child = spawn(tool_argv(ids, server.url, concurrency, checkpoint), ctx.workdir,
                      f"crash_{trial}_killed")
        # Kill at a random point of the sending phase: after the first acknowledged batch.
        _first_growth(server, size0, child)
        time.sleep(rng.uniform(0.0, 0.8 * expected))
        killed = child.kill9()
        if killed.exit_code != -9:
            finished_early += 1
        rerun = run_tool(ids, server.url, concurrency, ctx.workdir, f"crash_{trial}_rerun",
                         checkpoint=checkpoint)
        time.sleep(0.05)  # the server writes its record just after answering
        with record.open("rb") as f:
            f.seek(size0)
            acked = Counter(f.read().split())
        twice.append(sum(1 for n in acked.values() if n > 1))
        resent.append(int(rerun.report["resent_after_crash"]))
        lost += count - len(acked)
        ctx.say(f"crash trial {trial + 1}: acknowledged twice {twice[-1]}, "
                f"resent_after_crash {resent[-1]}, lost {count - len(acked)}")
    allowance = 3 * concurrency * BATCH
    rows = [
        Row(name, f"IDs acknowledged twice (server record), {len(twice)} trials: max / median",
            f"{max(twice):g} / {median(twice):g}",
            f"max ≤ 3 × concurrency batches = {allowance}", max(twice) <= allowance),
        Row(name, "the report's `resent_after_crash` (IDs of batches journalled as sent, "
            "not recorded done): max / median", f"{max(resent):g} / {median(resent):g}"),
        Row(name, "IDs lost (never acknowledged) over all trials", str(lost), "0", lost == 0),
    ]
    if finished_early:
        rows.append(Row(name, "trials whose run ended before the kill", str(finished_early)))
    return rows
