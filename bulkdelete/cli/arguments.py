"""The command line's grammar (docs/cli.md) as option tables, the parsed arguments as
Settings and JobFiles, and the command lines handed back to the operator, rebuilt from them."""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import re
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bulkdelete import __version__
from bulkdelete.errors import UsageError
from bulkdelete.fake.config import add_cli_arguments
from bulkdelete.lifecycle.plan import UNSET_ACCOUNT
from bulkdelete.reader.csvhead import parse_delimiter
from bulkdelete.settings import (
    DEFAULT_REGION,
    REGION_HOSTS,
    ErrorBudget,
    JobFiles,
    Secret,
    Settings,
    resolve_target,
    suite_pauses,
)
from bulkdelete.verify import DEFAULT_SAMPLE

Option = tuple[tuple[str, ...], dict[str, Any]]

def _opt(*flags: str, **kwargs: Any) -> Option:
    return flags, kwargs


def shared_options() -> list[Option]:
    """``delete``'s and ``verify``'s (a function: ``--account-id``'s default is the env's)."""
    return [
        _opt("--id-type", required=True, choices=["guid", "identity"],
             help="which body key the IDs go under"),
        _opt("--account-id", default=os.environ.get("CLEVERTAP_ACCOUNT_ID") or None,
             help="CleverTap account ID (env CLEVERTAP_ACCOUNT_ID)"),
        _opt("--passcode-file", type=Path,
             help="read the passcode from this file (default: env CLEVERTAP_PASSCODE)"),
        # No env defaults here: the flag, the environment and the default are weighed in
        # resolve_target, so a --region beats an exported CLEVERTAP_BASE_URL.
        _opt("--region", type=str.lower, choices=list(REGION_HOSTS), help="one of "
             f"{', '.join(REGION_HOSTS)} (env CLEVERTAP_REGION; default {DEFAULT_REGION})"),
        _opt("--base-url", help="scheme://host[:port] overriding the region (env "
             "CLEVERTAP_BASE_URL); plain http:// only to loopback. A flag beats the "
             "environment: --region beats CLEVERTAP_BASE_URL"),
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
        _opt("--encoding", default="utf-8", help="input encoding, e.g. cp1252 (default utf-8)"),
        _opt("--checkpoint", type=Path, help="checkpoint folder (default: IDS_FILE.bulkdelete/)"),
        _opt("--failed", type=Path, help="file of IDs that could not be deleted (default: in "
             "the checkpoint directory)"),
        _opt("--report", type=Path,
             help="JSON summary of the job (default: in the checkpoint directory)"),
        _opt("--max-errors", metavar="N|N%", help="abort (exit 3) once this run has failed N "
             "IDs, or N%% of them (after 1,000 attempted)"),
        _opt("--stall-timeout", type=float, default=600.0, help="abort (exit 3) after this "
             "many seconds without an acknowledged batch (default 600)"),
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
    _opt("-q", "--quiet", action="store_true", help="only warnings, errors and the final summary"),
]

DELETE_OPTIONS: list[Option] = [
    _opt("--rate", type=float, help="ceiling on requests per second"),
    _opt("--batch-size", type=int, default=100, help="IDs per request, 1..100"),
    _opt("--restart", action="store_true", help="discard an existing checkpoint and start over"),
    _opt("--dry-run", action="store_true", help="read and check all, print the plan, send nothing"),
    _opt("--limit", type=int, help="canary: delete exactly the next N IDs, then stop"),
    _opt("--max-delete", type=int, help="refuse to start when this run would send more than N IDs"),
    _opt("--yes", action="store_true",
         help="skip the confirmation (required when not on a terminal)"),
    _opt("--no-preflight", action="store_true",
         help="skip the read-only credential check sent before the confirmation"),
    _opt("--baseline", type=int, default=100, metavar="N", help="a new job first looks up "
         "a seeded sample of N of its IDs, read-only (default 100; 0 skips)"),
    _opt("--allow-absent", action="store_true", help="go on when every sampled ID is absent"),
]

