"""``bulkdelete verify`` (docs/verify.md): the run, its signals and its summary."""

from __future__ import annotations

import argparse

from bulkdelete.cli.arguments import files_from_args, settings_from_args
from bulkdelete.cli.display import Display
from bulkdelete.cli.retry import resume_command, retry_command
from bulkdelete.cli.signals import EXIT_SIGNALS, run_signalled
from bulkdelete.engine import StopRequest
from bulkdelete.logs import configure as configure_logging
from bulkdelete.logs import say
from bulkdelete.outputs import check_outputs
from bulkdelete.verify import verify_job
from bulkdelete.verify.output import summary_lines


def run_verify(ns: argparse.Namespace, run_id: str | None = None) -> int:
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
    result = run_signalled(work, stop, display, in_flight="lookups",
                           quiet_until_sending=False, saved=lambda: saved)
    summary = result.summary
    counts = {k: summary[k] for k in ("population", "checked", "gone", "present", "unknown")}
    if result.exit_code in EXIT_SIGNALS.values():
        if ns.all:
            command = resume_command(ns)
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
        command = retry_command(ns, still, files.checkpoint_dir, tag=still.stem)
        say("delete them as a new job with its own checkpoint:", f"  {command}",
            event="retry_hint", command=command)
    return result.exit_code
