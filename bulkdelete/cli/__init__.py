"""The ``bulkdelete`` command: :func:`main` runs one command line, returns its exit code."""

from bulkdelete.cli.arguments import build_parser
from bulkdelete.cli.main import entry_point, main

__all__ = ["build_parser", "entry_point", "main"]
