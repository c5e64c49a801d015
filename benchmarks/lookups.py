"""The ``verify`` scenario: how close ``bulkdelete verify`` comes to a bare aiohttp GET loop
when the API's latency and its limit of 3 lookups in flight are the bottleneck.

Both sides look up the same deleted IDs, one ``GET /1/profile.json`` each, at 3 in flight
against one fake server (50 ms a lookup) that remembers the job's deletes, so every answer
is "gone". The tool checks a sample as large as the job (``--sample N --seed 1``: every
deleted ID, in memory, the same each repeat), so it does what a real verify does: read the
checkpoint, walk the input for the job's deleted IDs, look them up through the engine, write
``verify.json`` and the report.

The tool's **check phase** runs from its ``verify_sample`` log event (the sample drawn) to
its ``verified`` event (every answer in, the outputs written), read from its JSON logs; the
bare loop's send phase runs from session open to its last answer. The target is judged on
those two, the IDs/s a long verify keeps up; whole-process wall times are shown beside them.
"""

from __future__ import annotations

import json
from datetime import datetime

from benchmarks.context import Context, Row
from benchmarks.harness import (
    ServerProcess,
    bulkdelete_argv,
    median,
    run,
    run_client,
    run_tool,
)

LATENCY = 0.050
IN_FLIGHT = 3
TARGET = 0.95


def verify_argv(ids: str, url: str, checkpoint: str, count: int) -> list[str]:
    return [
        *bulkdelete_argv(), "verify", ids, "--id-type", "guid", "--no-progress",
        "--concurrency", str(IN_FLIGHT), "--base-url", url, "--checkpoint", checkpoint,
        "--sample", str(count), "--seed", "1", "--log-format", "json",
    ]


def check_phase(stderr: str, start: str = "verify_sample", end: str = "verified") -> float:
    """Seconds from the tool's (last) ``start`` event to its ``end`` event."""
    stamps: dict[str, datetime] = {}
    for line in stderr.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") in (start, end):
            stamps[event["event"]] = datetime.fromisoformat(event["timestamp"])
    if len(stamps) != 2:
        raise RuntimeError(f"no {start}/{end} events in the tool's log: {stderr[-500:]}")
    return (stamps[end] - stamps[start]).total_seconds()


def verify(ctx: Context) -> list[Row]:
    name = f"verify ({IN_FLIGHT} in flight, {LATENCY * 1000:.0f} ms)"
    count = ctx.sizes.verify_ids
    ids = ctx.ids(count)
    theory = IN_FLIGHT / LATENCY
    # Its own server: lookups need the deletes remembered, which the shared servers skip.
    server = ServerProcess(LATENCY, IN_FLIGHT, None, ctx.workdir / "server_verify.log",
                           remember_deletes=True)
    server.start()
    try:
        ctx.say(f"verify: deleting {count:,} IDs first (the job to verify)")
        run_tool(ids, server.url, IN_FLIGHT, ctx.workdir, "verify_job")
        checkpoint = ctx.workdir / "verify_job.ckpt"
        tool_check, tool_wall, bare_wall, bare_send = [], [], [], []
        for r in range(ctx.repeat):
            argv = verify_argv(str(ids), server.url, str(checkpoint), count)
            t = run(argv, ctx.workdir, f"verify_tool{r}")
            if t.exit_code != 0:
                raise RuntimeError(f"bulkdelete verify exited {t.exit_code}: {t.stderr[-2000:]}")
            b = run_client("bare-get", ids, server.url, IN_FLIGHT, ctx.workdir, f"verify_bare{r}")
            if b.result["ids"] != count or b.result["failed"]:
                raise RuntimeError(f"the bare GET loop did not look every ID up: {b.result}")
            tool_check.append(check_phase(t.stderr))
            tool_wall.append(t.wall_s)
            bare_wall.append(b.measured.wall_s)
            bare_send.append(b.send_s)
            ctx.say(f"verify run {r + 1}: tool {tool_check[-1]:.2f}s check / {t.wall_s:.2f}s "
                    f"wall, bare {b.send_s:.2f}s send / {b.measured.wall_s:.2f}s wall")
    finally:
        server.stop()
    tc, bs = count / median(tool_check), count / median(bare_send)
    tw, bw = count / median(tool_wall), count / median(bare_wall)
    return [
        Row(name, f"tool `verify` ({count:,} IDs checked): check phase / wall",
            f"{tc:,.1f} IDs/s = {100 * tc / theory:.1f}% of {theory:,.0f} / {tw:,.1f} IDs/s"),
        Row(name, "bare aiohttp GET loop: send phase / wall",
            f"{bs:,.1f} IDs/s = {100 * bs / theory:.1f}% of {theory:,.0f} / {bw:,.1f} IDs/s"),
        Row(name, f"tool ÷ bare loop, check phase vs send phase ({ctx.repeat} runs each)",
            f"{100 * tc / bs:.1f}%", f"≥ {100 * TARGET:.0f}%", tc / bs >= TARGET),
        Row(name, "tool ÷ bare loop, whole-process wall",
            f"{100 * tw / bw:.1f}% ({median(tool_wall):.2f}s vs {median(bare_wall):.2f}s)"),
    ]