# --sample and --all exclude each other.
VERIFY_OPTIONS: list[Option] = [
    _opt("--sample", type=int, default=DEFAULT_SAMPLE, metavar="N",
         help=f"check a uniform random sample of N deleted IDs (default {DEFAULT_SAMPLE:,})"),
    _opt("--all", action="store_true", help="check every deleted ID; resumable like a delete"),
    _opt("--seed", type=int, help="seed of the sample (recorded in verify.json; repeats a sample)"),
]


def _add(container: Any, options: Iterable[Option]) -> None:
    for flags, kwargs in options:
        container.add_argument(*flags, **kwargs)


# Each command's help, description and epilog (its examples).
COMMANDS = {
    "delete": ("delete the profiles listed in a file (resumes if interrupted)",
               "Delete the profiles listed in IDS_FILE. Progress is checkpointed; running the "
               "same command again resumes where it stopped.", """\
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
  4    stopped mid-run as a precondition broke (input changed, disk full): look, then resume
  130, 143, 129
       stopped by SIGINT, SIGTERM, SIGHUP: progress saved; rerun the command to resume
"""),
    "verify": ("check that a job's deleted profiles are gone (read-only)",
               "Look a job's deleted IDs up through Get User Profile: a random sample, or "
               "--all of them. Needs the job's checkpoint; sends no delete.", """\
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
"""),
    "status": ("show a job's progress from its checkpoint (read-only)",
               "Show a job's progress from its checkpoint directory, read-only. Given the "
               "input file instead, read the default checkpoint beside it.",
               "examples:\n  bulkdelete status ids.txt.bulkdelete\n  bulkdelete status ids.txt\n"),
    "fake-server": ("run a local CleverTap-compatible delete endpoint",
                    "A CleverTap-compatible delete endpoint on loopback, for rehearsals, the "
                    "demo, tests and benchmarks.",
                    "example:\n  bulkdelete fake-server --port 8080 --latency 0.05 "
                    "--concurrency-limit 3 --record acked.txt\n"),
    "demo": ("the whole pipeline against an in-process fake server",
             "Generate IDs, start a fake server in-process (with a few injected faults), "
             "delete them all with the real pipeline, and check none was lost.",
             "example:\n  bulkdelete demo --ids 20000\n"),
}


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="bulkdelete", formatter_class=raw,
        description="Delete CleverTap user profiles in bulk, resumably and safely.",
        epilog="Run 'bulkdelete COMMAND --help' for each command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"bulkdelete {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    job = argparse.ArgumentParser(add_help=False)
    job.add_argument("ids_file", metavar="IDS_FILE", help="file of IDs (.gz read transparently)")
    _add(job, shared_options())
    _add(job.add_argument_group("audit trail"), AUDIT_OPTIONS)
    _add(job, OUTPUT_OPTIONS)
    delete, verify, status, fake, demo = (
        sub.add_parser(name, parents=[job] if name in ("delete", "verify") else [],
                       formatter_class=raw, help=text, description=description, epilog=epilog)
        for name, (text, description, epilog) in COMMANDS.items()
    )
    _add(delete, DELETE_OPTIONS)
    _add(verify.add_mutually_exclusive_group(), VERIFY_OPTIONS[:2])
    _add(verify, VERIFY_OPTIONS[2:])
    status.add_argument("checkpoint", metavar="CHECKPOINT|IDS_FILE", type=Path)
    status.add_argument("--json", action="store_true", help="print the report as JSON")
    add_cli_arguments(fake)
    demo.add_argument("--ids", type=int, default=20_000, help="how many IDs (default 20,000)")
    demo.add_argument("--keep", type=Path, help="keep the demo's files in this directory")
    _add(demo, OUTPUT_OPTIONS)
    return parser


def settings_from_args(ns: argparse.Namespace) -> Settings:
    """Verify has no pacing, canary or preflight (its lookups are the credential check)."""
    base_url, target_from = resolve_target(ns.region, ns.base_url)
    delete, account_id, path = ns.command == "delete", ns.account_id, ns.passcode_file
    if path is None:
        passcode = Secret(os.environ.get("CLEVERTAP_PASSCODE", "").strip())
    else:
        try:
            passcode = Secret(path.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise UsageError(f"cannot read --passcode-file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"--passcode-file {path} is not UTF-8 text") from None
        if not passcode.reveal():
            raise UsageError(f"--passcode-file {path} is empty")
    # A dry run checks the credentials only when it was given them.
    check = delete and not ns.no_preflight and bool(account_id and passcode.reveal())
    if delete and ns.dry_run:
        # A dry run sends nothing, so an operator may check a file before holding the
        # credentials; whatever is given is still validated.
        account_id = account_id or UNSET_ACCOUNT
        passcode = passcode if passcode.reveal() else Secret("(dry run)")
    if account_id is None:
        raise UsageError("no account ID: pass --account-id or set CLEVERTAP_ACCOUNT_ID")
    pacing = dict(batch_size=ns.batch_size, rate=ns.rate, limit=ns.limit,
                  max_delete=ns.max_delete, baseline=ns.baseline,
                  allow_absent=ns.allow_absent) if delete else {}
    return suite_pauses(Settings(
        account_id=account_id, passcode=passcode, base_url=base_url, target_from=target_from,
        id_type=ns.id_type, concurrency=ns.concurrency, timeout=ns.timeout,
        max_errors=ErrorBudget.parse(ns.max_errors) if ns.max_errors else None,
        stall_timeout=ns.stall_timeout, preflight=check, requester=ns.requester,
        ticket=ns.ticket, **pacing,
    ))


def files_from_args(ns: argparse.Namespace) -> JobFiles:
    return JobFiles(
        input=Path(ns.ids_file), format=ns.format, column=ns.column,
        delimiter=parse_delimiter(ns.delimiter), encoding=ns.encoding, checkpoint=ns.checkpoint,
        failed=ns.failed, report=ns.report, restart=ns.command == "delete" and ns.restart,
    )


# What binds the old job or shapes its input: a retry job reads one ID per line, with its
# own checkpoint, failed file and report, and sends all of it.
RETRY_DROPS = frozenset({"--checkpoint", "--failed", "--report", "--restart", "--limit",
                         "--format", "--column", "--delimiter", "--encoding", "--dry-run"})


def command_line(ns: argparse.Namespace, *, command: str | None = None,
                 ids_file: str | Path | None = None, drop: frozenset[str] = frozenset(),
                 extra: Sequence[str] = ()) -> str:
    """``bulkdelete COMMAND IDS_FILE OPTIONS``: each option of *command* (default: *ns*'s)
    off its default (an option *ns* lacks keeps it), less *drop*, then *extra*."""
    command = command or ns.command
    own = DELETE_OPTIONS if command == "delete" else VERIFY_OPTIONS
    words: list[str] = []
    for flags, kwargs in [*shared_options(), *AUDIT_OPTIONS, *OUTPUT_OPTIONS, *own]:
        default = kwargs.get("default", False if kwargs.get("action") else None)
        value = getattr(ns, flags[-1][2:].replace("-", "_"), default)
        if flags[0] in drop or value is None or value == default:
            continue
        words += [flags[0]] if value is True else [flags[0], str(value)]
    source = str(ns.ids_file if ids_file is None else ids_file)
    if source.startswith("-"):  # read as an option unless it comes after "--"
        return shlex.join(["bulkdelete", command, *words, *extra, "--", source])
    return shlex.join(["bulkdelete", command, source, *words, *extra])


resume_command = functools.partial(command_line, drop=frozenset({"--restart"}))
continue_command = functools.partial(command_line, drop=frozenset({"--restart", "--limit"}))


def retry_command(ns: argparse.Namespace, failed: Path, checkpoint: Path, *,
                  tag: str = "retry") -> str:
    """*ns*'s job as a delete of *failed* as lines, with a new checkpoint beside *checkpoint*."""
    return command_line(ns, command="delete", ids_file=failed, drop=RETRY_DROPS,
                        extra=["--format", "lines", "--checkpoint",
                               str(new_checkpoint(checkpoint, tag))])


def new_checkpoint(checkpoint: Path, tag: str = "retry") -> Path:
    """``NAME-TAG.bulkdelete`` beside the job's checkpoint (``-TAG2`` and on when taken;
    a retry of a retry counts on rather than growing the name)."""
    base = re.sub(r"-retry\d*$", "", checkpoint.name.removesuffix(".bulkdelete"))
    candidates = (checkpoint.with_name(f"{base}-{tag}{n if n > 1 else ''}.bulkdelete")
                  for n in itertools.count(1))
    return next(path for path in candidates if not path.exists())
