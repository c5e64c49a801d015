"""The ``bulkdelete`` command: :func:`main` runs one command line and returns its exit code.

- :mod:`~bulkdelete.cli.main`: the commands, signals, and the one-line errors
- :mod:`~bulkdelete.cli.arguments`: the parser, its help and examples; flags → settings
- :mod:`~bulkdelete.cli.confirm`: the plan put to the operator, and their yes
- :mod:`~bulkdelete.cli.display`: the progress bar or progress log lines during a run
"""

from __future__ import annotations

from bulkdelete.cli.arguments import build_parser
from bulkdelete.cli.main import entry_point, main

__all__ = ["build_parser", "entry_point", "main"]
