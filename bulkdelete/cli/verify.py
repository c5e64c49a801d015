"""``bulkdelete verify`` (docs/cli.md, docs/verify.md): its options, and the run with its
signals and its summary line.

The command takes delete's own options for what it shares with it (input, format/column,
target and credentials, checkpoint, failed file, report, concurrency, timeout, abort rules,
output), so both read a job the same way and a flag means the same in both. It has no
``--yes``: it only reads.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from bulkdelete.cli.display import Display
from bulkdelete.cli.retry import retry_command
from bulkdelete.cli.signals import EXIT_SIGNALS, raise_if_log_failed, until_signalled
from bulkdelete.engine import StopRequest
from bulkdelete.errors import BulkDeleteError
from bulkdelete.logs import configure as configure_logging
from bulkdelete.logs import say
from bulkdelete.outputs import check_outputs
from bulkdelete.verify import DEFAULT_SAMPLE, verify_job
from bulkdelete.verify.output import summary_lines

# Delete's options that verify takes as they are (argparse dests).
SHARED = (
    "ids_file", "id_type", "account_id", "passcode_file", "region", "base_url", "concurrency",
    "timeout", "format", "column", "delimiter", "checkpoint", "failed", "report", "max_errors",
    "stall_timeout", "no_progress", "log_format", "log_file", "quiet", "requester", "ticket",
)

EXAMPLES = """\
examples:
  # 48 hours after the delete: are a random 1,000 of the deleted profiles gone?
  bulkdelete verify ids.txt --id-type guid
  # the same sample again (the seed is in verify.json)
  bulkdelete verify ids.txt --id-type guid --seed 12345
  # every deleted ID (resumable: Ctrl-C, then the same command continues)
  bulkdelete verify ids.txt --id-type guid --all
  # then delete what is still there as a new job, with its own checkpoint beside the
  # job's (verify prints this command with the list's own name)
  bulkdelete delete ids.txt.bulkdelete/still_present-20261206T031500Z.txt --id-type guid \
      --format lines --checkpoint ids.txt-still_present-20261206T031500Z.bulkdelete
"""


def add_verify_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                      delete: argparse.ArgumentParser) -> None:
    """The ``verify`` command, sharing ``delete``'s option definitions (the same action
    objects, as argparse's ``parents`` does)."""
    v = sub.add_parser(
        "verify", help="check that a job's deleted profiles are gone (read-only)",
        description="Look a job's deleted IDs up through Get User Profile: a random sample, "
        "or --all of them. Needs the job's checkpoint; sends no delete.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
    )
    for action in delete._actions:
        if action.dest in SHARED:
            v._add_action(action)
    how = v.add_mutually_exclusive_group()
    how.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, metavar="N",
                     help=f"check a uniform random sample of N deleted IDs (default "
                     f"{DEFAULT_SAMPLE:,})")
    how.add_argument("--all", action="store_true",
                     help="check every deleted ID; resumable like a delete")
    v.add_argument("--seed", type=int,
                   help="seed of the sample (recorded in verify.json; repeats a sample)")
    # What settings_from_args/files_from_args read that verify has no flag for (never a
    # shared option: set_defaults would change delete's default too). Its lookups are
    # themselves the credential check, so no preflight.
    v.set_defaults(dry_run=False, rate=None, batch_size=100, limit=None, max_delete=None,
                   restart=False, no_preflight=True)


def run_verify(ns: argparse.Namespace, argv: Sequence[str], run_id: str | None = None) -> int:
    """The verify command: run, print the summary (or how to resume), return the exit code."""
    from bulkdelete.cli.arguments import files_from_args, resume_command, settings_from_args

    files = files_from_args(ns)
    check_outputs(files, ns.log_file)  # before the log file opens: never the input
    configure_logging(fmt=ns.log_format, log_file=ns.log_file, quiet=ns.quiet)
    settings = settings_from_args(ns)
    stop = StopRequest()
    display = Display(show_progress=ns.all and not (ns.no_progress or ns.quiet),
                      label="checking")
    sample = None if ns.all else ns.sample
    work = verify_job(settings, files, sample=sample, seed=ns.seed, stop=stop,
                      observer=display, run_id=run_id)
    saved = ("The verify's progress is saved: rerun the same command to continue it"
             if ns.all else "A sample is not resumable: run the command again")
    try:
        result = asyncio.run(until_signalled(work, stop, display, in_flight="lookups",
                                             quiet_until_sending=False))
    except BulkDeleteError:
        raise_if_log_failed(saved)
        raise
    raise_if_log_failed(saved)
    summary = result.summary
    counts = {k: summary[k] for k in ("population", "checked", "gone", "present", "unknown")}
    if result.exit_code in EXIT_SIGNALS.values():
        if ns.all:
            command = resume_command(argv)
            say(f"stopped after checking {summary['checked']:,} deleted IDs; progress saved. "
                 "Resume with:", f"  {command}", event="resume_hint", command=command, **counts)
        else:
            say("stopped; a sample is not resumable: run the command again to check one",
                 event="stopped", **counts)
        return result.exit_code
    say(*summary_lines(summary), event="verify_summary", **counts, early=summary["early"],
         present_upper_95=summary["present_upper_95"])
    still = result.still_present
    if still is not None:
        say(f"still present: {still} (valid input for a new delete)", event="still_present",
            path=still)
        command = retry_command(argv, still, files.checkpoint_dir, command="verify",
                                tag=still.stem)
        say("delete them as a new job with its own checkpoint:", f"  {command}",
            event="retry_hint", command=command)
    return result.exit_code
