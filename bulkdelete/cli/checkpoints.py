"""Where a job handed back to the operator keeps its checkpoint: beside the job's own."""

from __future__ import annotations

import itertools
import re
from pathlib import Path


def new_checkpoint(checkpoint: Path, tag: str = "retry") -> Path:
    """``NAME-TAG.bulkdelete`` beside the job's checkpoint (``-TAG2`` and on when taken;
    a retry of a retry counts on rather than growing the name)."""
    base = re.sub(r"-retry\d*$", "", checkpoint.name.removesuffix(".bulkdelete"))
    candidates = (checkpoint.with_name(f"{base}-{tag}{n if n > 1 else ''}.bulkdelete")
                  for n in itertools.count(1))
    return next(path for path in candidates if not path.exists())
