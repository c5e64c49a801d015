"""Which checkpoint ``status`` reads: the folder it is given, or the default one beside an
input file (docs/cli.md, ``status``)."""

from __future__ import annotations

from pathlib import Path

from bulkdelete.checkpoint import STATE_NAME
from bulkdelete.errors import UsageError
from bulkdelete.settings import JobFiles


def find_checkpoint(path: Path) -> Path:
    """``path`` when it is a checkpoint folder; else the checkpoint ``delete`` makes by
    default for ``path`` as its input (the same rule, from :class:`JobFiles`). Raises
    UsageError naming both places when neither holds one."""
    if (path / STATE_NAME).is_file():
        return path
    beside = JobFiles(input=path).checkpoint_dir
    if (beside / STATE_NAME).is_file():
        return beside
    if path.is_dir():
        raise UsageError(f"no checkpoint at {path} (expected {path / STATE_NAME}), nor at "
                         f"{beside} (the default checkpoint if {path} were the input)")
    raise UsageError(f"no checkpoint at {path}, nor at {beside} (the default checkpoint "
                     f"beside the input {path}); pass the folder given to --checkpoint")
