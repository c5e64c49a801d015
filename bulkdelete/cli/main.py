"""The commands (docs/cli.md): parse → settings → logging → ``asyncio.run``. Every error a
user can cause ends here as one line on stderr and an exit code (docs/exit-codes.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from bulkdelete import __version__, logs
from bulkdelete.checkpoint import STATE_NAME, CheckpointStore, describe_saved
from bulkdelete.cli import arguments, display
from bulkdelete.cli.jobs import certify, job_folder
from bulkdelete.errors import BulkDeleteError
from bulkdelete.failed import failed_file_short
from bulkdelete.job import plan_job, run_job
from bulkdelete.lifecycle.drive import new_run_id
from bulkdelete.lifecycle.plan import TYPICAL_LATENCY
from bulkdelete.logs import print_result as _print
from bulkdelete.logs import say
from bulkdelete.outputs import check_outputs
from bulkdelete.report import build_report, summary_lines
from bulkdelete.settings import JobFiles, Settings
from bulkdelete.verify import verify_job
from bulkdelete.verify.output import all_under_way
from bulkdelete.verify.output import summary_lines as verify_lines
from bulkdelete.wording import counted

log = structlog.get_logger("bulkdelete")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:  # a bare `bulkdelete`: what it can do, rather than a usage error
        arguments.build_parser().print_help(sys.stderr)
        return 2
    as_json = logs.wants_json(args)
    logs.configure(fmt="json" if as_json else "console")
    captured = io.StringIO()
    try:
        # With --log-format json a usage error is one JSON record, so a log shipper never
        # meets a plain-text line (docs/cli.md, "Logs").
        with contextlib.redirect_stderr(captured) if as_json else contextlib.nullcontext():
            ns = arguments.build_parser().parse_args(args)
    except SystemExit as exc:  # --help, --version, a usage error: argparse has printed
        code = exc.code if isinstance(exc.code, int) else 2
        if lines := captured.getvalue().strip().splitlines():
            say(*lines, event="usage_error" if code else "message",
                level="error" if code else "info", exit_code=code, message=lines[-1])
        return code
    # Every event and message of a delete, the closing ones and its errors included,
    # carries the run's ID (the run's record in the checkpoint has the same one), and what
    # a log pipeline needs to tell runs apart: the version, the command and the process.
    run_id = new_run_id() if ns.command in ("delete", "verify") else None
    bound = {"run_id": run_id, "version": __version__, "command": ns.command,
             "pid": os.getpid()} if run_id else {}
    with structlog.contextvars.bound_contextvars(**bound):
        try:
            if ns.command == "status":
                return _status(ns)
            if ns.command == "certificate":
                return certify(ns.checkpoint)
            if ns.command == "completion":
                from bulkdelete.cli.completion import script  # shtab, only when asked

                _print(script(arguments.build_parser(), ns.shell))
                return 0
            if ns.command == "fake-server":
                from bulkdelete.fake.server import run_from_args  # aiohttp's server side, too

                return run_from_args(ns)
            if ns.command == "demo":
                from bulkdelete.cli.demo import run_demo  # it brings aiohttp's server side

                logs.configure(fmt=ns.log_format, log_file=ns.log_file, quiet=ns.quiet)
                return run_demo(ids=ns.ids, keep=ns.keep, show_progress=not ns.no_progress)
            files = arguments.files_from_args(ns)
            # Before the log file is opened: a --log-file that is the input (or anything else the
            # job must not write) is refused with nothing written to it.
            check_outputs(files, ns.log_file)
            logs.configure(fmt=ns.log_format, log_file=ns.log_file, quiet=ns.quiet)
            run = _delete if ns.command == "delete" else _verify
            return run(ns, arguments.settings_from_args(ns), files, run_id)
        except BulkDeleteError as exc:
            # The one error line says it all: no "finished" event after it.
            say(f"bulkdelete: error: {exc}", event="error", level="error",
                exit_code=exc.exit_code, error=type(exc).__name__)
            return exc.exit_code
        except KeyboardInterrupt:
            say("bulkdelete: interrupted", event="interrupted", level="warning", exit_code=130)
            return 130
        except OSError as exc:
            # A disk or file-system failure outside the input checks (full disk, EIO): one
            # line, no traceback; the checkpoint was saved on the way out where it could be.
            say(f"bulkdelete: error: {exc.strerror or exc} ({exc.filename or 'I/O'}); "
                "progress so far is saved, rerun the same command to resume", event="error",
                level="error", exit_code=2)
            return 2
        except Exception as exc:
            say(f"bulkdelete: internal error ({type(exc).__name__}: {exc}); progress so far is "
                "saved, rerun the same command to resume. Please report this.", event="error",
                level="error", exit_code=3)
            return 3


def _delete(ns: argparse.Namespace, settings: Settings, files: JobFiles,
            run_id: str | None) -> int:
    if ns.dry_run:
        # The baseline's lookups show their progress as a run's do (on stderr).
        screen = display.Display(show_progress=not (ns.no_progress or ns.quiet),
                                 bar=ns.log_format != "json")
        plan = asyncio.run(plan_job(settings, files, preflight=settings.preflight,
                                    observer=screen))
        est = plan.estimated_seconds(plan.latency or TYPICAL_LATENCY)
        fields: dict[str, Any] = dict(ids_total=plan.ids_total, lines_invalid=plan.lines_invalid,
                                      ids_this_run=plan.ids_this_run,
                                      requests=plan.requests_this_run, estimated_s=round(est),
                                      latency_s=plan.latency, preflight=plan.preflight)
        # The plan is the dry run's answer: on stdout, so `> plan.txt` keeps it (with
        # --json, the object is the answer and the lines go to stderr).
        say("dry run: nothing will be sent", *display.describe_plan(plan),
            f"estimate:   {plan.estimate()}",
            event="plan", stream=None if ns.json else sys.stdout, **fields)
        if plan.finished and plan.ids_failed:
            _retry_hint(ns, plan.failed or files.failed_path, files.checkpoint_dir)
        if ns.json:
            _print(json.dumps({"dry_run": True, "input": str(files.input),
                               "host": plan.host, **fields}, indent=2))
        return 0
    # Ctrl-C at the confirmation prompt is a "no". With --log-format json a terminal gets
    # progress events, not a bar: every stderr line stays JSON.
    screen = display.Display(show_progress=not (ns.no_progress or ns.quiet), ask=not ns.yes,
                             bar=ns.log_format != "json")
    # Off a terminal without --yes: refused before the input is counted or anything sent;
    # a finished job's rerun asks nothing (it sends nothing and prints its summary).
    if not _finished(files):
        screen.refuse_unless_askable()
    command = arguments.resume_command(ns)
    work = run_job(settings, files, stop=screen.stop, observer=screen,
                   resume_command=command, run_id=run_id)
    result = display.run_signalled(work, screen, saved=lambda: _saved(files.checkpoint_dir))
    report = result.report
    counts = {k: report[k] for k in ("ids_total", "ids_deleted", "ids_failed",
                                      "lines_invalid", "complete", "exit_code")}
    log.info("finished", **counts)
    if result.already_finished:
        say("the job was already finished: nothing was sent", event="already_finished")
    say(*summary_lines(report), event="summary", **counts)
    if report["ids_failed"]:
        say(f"failed IDs: {result.failed_path} (reasons beside it)", event="failed_file",
            path=result.failed_path)
        if report["complete"] and result.failed_path and result.checkpoint:
            _retry_hint(ns, result.failed_path, result.checkpoint)
    if result.exit_code in display.EXIT_SIGNALS.values():
        say("stopped; progress saved. Resume with:", f"  {command}", event="resume_hint",
            command_line=command)
    elif not report["complete"]:
        rest = arguments.continue_command(ns)
        say("canary done; progress saved. Continue with:", f"  {rest}", event="resume_hint",
            command_line=rest)
    display.raise_if_log_failed(lambda: _saved(files.checkpoint_dir))
    if ns.json:
        _print(json.dumps(report, indent=2))
    return result.exit_code


def _finished(files: JobFiles) -> bool:
    store = CheckpointStore(files.checkpoint_dir)
    if files.restart or not store.exists():
        return False
    # A checkpoint that cannot be read is the run's to word (exit 2 with the way out).
    with contextlib.suppress(BulkDeleteError, OSError):
        return store.load().complete
    return False


def _saved(checkpoint: Path) -> str:
    if (checkpoint / STATE_NAME).exists():
        return describe_saved(checkpoint)
    return "Nothing was sent; rerun the same command once the log can be written"


def _retry_hint(ns: argparse.Namespace, failed: Path, checkpoint: Path) -> None:
    command = arguments.retry_command(ns, failed, checkpoint)
    say("once the cause is fixed, retry the failed IDs as a new job with its own checkpoint:",
        f"  {command}", "(or start the whole job over: the same command with --restart)",
        event="retry_hint", command_line=command)


def _verify(ns: argparse.Namespace, settings: Settings, files: JobFiles,
            run_id: str | None) -> int:
    screen = display.Display(show_progress=ns.all and not (ns.no_progress or ns.quiet),
                             label="checking")
    work = verify_job(settings, files, sample=None if ns.all else ns.sample, seed=ns.seed,
                      stop=screen.stop, observer=screen, run_id=run_id,
                      resume_command=arguments.resume_command(ns) if ns.all else "")
    saved = ("The verify's progress is saved: rerun the same command to continue it"
             if ns.all else "A sample is not resumable: run the command again")
    result = display.run_signalled(work, screen, saved=lambda: saved)
    summary = result.summary
    counts = {k: summary[k] for k in ("population", "checked", "gone", "present", "unknown")}
    if result.exit_code in display.EXIT_SIGNALS.values():
        if ns.all:
            command = arguments.resume_command(ns)
            say(f"stopped after checking {summary['checked']:,} deleted IDs; progress saved. "
                "Resume with:", f"  {command}", event="resume_hint", command_line=command,
                **counts)
        else:
            say("stopped; a sample is not resumable: run the command again to check one",
                event="stopped", **counts)
        if ns.json:  # the counts so far: a script gets its object whatever the ending
            _print(json.dumps(summary, indent=2))
        return result.exit_code
    say(*verify_lines(summary), event="verify_summary", **counts, early=summary["early"],
        present_upper_95=summary["present_upper_95"])
    if (still := result.still_present) is not None:
        say(f"still present: {still} (valid input for a new delete)", event="still_present",
            path=still)
        command = arguments.retry_command(ns, still, files.checkpoint_dir, tag=still.stem)
        say("delete them as a new job with its own checkpoint:", f"  {command}",
            event="retry_hint", command_line=command)
    if ns.json:
        _print(json.dumps(summary, indent=2))
    return result.exit_code


def _status(ns: argparse.Namespace) -> int:
    directory = job_folder(ns.checkpoint)
    store = CheckpointStore(directory)
    state = store.load()
    report = build_report(state, exit_code=state.runs[-1].exit_code if state.runs else None)
    held = store.is_locked_elsewhere()
    if ns.json:
        _print(json.dumps({**report, "input": state.input, "checkpoint": str(directory),
                           "held_by_a_run": held, "resume_command": None if report["complete"]
                           else state.resume_command or None}, indent=2))
        return 0
    b = state.binding
    done = report["ids_deleted"] + report["ids_failed"]
    lines = [
        f"checkpoint: {directory}",
        f"input:      {state.input}",
        f"target:     account {b.account_id} at {b.host}, id type {b.id_type}, "
        f"format {b.format}, batch size {b.batch_size}",
        f"progress:   {done:,} of {counted(report['ids_total'], 'ID')} handled "
        f"({report['batches_done']:,} of {counted(report['batches_total'], 'batch')})",
        f"state:      {'complete' if report['complete'] else 'incomplete'}"
        f"{' — a run holds it right now' if held else ''}; "
        f"last update {state.updated}",
        *summary_lines(report),
    ]
    if state.verify is not None:
        lines += [f"last verify ({state.verify.get('verified_at')}):",
                  *(f"  {line}" for line in verify_lines(state.verify))]
    lines += all_under_way(directory)
    if state.failed and (short := failed_file_short(directory / state.failed,
                                                     state.failed_listed)) is not None:
        lines.append(f"warning:    {short}: put it back before resuming or retrying")
    if not report["complete"] and state.resume_command:
        lines += ["resume with:", f"  {state.resume_command}"]
    _print("\n".join(lines))
    return 0


def entry_point() -> None:
    sys.exit(main())
