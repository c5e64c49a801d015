"""The command line's grammar (docs/cli.md): the parser with its help and examples, and
the parsed arguments turned into :class:`~bulkdelete.settings.Settings` and
:class:`~bulkdelete.settings.JobFiles`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from bulkdelete import __version__
from bulkdelete.errors import UsageError
from bulkdelete.reader.dialect import parse_delimiter
from bulkdelete.regions import DEFAULT_REGION, REGION_HOSTS, is_loopback, resolve_target
from bulkdelete.settings import ErrorBudget, JobFiles, Secret, Settings

DELETE_EXAMPLES = """\
examples:
  # rehearse: read and validate everything, send nothing
  bulkdelete delete ids.txt --id-type guid --dry-run
  # canary: delete the first 1,000 IDs, then stop (a rerun continues)
  CLEVERTAP_ACCOUNT_ID=ACC CLEVERTAP_PASSCODE=... bulkdelete delete ids.txt --id-type guid \\
      --region in1 --limit 1000
  # the whole file, unattended, aborting if more than 1% fail
  bulkdelete delete ids.csv.gz --id-type identity --column email --yes --max-errors 1%
  # interrupted? run the same command again: it resumes from the checkpoint

exit codes (docs/exit-codes.md):
  0    this run finished what it was asked (the whole job, or a --limit canary) and no ID
       of the job has failed
  1    this run finished what it was asked and some IDs of the job failed (in the failed
       file); whether the job is complete is in the summary line and the report's
       "complete", for a canary too
  2    usage, input or precondition error (nothing sent when found before the first request)
  3    aborted: 401/403, --max-errors, --stall-timeout, a request rejected whatever its IDs
  130, 143, 129
       stopped by SIGINT, SIGTERM, SIGHUP: progress saved; rerun the command to resume
