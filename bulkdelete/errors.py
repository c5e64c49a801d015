"""Every fatal condition the library raises on purpose, with its exit code
(docs/exit-codes.md). Messages say the cause and the fix, never the passcode or IDs."""

from __future__ import annotations


class BulkDeleteError(Exception):
    exit_code: int = 2


class UsageError(BulkDeleteError):
    """A flag, setting or precondition is wrong; nothing was sent."""


class ConfirmationRefused(UsageError):
    """The operator did not confirm the deletion (or could not be asked)."""


class InputError(BulkDeleteError):
    """The input cannot be read or used (missing, a directory, stdin, no such column)."""


class InputChanged(InputError):
    """The input changed during the run; nothing read after the change was sent."""


class CheckpointError(BulkDeleteError):
    """The checkpoint cannot be used; the message names the way out (usually --restart)."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint belongs to another input, batch shape or target."""


class CheckpointLocked(CheckpointError):
    """Another run holds the checkpoint's lock."""


class StorageError(CheckpointError, OSError):
    """A checkpoint or failed file could not be written: the run stops, saying what is safe."""


class StoppedMidRun(BulkDeleteError):
    """A precondition broke once sending had begun (the input changed, a file the job
    relies on could not be written): progress is saved up to the break. Its own code, so a
    wrapper tells "fix the command" (2) from "look before resuming" (4)."""

    exit_code = 4


class InputChangedMidRun(StoppedMidRun, InputChanged):
    """:class:`InputChanged` once sending had begun."""


class StorageFailedMidRun(StoppedMidRun, StorageError):
    """:class:`StorageError` once sending had begun."""


def mid_run(error: BulkDeleteError) -> BulkDeleteError:
    """*error* as raised once sending has begun: a broken precondition becomes exit 4, with
    the same message; anything else (an abort, a usage error) is returned as it is."""
    if isinstance(error, StoppedMidRun):
        return error
    if isinstance(error, InputChanged):
        return InputChangedMidRun(*error.args)
    if isinstance(error, StorageError):
        return StorageFailedMidRun(*error.args)
    return error


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
