"""Shell completion generated from the parser itself, so it never lags the options: bash and
zsh by shtab; fish, which shtab does not write, by walking the same parser here."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator
from pathlib import Path

import shtab

# Where a value is a path: files complete there (a folder for the checkpoint and --keep).
_FOLDERS = {"DIR"}
_FILES = {"PATH", "IDS_FILE", "CHECKPOINT|IDS_FILE"}


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for *shell* (``bash``, ``zsh`` or ``fish``)."""
    for _, command in _commands(parser):
        for action in command._actions:
            kind = shtab.DIRECTORY if action.metavar in _FOLDERS else \
                shtab.FILE if action.metavar in _FILES or action.type is Path else None
            if kind is not None:
                action.complete = kind  # type: ignore[attr-defined]  # shtab reads it
    if shell == "fish":
        return "\n".join(_fish(parser)) + "\n"
    return str(shtab.complete(parser, shell=shell))


def _commands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The top level ("") and each command, with its parser."""
    yield "", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _command_help(parser: argparse.ArgumentParser) -> dict[str, str]:
    return {choice.dest: choice.help or choice.dest for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for choice in action._choices_actions}


def _help(action: argparse.Action) -> str:
    text = (action.help or "").replace("%(default)s", str(action.default)).replace("%%", "%")
    return text if len(text) <= 70 else text[:67].rstrip() + "..."


def _fish(parser: argparse.ArgumentParser) -> Iterator[str]:
    prog = parser.prog
    yield f"# fish completion for {prog}, generated from its parser ({prog} completion fish)"
    yield f"complete -c {prog} -f"  # files only where a value is a path, below
    about = _command_help(parser)
    for name, command in _commands(parser):
        if name:
            yield (f"complete -c {prog} -n __fish_use_subcommand -a {name} "
                   f"-d {shlex.quote(about[name])}")
        where = f"-n {shlex.quote(f'__fish_seen_subcommand_from {name}')}" if name \
            else "-n __fish_use_subcommand"
        for action in command._actions:
            if action.help == argparse.SUPPRESS:
                continue
            words = [f"complete -c {prog} {where}"]
            if action.option_strings:
                for flag in action.option_strings:
                    words.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
            elif isinstance(action, argparse._SubParsersAction):
                continue
            if action.choices and not isinstance(action.choices, dict):
                words.append(f"-x -a {shlex.quote(' '.join(map(str, action.choices)))}")
            elif getattr(action, "complete", None) == shtab.DIRECTORY:
                words.append("-x -a '(__fish_complete_directories)'")
            elif getattr(action, "complete", None) is not None:
                words.append("-r -F")  # a path: files complete here
            elif action.nargs != 0 and action.option_strings:
                words.append("-x")  # a value, but none to suggest
            yield " ".join([*words, f"-d {shlex.quote(_help(action))}"])