"""


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def build_parser(*, fake_server_options: bool = True) -> argparse.ArgumentParser:
    """The whole command line. ``fake_server_options=False`` leaves the fake-server
    command's own options out: they live in :mod:`bulkdelete.fake.cli`, whose import
    (aiohttp's server side) every other command would otherwise pay for at start."""
    parser = argparse.ArgumentParser(
        prog="bulkdelete",
        description="Delete CleverTap user profiles in bulk, resumably and safely.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'bulkdelete COMMAND --help' for each command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"bulkdelete {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser(
        "delete", help="delete the profiles listed in a file (resumes if interrupted)",
        description="Delete the profiles listed in IDS_FILE. Progress is checkpointed; "
        "running the same command again resumes where it stopped.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=DELETE_EXAMPLES,
    )
    d.add_argument("ids_file", metavar="IDS_FILE", help="file of IDs (.gz read transparently)")
    d.add_argument("--id-type", required=True, choices=["guid", "identity"],
                   help="which body key the IDs go under")
    d.add_argument("--account-id", default=_env("CLEVERTAP_ACCOUNT_ID"),
                   help="CleverTap account ID (env CLEVERTAP_ACCOUNT_ID)")
    d.add_argument("--passcode-file", type=Path,
                   help="read the passcode from this file (default: env CLEVERTAP_PASSCODE)")
    # No env defaults here: the flag, the environment and the default are weighed in
    # resolve_target, so a --region beats an exported CLEVERTAP_BASE_URL.
    d.add_argument("--region", type=str.lower, choices=list(REGION_HOSTS),
                   help=f"one of {', '.join(REGION_HOSTS)} (env CLEVERTAP_REGION; "
                   f"default {DEFAULT_REGION})")
    d.add_argument("--base-url",
                   help="scheme://host[:port] overriding the region (env CLEVERTAP_BASE_URL); "
                   "plain http:// only to loopback. A flag beats the environment: --region "
                   "beats CLEVERTAP_BASE_URL")
    d.add_argument("--concurrency", type=int, default=3,
                   help="ceiling on requests in flight (default 3, the API's limit)")
    d.add_argument("--rate", type=float, help="ceiling on requests per second")
    d.add_argument("--batch-size", type=int, default=100, help="IDs per request, 1..100")
    d.add_argument("--timeout", type=float, default=30.0,
                   help="per-request timeout in seconds (default 30)")
    d.add_argument("--format", default="auto", choices=["auto", "lines", "csv", "jsonl"],
                   help="input format; auto picks by extension (.csv, .jsonl/.ndjson, else "
                   "lines)")
    d.add_argument("--column", help="CSV column or JSON field holding the ID")
    d.add_argument("--delimiter", metavar="C",
                   help="CSV field delimiter, one character or 'tab' (default: sniffed from "
                   "the header among , ; tab |; a header holding two of them is refused)")
    d.add_argument("--checkpoint", type=Path,
                   help="checkpoint directory (default: IDS_FILE.bulkdelete/)")
    d.add_argument("--restart", action="store_true",
                   help="discard an existing checkpoint and start the job over")
    d.add_argument("--failed", type=Path,
                   help="file of IDs that could not be deleted (default: in the checkpoint "
                   "directory)")
    d.add_argument("--report", type=Path,
                   help="JSON summary of the job (default: in the checkpoint directory)")
    d.add_argument("--dry-run", action="store_true",
                   help="read and validate everything, print the plan, send nothing")
    d.add_argument("--limit", type=int,
                   help="canary: delete only the next N IDs (whole batches), then stop")
    d.add_argument("--max-delete", type=int,
                   help="refuse to start when this run would send more than N IDs")
    d.add_argument("--max-errors", metavar="N|N%",
                   help="abort (exit 3) once this run has failed N IDs, or N%% of them "
                   "(after 1,000 attempted)")
    d.add_argument("--stall-timeout", type=float, default=600.0,
                   help="abort (exit 3) after this many seconds without an acknowledged "
                   "batch (default 600)")
    d.add_argument("--yes", action="store_true",
                   help="skip the confirmation (required when not on a terminal)")
    d.add_argument("--no-preflight", action="store_true",
                   help="skip the read-only credential check sent before the confirmation")
    add_audit_options(d)
    _output_options(d)
    from bulkdelete.cli.verify import add_verify_parser

    add_verify_parser(sub, d)

    s = sub.add_parser(
        "status", help="show a job's progress from its checkpoint (read-only)",
        description="Show a job's progress from its checkpoint directory, read-only. Given "
        "the input file instead, read the default checkpoint beside it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  bulkdelete status ids.txt.bulkdelete\n  bulkdelete status ids.txt\n",
    )
    s.add_argument("checkpoint", metavar="CHECKPOINT|IDS_FILE", type=Path)
    s.add_argument("--json", action="store_true", help="print the report as JSON")

    f = sub.add_parser(
        "fake-server", help="run a local CleverTap-compatible delete endpoint",
        description="A CleverTap-compatible delete endpoint on loopback, for rehearsals, "
        "the demo, tests and benchmarks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  bulkdelete fake-server --port 8080 --latency 0.05 "
        "--concurrency-limit 3 --record acked.txt\n",
    )
    if fake_server_options:
        from bulkdelete.fake.cli import add_cli_arguments

        add_cli_arguments(f)

    m = sub.add_parser(
        "demo", help="the whole pipeline against an in-process fake server",
        description="Generate IDs, start a fake server in-process (with a few injected "
        "faults), delete them all with the real pipeline, and check none was lost.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  bulkdelete demo --ids 20000\n",
    )
    m.add_argument("--ids", type=int, default=20_000, help="how many IDs (default 20,000)")
    m.add_argument("--keep", type=Path, help="keep the demo's files in this directory")
    _output_options(m)
    return parser


def add_audit_options(p: argparse.ArgumentParser) -> None:
    """Who asked and under which reference: kept per run in the checkpoint and the report
    (docs/report.md), for the audit trail."""
    group = p.add_argument_group("audit trail")
    group.add_argument("--requester", metavar="TEXT",
                       help="who asked for the erasure (one line, at most 200 characters)")
    group.add_argument("--ticket", metavar="TEXT",
                       help="the request's reference, e.g. a DSR ticket (one line, at most "
                       "200 characters)")


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true", help="no progress bar or progress logs")
    p.add_argument("--log-format", choices=["console", "json"], default="console",
                   help="log events as console lines or JSON lines (stderr)")
    p.add_argument("--log-file", type=Path, help="also append JSON log events to this file")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="only warnings, errors and the final summary")


def read_passcode(passcode_file: Path | None) -> Secret:
    if passcode_file is not None:
        try:
            value = passcode_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read --passcode-file {passcode_file}: {exc.strerror}") \
                from None
        except UnicodeDecodeError:
            raise UsageError(f"--passcode-file {passcode_file} is not UTF-8 text") from None
        if not value:
            raise UsageError(f"--passcode-file {passcode_file} is empty")
        return Secret(value)
    return Secret(os.environ.get("CLEVERTAP_PASSCODE", "").strip())


def settings_from_args(ns: argparse.Namespace) -> Settings:
    base_url, target_from = resolve_target(
        region_flag=ns.region, base_url_flag=ns.base_url,
        env_region=_env("CLEVERTAP_REGION"), env_base_url=_env("CLEVERTAP_BASE_URL"),
    )
    account_id, passcode = ns.account_id, read_passcode(ns.passcode_file)
    # A dry run checks the credentials only when it was given them.
    check = not ns.no_preflight and bool(account_id and passcode.reveal())
    if ns.dry_run:
        # A dry run sends nothing, so an operator may check a file before holding the
        # credentials; whatever is given is still validated.
        account_id = account_id or "(not set)"
        passcode = passcode if passcode.reveal() else Secret("(dry run)")
    if account_id is None:
        raise UsageError("no account ID: pass --account-id or set CLEVERTAP_ACCOUNT_ID")
    return suite_pauses(Settings(
        account_id=account_id,
        passcode=passcode,
        base_url=base_url,
        target_from=target_from,
        id_type=ns.id_type,
        batch_size=ns.batch_size,
        concurrency=ns.concurrency,
        rate=ns.rate,
        timeout=ns.timeout,
        limit=ns.limit,
        max_delete=ns.max_delete,
        max_errors=ErrorBudget.parse(ns.max_errors) if ns.max_errors else None,
        stall_timeout=ns.stall_timeout,
        preflight=check,
        requester=ns.requester,
        ticket=ns.ticket,
    ))


def suite_pauses(settings: Settings) -> Settings:
    """Short retry pauses for the test suite (BULKDELETE_TEST_PAUSES=1), honoured only for a
    loopback target such as the fake server, so they cannot change a run against CleverTap."""
    host = urlsplit(settings.base_url).hostname or ""
    if os.environ.get("BULKDELETE_TEST_PAUSES") != "1" or not is_loopback(host):
        return settings
    return dataclasses.replace(settings, backoff_base=0.01, backoff_cap=0.05)


def files_from_args(ns: argparse.Namespace) -> JobFiles:
    return JobFiles(
        input=Path(ns.ids_file), format=ns.format, column=ns.column,
        delimiter=parse_delimiter(ns.delimiter),
        checkpoint=ns.checkpoint, failed=ns.failed, report=ns.report, restart=ns.restart,
    )


def continue_command(argv: Sequence[str]) -> str:
    """After a canary: the command for the rest of the job (no --restart, no --limit)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--limit":
            skip = True
        elif not arg.startswith("--limit=") and arg != "--restart":
            kept.append(arg)
    return shlex.join(["bulkdelete", *kept])


def resume_command(argv: Sequence[str]) -> str:
    """The same command, minus --restart (which would throw the progress away)."""
    kept = [a for a in argv if a != "--restart"]
    return shlex.join(["bulkdelete", *kept])
