"""The command line's grammar (docs/cli.md) and the parsed arguments as Settings and
JobFiles. The options are tables, shared by ``delete`` and ``verify`` through a parent
parser and read again by :mod:`~bulkdelete.cli.retry`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bulkdelete import __version__
from bulkdelete.errors import UsageError
from bulkdelete.reader.csvhead import parse_delimiter
from bulkdelete.regions import DEFAULT_REGION, REGION_HOSTS, resolve_target
from bulkdelete.settings import ErrorBudget, JobFiles, Secret, Settings, suite_pauses
from bulkdelete.verify import DEFAULT_SAMPLE

Option = tuple[tuple[str, ...], dict[str, Any]]

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

VERIFY_EXAMPLES = """\
examples:
  # 48 hours after the delete: are a random 1,000 of the deleted profiles gone?
  bulkdelete verify ids.txt --id-type guid
  # the same sample again (the seed is in verify.json)
  bulkdelete verify ids.txt --id-type guid --seed 12345
  # every deleted ID (resumable: Ctrl-C, then the same command continues)
  bulkdelete verify ids.txt --id-type guid --all
  # then delete what is still there as a new job, with its own checkpoint beside the
  # job's (verify prints this command with the list's own name)
  bulkdelete delete ids.txt.bulkdelete/still_present-20261206T031500Z.txt --id-type guid \\
      --format lines --checkpoint ids.txt-still_present-20261206T031500Z.bulkdelete
"""

def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def _opt(*flags: str, **kwargs: Any) -> Option:
    return flags, kwargs


def shared_options() -> list[Option]:
    """What ``delete`` and ``verify`` both take, so both read a job the same way. A
    function, not a constant: ``--account-id``'s default is read from the environment."""
    return [
        _opt("--id-type", required=True, choices=["guid", "identity"],
             help="which body key the IDs go under"),
        _opt("--account-id", default=_env("CLEVERTAP_ACCOUNT_ID"),
             help="CleverTap account ID (env CLEVERTAP_ACCOUNT_ID)"),
        _opt("--passcode-file", type=Path,
             help="read the passcode from this file (default: env CLEVERTAP_PASSCODE)"),
        # No env defaults here: the flag, the environment and the default are weighed in
        # resolve_target, so a --region beats an exported CLEVERTAP_BASE_URL.
        _opt("--region", type=str.lower, choices=list(REGION_HOSTS),
             help=f"one of {', '.join(REGION_HOSTS)} (env CLEVERTAP_REGION; "
             f"default {DEFAULT_REGION})"),
        _opt("--base-url",
             help="scheme://host[:port] overriding the region (env CLEVERTAP_BASE_URL); "
             "plain http:// only to loopback. A flag beats the environment: --region "
             "beats CLEVERTAP_BASE_URL"),
        _opt("--concurrency", type=int, default=3,
             help="ceiling on requests in flight (default 3, the API's limit)"),
        _opt("--timeout", type=float, default=30.0,
             help="per-request timeout in seconds (default 30)"),
        _opt("--format", default="auto", choices=["auto", "lines", "csv", "jsonl"],
             help="input format; auto picks by extension (.csv, .jsonl/.ndjson, else lines)"),
        _opt("--column", help="CSV column or JSON field holding the ID"),
        _opt("--delimiter", metavar="C",
             help="CSV field delimiter, one character or 'tab' (default: sniffed from the "
             "header among , ; tab |; a header holding two of them is refused)"),
        _opt("--checkpoint", type=Path,
             help="checkpoint directory (default: IDS_FILE.bulkdelete/)"),
        _opt("--failed", type=Path,
             help="file of IDs that could not be deleted (default: in the checkpoint "
             "directory)"),
        _opt("--report", type=Path,
             help="JSON summary of the job (default: in the checkpoint directory)"),
        _opt("--max-errors", metavar="N|N%",
             help="abort (exit 3) once this run has failed N IDs, or N%% of them (after "
             "1,000 attempted)"),
        _opt("--stall-timeout", type=float, default=600.0,
             help="abort (exit 3) after this many seconds without an acknowledged batch "
             "(default 600)"),
    ]


AUDIT_OPTIONS: list[Option] = [
    _opt("--requester", metavar="TEXT",
         help="who asked for the erasure (one line, at most 200 characters)"),
    _opt("--ticket", metavar="TEXT",
         help="the request's reference, e.g. a DSR ticket (one line, at most 200 characters)"),
]

OUTPUT_OPTIONS: list[Option] = [
    _opt("--no-progress", action="store_true", help="no progress bar or progress logs"),
    _opt("--log-format", choices=["console", "json"], default="console",
         help="log events as console lines or JSON lines (stderr)"),
    _opt("--log-file", type=Path, help="also append JSON log events to this file"),
    _opt("-q", "--quiet", action="store_true",
         help="only warnings, errors and the final summary"),
]

DELETE_OPTIONS: list[Option] = [
    _opt("--rate", type=float, help="ceiling on requests per second"),
    _opt("--batch-size", type=int, default=100, help="IDs per request, 1..100"),
    _opt("--restart", action="store_true",
         help="discard an existing checkpoint and start the job over"),
    _opt("--dry-run", action="store_true",
         help="read and validate everything, print the plan, send nothing"),
    _opt("--limit", type=int,
         help="canary: delete only the next N IDs (whole batches), then stop"),
    _opt("--max-delete", type=int,
         help="refuse to start when this run would send more than N IDs"),
    _opt("--yes", action="store_true",
         help="skip the confirmation (required when not on a terminal)"),
    _opt("--no-preflight", action="store_true",
         help="skip the read-only credential check sent before the confirmation"),
]

