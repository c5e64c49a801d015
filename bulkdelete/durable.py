"""Writes that land whole or fail visibly, never through a link nor into another user's
file (docs/guarantees.md: crash safety, "Nobody else's files")."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

# Group or others may write: a folder like that lets another user swap what is in it.
OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def open_private(path: Path, flags: int) -> int:
    """os.open, 0600, never through a link and only a regular file of this user."""
    # Emptied only once accepted: O_TRUNC acts at the open, before the check below.
    truncate, flags = flags & os.O_TRUNC, flags & ~os.O_TRUNC
    try:
        fd = os.open(path, flags | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP and os.path.islink(path):
            raise OSError(errno.ELOOP, "it is a symbolic link, and the tool never writes "
                          "through a link", str(path)) from None
        raise
    try:
        refuse_foreign(os.fstat(fd), path)
        if truncate:
            os.ftruncate(fd, 0)
    except OSError:
        os.close(fd)
        raise
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)
    return fd


def refuse_foreign(st: os.stat_result, path: Path) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "it is not a regular file", str(path))
    if st.st_uid != os.geteuid():
        raise OSError(errno.EPERM, f"it belongs to another user (uid {st.st_uid}), and "
                      "the tool writes only files of its own", str(path))


def private_folder_problem(st: os.stat_result) -> str | None:
    """Why a folder is not this user's alone, or None."""
    if st.st_uid != os.geteuid():
        return f"it belongs to another user (uid {st.st_uid})"
    if st.st_mode & OTHERS_WRITE:
        return (f"others can write in it (mode {stat.S_IMODE(st.st_mode):o}); make it "
                "yours alone (chmod go-w) or choose another")
    return None


def nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def same_file(path: Path, fd: int) -> bool:
    try:
        return os.path.samestat(os.stat(path), os.fstat(fd))
    except OSError:
        return False


def where_now(fd: int) -> Path | None:
    """Where the file open on ``fd`` is now (Linux only), or None when removed."""
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    return None if where.endswith(" (deleted)") else Path(where)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte or raise; a write that makes no progress is a full disk."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def write_private_atomic(path: Path, data: bytes | Callable[[int], None], *,
                         tag: str = "") -> None:
    """Replace ``path`` with ``data`` (length checked) or what ``data(fd)`` writes: temp
    file, fsync, rename, fsync of the folder. On any failure ``path`` is left as it was."""
    # A rename would as readily replace a device (as root, /dev/null) or another's file.
    with contextlib.suppress(FileNotFoundError):
        refuse_foreign(os.lstat(path), path)
    # A name of its own, created exclusively: never an existing file or a planted link.
    tmp = path.with_name(f"{path.name}{tag}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except OSError as exc:
        raise _about(exc, path) from None
    try:
        try:
            if isinstance(data, bytes):
                write_all(fd, data)
                if (size := os.fstat(fd).st_size) != len(data):
                    raise OSError(errno.EIO, f"wrote {size} of {len(data)} bytes")
            else:
                data(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise _about(exc, path) from None
        raise
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _about(exc: OSError, path: Path) -> OSError:
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


def cut_to_last_line(fd: int) -> int:
    """Drop a half-written last line, reading backwards from the end."""
    size = end = os.fstat(fd).st_size
    keep = 0
    while end > 0:
        start = max(0, end - 64 * 1024)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        end = start
    if keep != size:
        os.ftruncate(fd, keep)
    return keep


def count_lines(fd: int) -> int:
    return sum(block.count(b"\n") for block in iter(lambda: os.read(fd, 1 << 20), b""))


def open_to_look(path: Path) -> int:
    """Read-only, not through a final link, never blocking on a fifo or device."""
    return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)


def held_elsewhere(path: Path) -> bool:
    """Whether another run holds a flock on ``path``."""
    try:
        fd = open_to_look(path)
    except OSError:
        return False  # none yet, or one the open for writing refuses with its reason
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class LineFiles:
    """Owner-only append-only line files written together, cut to the last whole line when
    opened; a write is fsync'd or taken back whole. BlockingIOError: the first is locked."""

    def __init__(self, paths: Sequence[Path], *, truncate: bool = False,
                 lock_first: bool = False) -> None:
        self.paths = list(paths)
        self._fds: list[int] = []
        # Worker threads write one at a time, so taking back a write never cuts another's
        # lines; close() waits for a write a cancelled task left, so none lands on a reused fd.
        self._lock = threading.Lock()
        try:
            for path in self.paths:
                fd = open_private(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
                self._fds.append(fd)
                if lock_first and len(self._fds) == 1:
                    # Before emptying it: another job's list stays whole.
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if truncate:
                    os.ftruncate(fd, 0)
                cut_to_last_line(fd)
        except BaseException as exc:
            self.close()
            if isinstance(exc, OSError) and exc.filename is None:
                exc.filename = str(path)
            raise

    def write(self, parts: Sequence[bytes], check: Callable[[], None] | None = None) -> None:
        with self._lock:
            if not self._fds:
                raise OSError(errno.EBADF, "closed: the run is ending", str(self.paths[0]))
            if check is not None:
                check()
            pending = [(path, fd, data) for path, fd, data
                       in zip(self.paths, self._fds, parts, strict=True) if data]
            sizes = [os.fstat(fd).st_size for _, fd, _ in pending]
            for path, fd, data in pending:
                try:
                    write_all(fd, data)
                    os.fsync(fd)
                except OSError as exc:
                    exc.filename = exc.filename or str(path)  # a write's error names none
                    # Taken back whole; if even that fails, the next open cuts the line.
                    for (_, held, _), size in zip(pending, sizes, strict=True):
                        with contextlib.suppress(OSError):
                            os.ftruncate(held, size)
                    raise

    def close(self) -> None:
        with self._lock:
            fds, self._fds = self._fds, []
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
