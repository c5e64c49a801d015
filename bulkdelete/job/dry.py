"""``delete --dry-run``: what a run would do, with nothing written and nothing deleted."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bulkdelete.checkpoint import CheckpointStore, check_binding
from bulkdelete.failed import check_lists_all
from bulkdelete.job.preflight import preflight as check_credentials
from bulkdelete.lifecycle.plan import Plan, binding_for, make_plan, open_input, precount
from bulkdelete.settings import JobFiles, Settings


async def plan_job(settings: Settings, files: JobFiles, *, preflight: bool = False) -> Plan:
    """Read and check everything, write nothing; a started job's plan is what remains."""
    fmt = open_input(files, settings)
    totals = await asyncio.to_thread(precount, files, fmt, settings)
    store = CheckpointStore(files.checkpoint_dir)
    if files.restart or not store.exists():
        plan = make_plan(settings, files, fmt, totals)
    else:
        state = store.load()
        check_binding(state.binding, await binding_for(settings, files, fmt), store.directory)
        state.bind_failed_file(files.failed_path, store.directory)
        check_lists_all(files.failed_path, state.failed_listed)
        plan = make_plan(settings, files, fmt, state.totals, state.progress)
    return replace(plan, preflight=await check_credentials(settings)) if preflight else plan