# --sample and --all exclude each other.
VERIFY_OPTIONS: list[Option] = [
    _opt("--sample", type=int, default=DEFAULT_SAMPLE, metavar="N",
         help=f"check a uniform random sample of N deleted IDs (default {DEFAULT_SAMPLE:,})"),
    _opt("--all", action="store_true", help="check every deleted ID; resumable like a delete"),
    _opt("--seed", type=int,
         help="seed of the sample (recorded in verify.json; repeats a sample)"),
]


def _add(container: Any, options: Iterable[Option]) -> None:
    for flags, kwargs in options:
        container.add_argument(*flags, **kwargs)


def _job_parent() -> argparse.ArgumentParser:
    job = argparse.ArgumentParser(add_help=False)
    job.add_argument("ids_file", metavar="IDS_FILE", help="file of IDs (.gz read transparently)")
    _add(job, shared_options())
    _add(job.add_argument_group("audit trail"), AUDIT_OPTIONS)
    _add(job, OUTPUT_OPTIONS)
    return job


def build_parser() -> argparse.ArgumentParser:
    from bulkdelete.fake.cli import add_cli_arguments

    parser = argparse.ArgumentParser(
        prog="bulkdelete",
        description="Delete CleverTap user profiles in bulk, resumably and safely.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'bulkdelete COMMAND --help' for each command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"bulkdelete {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter
    job = _job_parent()

    delete = sub.add_parser(
        "delete", parents=[job], formatter_class=raw, epilog=DELETE_EXAMPLES,
        help="delete the profiles listed in a file (resumes if interrupted)",
        description="Delete the profiles listed in IDS_FILE. Progress is checkpointed; "
        "running the same command again resumes where it stopped.",
    )
    _add(delete, DELETE_OPTIONS)

    verify = sub.add_parser(
        "verify", parents=[job], formatter_class=raw, epilog=VERIFY_EXAMPLES,
        help="check that a job's deleted profiles are gone (read-only)",
        description="Look a job's deleted IDs up through Get User Profile: a random sample, "
        "or --all of them. Needs the job's checkpoint; sends no delete.",
    )
    _add(verify.add_mutually_exclusive_group(), VERIFY_OPTIONS[:2])
    _add(verify, VERIFY_OPTIONS[2:])

    status = sub.add_parser(
        "status", formatter_class=raw,
        help="show a job's progress from its checkpoint (read-only)",
        description="Show a job's progress from its checkpoint directory, read-only. Given "
        "the input file instead, read the default checkpoint beside it.",
        epilog="examples:\n  bulkdelete status ids.txt.bulkdelete\n  bulkdelete status ids.txt\n",
    )
    status.add_argument("checkpoint", metavar="CHECKPOINT|IDS_FILE", type=Path)
    status.add_argument("--json", action="store_true", help="print the report as JSON")

    add_cli_arguments(sub.add_parser(
        "fake-server", formatter_class=raw,
        help="run a local CleverTap-compatible delete endpoint",
        description="A CleverTap-compatible delete endpoint on loopback, for rehearsals, "
        "the demo, tests and benchmarks.",
        epilog="example:\n  bulkdelete fake-server --port 8080 --latency 0.05 "
        "--concurrency-limit 3 --record acked.txt\n",
    ))

    demo = sub.add_parser(
        "demo", formatter_class=raw,
        help="the whole pipeline against an in-process fake server",
        description="Generate IDs, start a fake server in-process (with a few injected "
        "faults), delete them all with the real pipeline, and check none was lost.",
        epilog="example:\n  bulkdelete demo --ids 20000\n",
    )
    demo.add_argument("--ids", type=int, default=20_000, help="how many IDs (default 20,000)")
    demo.add_argument("--keep", type=Path, help="keep the demo's files in this directory")
    _add(demo, OUTPUT_OPTIONS)
    return parser


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
    """``delete``'s or ``verify``'s settings; verify has none of delete's pacing, canary
    or preflight options (its lookups are themselves the credential check)."""
    base_url, target_from = resolve_target(
        region_flag=ns.region, base_url_flag=ns.base_url,
        env_region=_env("CLEVERTAP_REGION"), env_base_url=_env("CLEVERTAP_BASE_URL"),
    )
    delete = ns.command == "delete"
    account_id, passcode = ns.account_id, read_passcode(ns.passcode_file)
    # A dry run checks the credentials only when it was given them.
    check = delete and not ns.no_preflight and bool(account_id and passcode.reveal())
    if delete and ns.dry_run:
        # A dry run sends nothing, so an operator may check a file before holding the
        # credentials; whatever is given is still validated.
        account_id = account_id or "(not set)"
        passcode = passcode if passcode.reveal() else Secret("(dry run)")
    if account_id is None:
        raise UsageError("no account ID: pass --account-id or set CLEVERTAP_ACCOUNT_ID")
    pacing = dict(batch_size=ns.batch_size, rate=ns.rate, limit=ns.limit,
                  max_delete=ns.max_delete) if delete else {}
    return suite_pauses(Settings(
        account_id=account_id,
        passcode=passcode,
        base_url=base_url,
        target_from=target_from,
        id_type=ns.id_type,
        concurrency=ns.concurrency,
        timeout=ns.timeout,
        max_errors=ErrorBudget.parse(ns.max_errors) if ns.max_errors else None,
        stall_timeout=ns.stall_timeout,
        preflight=check,
        requester=ns.requester,
        ticket=ns.ticket,
        **pacing,
    ))


def files_from_args(ns: argparse.Namespace) -> JobFiles:
    return JobFiles(
        input=Path(ns.ids_file), format=ns.format, column=ns.column,
        delimiter=parse_delimiter(ns.delimiter), checkpoint=ns.checkpoint, failed=ns.failed,
        report=ns.report, restart=ns.command == "delete" and ns.restart,
    )
