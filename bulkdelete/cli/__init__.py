"""The ``bulkdelete`` command: :func:`main` runs one command line and returns its exit
code. The grammar is :mod:`~bulkdelete.cli.arguments`; the commands, signals and one-line
errors are :mod:`~bulkdelete.cli.main`."""

from __future__ import annotations

from bulkdelete.cli.arguments import build_parser
from bulkdelete.cli.main import entry_point, main

__all__ = ["build_parser", "entry_point", "main"]
