"""The command lines handed back to the operator: resume, continue a canary, and a new job
for a list the tool wrote, with its own checkpoint beside the job's. Each is rebuilt from
the parsed namespace through the option tables, so the target, ID type and tuning stay.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from bulkdelete.cli.arguments import (
    AUDIT_OPTIONS,
    DELETE_OPTIONS,
    OUTPUT_OPTIONS,
    VERIFY_OPTIONS,
    shared_options,
)

# What binds the old job or shapes its input: a retry job reads one ID per line, with its
# own checkpoint, failed file and report, and sends all of it.
RETRY_DROPS = frozenset({"--checkpoint", "--failed", "--report", "--restart", "--limit",
                         "--format", "--column", "--delimiter", "--dry-run"})


def command_line(ns: argparse.Namespace, *, command: str | None = None,
                 ids_file: str | Path | None = None, drop: frozenset[str] = frozenset(),
                 extra: Sequence[str] = ()) -> str:
    """The command *ns* was parsed from, as ``bulkdelete COMMAND IDS_FILE OPTIONS``:
    every option of *command* (default: *ns*'s own) that differs from its default, less
    *drop*, then *extra*. An option *ns* lacks (verify's, for a delete) keeps its default."""
    command = command or ns.command
    own = DELETE_OPTIONS if command == "delete" else VERIFY_OPTIONS
    words: list[str] = []
    for flags, kwargs in [*shared_options(), *AUDIT_OPTIONS, *OUTPUT_OPTIONS, *own]:
        default = kwargs.get("default", False if kwargs.get("action") else None)
        value = getattr(ns, _dest(flags), default)
        if flags[0] in drop or value is None or value == default:
            continue
        words += [flags[0]] if value is True else [flags[0], str(value)]
    source = str(ns.ids_file if ids_file is None else ids_file)
    if source.startswith("-"):  # read as an option unless it comes after "--"
        return shlex.join(["bulkdelete", command, *words, *extra, "--", source])
    return shlex.join(["bulkdelete", command, source, *words, *extra])


def _dest(flags: tuple[str, ...]) -> str:
    return next(f for f in flags if f.startswith("--"))[2:].replace("-", "_")


def resume_command(ns: argparse.Namespace) -> str:
    return command_line(ns, drop=frozenset({"--restart"}))


def continue_command(ns: argparse.Namespace) -> str:
    return command_line(ns, drop=frozenset({"--restart", "--limit"}))


def retry_command(ns: argparse.Namespace, failed: Path, checkpoint: Path, *,
                  tag: str = "retry") -> str:
    """*ns*'s job (a delete or a verify) as a delete of *failed*, read as ``--format
    lines``, with a checkpoint beside *checkpoint* that does not exist yet, named with
    *tag*. Only delete's options are kept."""
    return command_line(ns, command="delete", ids_file=failed, drop=RETRY_DROPS,
                        extra=["--format", "lines", "--checkpoint",
                               str(new_checkpoint(checkpoint, tag))])


def new_checkpoint(checkpoint: Path, tag: str = "retry") -> Path:
    """``NAME-TAG.bulkdelete`` beside the job's checkpoint (``-TAG2`` and on when taken;
    a retry of a retry counts on rather than growing the name)."""
    base = re.sub(r"-retry\d*$", "", checkpoint.name.removesuffix(".bulkdelete"))
    n = 1
    while True:
        candidate = checkpoint.with_name(f"{base}-{tag}{n if n > 1 else ''}.bulkdelete")
        if not candidate.exists():
            return candidate
        n += 1
