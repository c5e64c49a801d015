"""The command that feeds a list the tool handed out to a new job (docs/exit-codes.md,
docs/verify.md): a finished job's failed file, or the IDs a verify found still present, as
the input of a new job with a checkpoint of its own beside the job's (never inside its
folder), built from the command line that ran the job or the verify, so the target, the
ID type and the tuning stay as they were."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from bulkdelete.cli.arguments import build_parser

# What binds the old job or shapes its input: the retry job reads one ID per line, with its
# own checkpoint, failed file and report, and sends all of it.
_DROPPED = frozenset({"--checkpoint", "--failed", "--report", "--restart", "--limit",
                      "--format", "--column", "--delimiter", "--dry-run"})


def retry_command(argv: Sequence[str], failed: Path, checkpoint: Path, *,
                  command: str = "delete", tag: str = "retry") -> str:
    """*argv* (``COMMAND IDS_FILE ...``, *command* ``delete`` or ``verify``) as a delete
    with *failed* as the input, ``--format lines`` and a checkpoint beside *checkpoint*
    that does not exist yet, named with *tag*. Only delete's own options are kept."""
    options = _options(command)
    delete = options if command == "delete" else _options("delete")
    kept: list[str] = []
    tokens = iter(argv)
    for arg in tokens:
        name, equals, _ = arg.partition("=")
        option = _resolve(name, options) if arg.startswith("-") and arg != "-" else None
        if option is None:
            continue  # the command word and the old input
        value = [next(tokens, "")] if options[option] and not equals else []
        if option in delete and option not in _DROPPED:
            kept += [arg, *value]
    return shlex.join(["bulkdelete", "delete", str(failed), *kept, "--format", "lines",
                       "--checkpoint", str(new_checkpoint(checkpoint, tag))])


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


def _options(command: str) -> dict[str, bool]:
    """Every option string of *command* and whether it takes a value."""
    parser = build_parser(fake_server_options=False)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub: argparse.ArgumentParser = action.choices[command]
            return {s: a.nargs != 0 for a in sub._actions for s in a.option_strings}
    raise AssertionError("the parser has no subcommands")  # pragma: no cover


def _resolve(name: str, options: dict[str, bool]) -> str | None:
    """*name* as argparse reads it: an option, or the one option it abbreviates."""
    if name in options:
        return name
    matches = [o for o in options if name.startswith("--") and o.startswith(name)]
    return matches[0] if len(matches) == 1 else None
