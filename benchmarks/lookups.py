"""The ``verify`` scenario: how close ``bulkdelete verify`` comes to a bare aiohttp GET loop
when the API's latency and its limit of 3 lookups in flight are the bottleneck.

Both sides look up the same deleted IDs, one ``GET /1/profile.json`` each, at 3 in flight
against one fake server (50 ms a lookup) that remembers the job's deletes, so every answer
is "gone". The tool checks a sample as large as the job (``--sample N --seed 1``: every
deleted ID, in memory, the same each repeat), so it does what a real verify does: read the
checkpoint, walk the input for the job's deleted IDs, look them up through the engine, write
``verify.json`` and the report. Whole-process wall times are compared, as the tool reports
no send phase of its own for a verify.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks.harness import (
    ServerProcess,
    bulkdelete_argv,
    median,
    run,
    run_client,
    run_tool,
)

if TYPE_CHECKING:
    from benchmarks.scenarios import Context, Row

LATENCY = 0.050
IN_FLIGHT = 3
TARGET = 0.95


def verify_argv(ids: str, url: str, checkpoint: str, count: int) -> list[str]:
    return [
        *bulkdelete_argv(), "verify", ids, "--id-type", "guid", "--no-progress",
        "--concurrency", str(IN_FLIGHT), "--base-url", url, "--checkpoint", checkpoint,
        "--sample", str(count), "--seed", "1",
    ]


def verify(ctx: Context) -> list[Row]:
    from benchmarks.scenarios import Row

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
        tool_wall, bare_wall, bare_send = [], [], []
        for r in range(ctx.repeat):
            argv = verify_argv(str(ids), server.url, str(checkpoint), count)
            t = run(argv, ctx.workdir, f"verify_tool{r}")
            if t.exit_code != 0:
                raise RuntimeError(f"bulkdelete verify exited {t.exit_code}: {t.stderr[-2000:]}")
            b = run_client("bare-get", ids, server.url, IN_FLIGHT, ctx.workdir, f"verify_bare{r}")
            if b.result["ids"] != count or b.result["failed"]:
                raise RuntimeError(f"the bare GET loop did not look every ID up: {b.result}")
            tool_wall.append(t.wall_s)
            bare_wall.append(b.measured.wall_s)
            bare_send.append(b.send_s)
            ctx.say(f"verify run {r + 1}: tool {t.wall_s:.2f}s wall, bare {b.send_s:.2f}s "
                    f"send / {b.measured.wall_s:.2f}s wall")
    finally:
        server.stop()
    tw, bw = count / median(tool_wall), count / median(bare_wall)
    bs = count / median(bare_send)
    ratio = tw / bw
    return [
        Row(name, f"tool `verify`, whole process ({count:,} IDs checked)",
            f"{tw:,.1f} IDs/s = {100 * tw / theory:.1f}% of {theory:,.0f}"),
        Row(name, "bare aiohttp GET loop: whole process / send phase",
            f"{bw:,.1f} / {bs:,.1f} IDs/s"),
        Row(name, f"tool ÷ bare loop, whole-process wall ({ctx.repeat} runs each)",
            f"{100 * ratio:.1f}% ({median(tool_wall):.2f}s vs {median(bare_wall):.2f}s)",
            f"≥ {100 * TARGET:.0f}%", ratio >= TARGET),
    ]
