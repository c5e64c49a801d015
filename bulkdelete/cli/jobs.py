"""The commands that read a job's checkpoint folder, given it or the input beside it:
``status`` finds it here, ``certificate`` (docs/certificate.md) writes into it."""

from __future__ import annotations

import sys
from pathlib import Path

from bulkdelete import __version__
from bulkdelete.checkpoint import STATE_NAME
from bulkdelete.errors import UsageError
from bulkdelete.logs import say
from bulkdelete.settings import JobFiles


def job_folder(path: Path) -> Path:
    """The folder given, else the default checkpoint of the path as input."""
    directory = path
    if not (path / STATE_NAME).is_file():
        directory = JobFiles(input=path).checkpoint_dir
        if not (directory / STATE_NAME).is_file():
            raise UsageError(
                f"no checkpoint at {path} (expected {path / STATE_NAME}), nor at {directory} "
                f"(the default checkpoint if {path} were the input)" if path.is_dir() else
                f"no checkpoint at {path}, nor at {directory} (the default checkpoint beside "
                f"the input {path}); pass the folder given to --checkpoint")
    return directory


def certify(path: Path) -> int:
    """``bulkdelete certificate``: both files written, the headline and paths printed."""
    from bulkdelete.certificate import write_certificate  # Jinja2: only for this command

    made = write_certificate(job_folder(path), version=__version__)
    status = made.record["status"]
    say(f"certificate: {status['state']} — {status['why']}", f"  {made.html_path}",
        f"  {made.json_path} (SHA-256 {made.sha256})", event="certificate",
        state=status["state"], path=made.html_path, sha256=made.sha256, stream=sys.stdout)
    return 0
