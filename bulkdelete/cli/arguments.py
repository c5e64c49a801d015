"""The command line's grammar (docs/cli.md) as option tables, the parsed arguments as
Settings and JobFiles, and the command lines handed back to the operator, rebuilt from them."""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import re
import shlex
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bulkdelete import __version__
from bulkdelete.cli.options import (
    JSON_OPTION,
    OUTPUT_OPTIONS,
    Option,
    command_options,
    option_groups,
)
from bulkdelete.config import Profile, load_profile
from bulkdelete.errors import UsageError
from bulkdelete.fake.config import add_cli_arguments
from bulkdelete.lifecycle.plan import UNSET_ACCOUNT
from bulkdelete.reader.csvhead import parse_delimiter
from bulkdelete.settings import (
    ErrorBudget,
    JobFiles,
    Secret,
    Settings,
    resolve_target,
    suite_pauses,
)

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
  # the account, region and passcode file of a profile in the config file
  bulkdelete delete ids.txt --id-type guid --profile prod

settings: a flag beats the environment, which beats --profile, which beats the default

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
    "certificate": ("write a job's certificate of erasure (JSON + HTML, no profile IDs)",
                    "Write certificate.json and certificate.html into the job's checkpoint "
                    "folder, from what the job holds; no profile ID in either.",
                    "example:\n  bulkdelete certificate ids.txt\n"),
    "completion": ("print a shell completion script (bash, zsh or fish)",
                   "Print the completion script for SHELL on stdout, generated from this "
                   "parser.", """\
install:
  bash: bulkdelete completion bash > ~/.local/share/bash-completion/completions/bulkdelete
  zsh:  bulkdelete completion zsh > "${fpath[1]}/_bulkdelete"
  fish: bulkdelete completion fish > ~/.config/fish/completions/bulkdelete.fish
"""),
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


def _add(container: Any, options: Iterable[Option], **override: Any) -> None:
    for flags, kwargs in options:
        container.add_argument(*flags, **{**kwargs, **override})


# The output options are taken before the command too (bulkdelete -q delete ...): the
# command's own copies leave the attribute alone unless given, so the later one stands.
_LATER = {"default": argparse.SUPPRESS}


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="bulkdelete", formatter_class=raw,
        description="Delete CleverTap user profiles in bulk, resumably and safely.",
        epilog="Run 'bulkdelete COMMAND --help' for each command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"bulkdelete {__version__}")
    _add(parser.add_argument_group("output (before the command or after it)"), OUTPUT_OPTIONS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (text, description, epilog) in COMMANDS.items():
        # The epilog's examples keep their lines; the description is wrapped to fit.
        command = sub.add_parser(name, formatter_class=raw, help=text, epilog=epilog,
                                 description=textwrap.fill(description, 88))
        if name in ("delete", "verify"):
            command.add_argument("ids_file", metavar="IDS_FILE",
                                 help="file of IDs (.gz read transparently)")
            for title, options in option_groups(name):
                group = command.add_argument_group(title)
                if title == "lookups":  # --sample and --all exclude each other
                    _add(group.add_mutually_exclusive_group(), options[:2])
                    options = options[2:]
                if title == "output":
                    _add(group, [JSON_OPTION])
                    options = OUTPUT_OPTIONS
                _add(group, options, **(_LATER if title == "output" else {}))
        elif name == "status":
            command.add_argument("checkpoint", metavar="CHECKPOINT|IDS_FILE", type=Path,
                                 help="the job's checkpoint folder, or its input file (then "
                                 "the checkpoint beside it, IDS_FILE.bulkdelete/)")
            _add(command, [JSON_OPTION])
        elif name == "certificate":
            command.add_argument("checkpoint", metavar="CHECKPOINT|IDS_FILE", type=Path,
                                 help="the job's checkpoint folder, or its input file")
        elif name == "completion":
            command.add_argument("shell", choices=["bash", "zsh", "fish"],
                                 help="the shell to complete in")
        elif name == "fake-server":
            add_cli_arguments(command)
        elif name == "demo":
            command.add_argument("--ids", type=int, default=20_000, metavar="N",
                                 help="how many IDs (default 20,000)")
            command.add_argument("--keep", type=Path, metavar="DIR",
                                 help="keep the demo's files in this directory")
            _add(command.add_argument_group("output"), OUTPUT_OPTIONS, **_LATER)
    return parser


def settings_from_args(ns: argparse.Namespace) -> Settings:
    """Verify has no pacing, canary or preflight (its lookups are the credential check).
    Each setting: the flag, else the environment, else the --profile, else the default."""
    profile = load_profile(ns.profile) if ns.profile else Profile("")
    base_url, target_from = resolve_target(ns.region, ns.base_url, profile.target)
    delete, account_id = ns.command == "delete", ns.account_id or profile.account_id
    path, what = ns.passcode_file, "--passcode-file"
    passcode = Secret(os.environ.get("CLEVERTAP_PASSCODE", "").strip())
    if path is None and not passcode.reveal() and profile.passcode_file is not None:
        path, what = profile.passcode_file, f"profile {profile.name!r}'s passcode_file"
    if path is not None:
        try:
            passcode = Secret(path.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{what} {path} is not UTF-8 text") from None
        if not passcode.reveal():
            raise UsageError(f"{what} {path} is empty")
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
    words: list[str] = []
    # --help's order, but the ID type first: it reads as what the command is about.
    for flags, kwargs in sorted(command_options(command), key=lambda o: o[0][0] != "--id-type"):
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
