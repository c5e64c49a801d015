"""Where a job writes, checked before anything is written (docs/guarantees.md, "Nobody
else's files"); compared by file identity, so a link or another spelling is caught."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
from pathlib import Path

from bulkdelete.checkpoint import LOCK_NAME, STATE_NAME
from bulkdelete.checkpoint.evidence import BASELINE_NAME
from bulkdelete.durable import (
    OTHERS_WRITE,
    held_elsewhere,
    nearest_existing,
    private_folder_problem,
    refuse_foreign,
)
from bulkdelete.errors import UsageError
from bulkdelete.failed import reasons_path
from bulkdelete.settings import JobFiles

INVALID_NAME = "invalid.jsonl"  # the job's list of invalid lines (bulkdelete.job.invalid)
_OWN_FILE = re.compile(r"^(journal\.\d+|.*\.tmp)$")  # the checkpoint's journals, temporaries

# The files verify hands out in a job's checkpoint folder (bulkdelete.verify.output).
VERIFY_NAME = "verify.json"
STILL_PRESENT_PREFIX = "still_present-"
VERIFY_FOLDER = "verify"  # inside the job's checkpoint: --all's own progress
CERTIFICATE_NAMES = ("certificate.json", "certificate.html")  # bulkdelete.certificate


def check_outputs(files: JobFiles, log_file: Path | None = None) -> None:
    """Refuse (UsageError, exit 2) an output or checkpoint folder the job must not write."""
    outputs = [("--failed", files.failed_path), ("--failed", reasons_path(files.failed_path)),
               ("--report", files.report_path), *([("--log-file", log_file)] if log_file else [])]
    directory = files.checkpoint_dir
    if problem := _foreign_link(directory):
        raise UsageError(f"the checkpoint folder {directory}{problem}")
    # This user's alone, or to be created (0700) in a folder safe to create it in.
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        folder, problem = _unsafe_folder(directory)
        if problem is not None:
            raise UsageError(f"the checkpoint folder {directory} would be created in "
                             f"{folder}, and {problem}; nothing was written. Pass "
                             "--checkpoint in a folder of your own") from None
    except OSError as exc:
        if exc.errno != errno.ENOTDIR:  # else said by the checkpoint's own checks
            raise UsageError(f"cannot look at the checkpoint folder {directory}: "
                             f"{exc.strerror}") from None
    else:
        if (problem := private_folder_problem(st)) is not None and stat.S_ISDIR(st.st_mode):
            raise UsageError(f"refusing the checkpoint folder {directory}: {problem}; nothing "
                             "was written. Pass --checkpoint with a folder of your own")
    source, source_path = _identity(files.input), files.input.resolve()
    seen: dict[object, str] = {}
    for flag, path in outputs:
        keys = [k for k in (_identity(path), path.resolve()) if k is not None]
        taken = [seen[k] for k in keys if seen.get(k, flag) != flag]
        if source in keys or source_path in keys:
            via = " (through a symbolic link)" if path.is_symlink() else ""
            problem = f" is the input file{via}; nothing was written. Choose another path"
        else:
            problem = (_foreign_link(path) or _checkpoints_own(path, files.checkpoint_dir)
                       or (f" is also where {taken[0]} is written; nothing was written. Give "
                           "each output its own path" if taken else _unwritable(flag, path)))
        if problem:
            raise UsageError(f"{flag} {path}{problem}")
        seen.update(dict.fromkeys(keys, flag))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _foreign_link(path: Path) -> str | None:
    """A link along ``path`` owned by neither this user nor root (as protected_symlinks)."""
    path = path.absolute()
    for each in (*reversed(path.parents), path):
        try:
            st = os.lstat(each)
        except OSError:
            return None  # nothing further exists to follow
        if stat.S_ISLNK(st.st_mode) and st.st_uid not in (os.geteuid(), 0):
            return (f" goes through the symbolic link {each}, which belongs to another user "
                    f"(uid {st.st_uid}); the tool never follows one. Name a path of your own")
    return None


def _checkpoints_own(path: Path, checkpoint: Path) -> str | None:
    """In the checkpoint folder, none of its own or verify's files; in another's, nothing."""
    folder, name = path.parent.resolve(), path.name
    if folder != checkpoint.resolve():
        # A lock with a state or invalid-line list (a lone file named "lock" is anybody's).
        if (folder / LOCK_NAME).exists() and any(
                (folder / own).exists() for own in (STATE_NAME, INVALID_NAME)):
            return (f" is in {folder}, another job's checkpoint folder (or a verify's); "
                    "nothing was written. Choose a path outside it")
    elif name in (STATE_NAME, LOCK_NAME, INVALID_NAME, BASELINE_NAME) or _OWN_FILE.match(name):
        return " is one of the checkpoint's own files; nothing was written. Choose another path"
    elif name in CERTIFICATE_NAMES:
        return " is the job's certificate; nothing was written. Choose another path"
    elif name in (VERIFY_NAME, VERIFY_FOLDER) or is_verify_list(name):
        return (" is a file verify handed out (its list may be another job's input, and is "
                "never rewritten); nothing was written. Choose another path")
    return None


def is_verify_list(name: str) -> bool:
    """A still-present list verify handed out: another job's input, perhaps; never rewritten,
    moved or removed by the tool."""
    return name.startswith(STILL_PRESENT_PREFIX) and name.endswith(".txt")


def verify_lists(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir() if is_verify_list(p.name))
    except FileNotFoundError:
        return []


def discard_verify(folder: Path) -> None:
    """``--restart``: the last verify's counts and an unfinished ``verify --all``'s progress
    spoke of the discarded job (a resumed one could count the old job's findings). The
    still-present lists stay: each may be another job's input."""
    with contextlib.suppress(FileNotFoundError):
        (folder / VERIFY_NAME).unlink()
    progress = folder / VERIFY_FOLDER
    with contextlib.suppress(FileNotFoundError):
        if progress.is_symlink():
            progress.unlink()  # never followed
        else:
            shutil.rmtree(progress)


def _unwritable(flag: str, path: Path) -> str | None:
    """Not a link, folder, device or another's file; a safe folder; takes a write."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        return f": cannot look at it: {exc.strerror}"
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            return (" is a symbolic link; the tool never writes through a link. Name the file "
                    "itself, or another path")
        try:
            refuse_foreign(st, path)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK
                         | os.O_CLOEXEC)
            try:
                os.write(fd, b"")
            finally:
                os.close(fd)
        except OSError as exc:
            return f" cannot be written: {exc.strerror}"
        # A failed file another job's run holds (said for --failed with its own words).
        if flag != "--failed" and held_elsewhere(path):
            return (" is held by another run in progress (another job's failed file); "
                    "nothing was written. Choose another path")
    folder, problem = _unsafe_folder(path.parent)
    return None if problem is None else (f" is in the folder {folder}, and {problem}; "
                                         "nothing was written. Choose a folder of your own")


def _unsafe_folder(path: Path) -> tuple[Path, str | None]:
    """The nearest existing folder, and why a file in it could be swapped."""
    folder = nearest_existing(path.absolute())
    st = os.stat(folder)
    if (st.st_uid == os.geteuid() or not st.st_mode & OTHERS_WRITE
            or st.st_mode & stat.S_ISVTX):
        return folder, None
    return folder, (f"it belongs to another user (uid {st.st_uid}) and others can write in "
                    f"it (mode {stat.S_IMODE(st.st_mode):o}), so the file in it could be "
                    "swapped")