BASELINE_LATENCY = 0.200  # a lookup as slow as a busy account's: the cost an operator waits


def baseline(ctx: Context) -> list[Row]:
    """The baseline's cost before a new job's confirmation (docs/verify.md): a dry run with
    ``--baseline N`` over an input of N IDs (so every ID is sampled) against a bare GET
    loop over the same N IDs, at 3 in flight and 200 ms a lookup. The tool's lookup phase
    runs from its last ``preflight`` event to its ``baseline`` event."""
    name = f"baseline ({IN_FLIGHT} in flight, {BASELINE_LATENCY * 1000:.0f} ms)"
    count = ctx.sizes.baseline_ids
    ids = ctx.ids(count)
    theory = IN_FLIGHT / BASELINE_LATENCY
    server = ServerProcess(BASELINE_LATENCY, IN_FLIGHT, None,
                           ctx.workdir / "server_baseline.log", remember_deletes=True)
    server.start()
    try:
        tool, bare = [], []
        for r in range(ctx.repeat):
            argv = [*bulkdelete_argv(), "delete", str(ids), "--id-type", "guid", "--dry-run",
                    "--baseline", str(count), "--base-url", server.url, "--log-format", "json",
                    "--checkpoint", str(ctx.workdir / f"baseline{r}.ckpt")]
            t = run(argv, ctx.workdir, f"baseline_tool{r}")
            if t.exit_code != 0:
                raise RuntimeError(f"the dry run exited {t.exit_code}: {t.stderr[-2000:]}")
            b = run_client("bare-get", ids, server.url, IN_FLIGHT, ctx.workdir,
                           f"baseline_bare{r}")
            tool.append(check_phase(t.stderr, "preflight", "baseline"))
            bare.append(b.send_s)
            ctx.say(f"baseline run {r + 1}: tool {tool[-1]:.2f}s, bare {bare[-1]:.2f}s "
                    f"for {count:,} lookups")
    finally:
        server.stop()
    ts, bs = median(tool), median(bare)
    return [
        Row(name, f"tool: {count:,} sampled IDs looked up before the confirmation",
            f"{ts:.2f}s = {count / ts:,.1f} lookups/s ({100 * count / ts / theory:.1f}% of "
            f"{theory:,.0f})"),
        Row(name, "bare aiohttp GET loop, the same IDs", f"{bs:.2f}s"),
        Row(name, f"tool ÷ bare loop, lookups/s ({ctx.repeat} runs each)",
            f"{100 * bs / ts:.1f}%", f"≥ {100 * TARGET:.0f}%", bs / ts >= TARGET),
    ]
