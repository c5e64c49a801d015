"""The checkpoint folder a run holds: the user's alone, and the same folder throughout.

The descriptor held open from the lock on is its identity: a folder removed, or moved away
and replaced, is noticed before the next write by path (rather than scattering the job over
two folders), and a moved one is found.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from bulkdelete.durable import private_folder_problem, same_file, where_now
from bulkdelete.errors import CheckpointError, StorageError


class HeldFolder:

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def open(self) -> None:
        """Hold the folder, or refuse (exit 2) one that is not this user's alone."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                raise CheckpointError(
                    f"checkpoint path {self.path} is not a directory") from None
            raise CheckpointError(
                f"cannot open checkpoint directory {self.path}: {exc.strerror}") from None
        st = os.fstat(fd)
        problem = private_folder_problem(st)
        if problem is not None:
            os.close(fd)
            raise CheckpointError(f"refusing the checkpoint folder {self.path}: {problem}. "
                                  "Nothing was written")
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def check(self) -> None:
        """Raise StorageError when the path no longer names the folder held."""
        if self.same():
            return
        moved = self.moved_to()
        said = "was replaced by another folder" if self.path.exists() else "was removed"
        raise StorageError(
            f"the checkpoint folder {self.path} {said} during the run"
            + (f"; the job's checkpoint and failed file are now in {moved}: put that folder "
               "back in its place before rerunning the same command" if moved else "")
        )

    def same(self) -> bool:
        """Whether the path still names the folder held open (true while none is)."""
        return self._fd is None or same_file(self.path, self._fd)

    def moved_to(self) -> Path | None:
        """Where the held folder was moved, or None (in place, gone, or not held)."""
        if self._fd is None or self.same():
            return None
        return where_now(self._fd)
