"""The exception tree: every fatal condition the library raises on purpose.

Each carries its exit code (docs/exit-codes.md): 2 for usage, input and checkpoint errors
(nothing sent when found before the first request), 3 for an :class:`AbortError`, the run
stopping itself to protect the job. Messages say the cause and the fix, and never contain
the passcode or IDs: they reach the console, the logs and the report.
"""

from __future__ import annotations


class BulkDeleteError(Exception):
    """Root of every error the library raises on purpose."""

    exit_code: int = 2


class UsageError(BulkDeleteError):
    """A flag, setting or precondition is wrong; nothing was sent."""


class ConfirmationRefused(UsageError):
    """The operator did not confirm the deletion (or could not be asked)."""


class InputError(BulkDeleteError):
    """The input cannot be read or used (missing, a directory, stdin, no such column)."""


class InputChanged(InputError):
    """The input file changed during the run; the run stopped before sending anything read
    after the change, with its progress saved."""


class CheckpointError(BulkDeleteError):
    """The checkpoint cannot be used; the message names the way out (usually --restart)."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint belongs to another input, batch shape or target."""


class CheckpointLocked(CheckpointError):
    """Another run holds the checkpoint's lock."""


class StorageError(CheckpointError, OSError):
    """A file the job relies on (checkpoint, failed file) could not be written — a full
    disk, a read-only or vanished folder. The run stops at once; the message says what
    is safely on disk. Also an OSError, which is what it is underneath."""


class AbortError(BulkDeleteError):
    """The run stopped itself: going on would be wrong or pointless. Progress is saved."""

    exit_code = 3


class FatalApiError(AbortError):
    """The API refused in a way no retry fixes (401/403, or every ID rejected)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TooManyErrors(AbortError):
    """--max-errors was reached, or batches kept exhausting their retries."""


class StalledError(AbortError):
    """No batch was acknowledged for --stall-timeout seconds."""
