"""Writes checked whole (the guarantees: crash safety): a write lands completely or fails
loudly, a replaced file is installed only once fully written, and a line file is cut back
to its last complete line."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from bulkdelete.durable import cut_to_last_line, open_private, write_all, write_private_atomic


def _short_writes(monkeypatch: pytest.MonkeyPatch, allow: int) -> None:
    """os.write as a nearly full disk does it: the first ``allow`` bytes land (a short
    write), then ENOSPC."""
    real = os.write
    left = [allow]

    def write(fd: int, data: bytes | memoryview) -> int:
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real(fd, bytes(data)[: left[0]])
        left[0] -= n
        return n

    monkeypatch.setattr(os, "write", write)


def test_write_all_finishes_after_short_writes(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A short write is followed by the rest: the data lands whole."""
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(data)[:3]))
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        write_all(fd, b"0123456789")
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"0123456789"


def test_write_all_raises_when_a_write_makes_no_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that takes nothing is a failure (ENOSPC), never a silent partial file."""
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError, match="No space") as info:
            write_all(fd, b"data")
    finally:
        os.close(fd)
    assert info.value.errno == errno.ENOSPC


def test_a_replacement_cut_short_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nearly full disk: the new content does not fit, the call raises, the old file is
    untouched and the temp file is gone."""
    path = tmp_path / "state.json"
    path.write_bytes(b"old and good\n")
    _short_writes(monkeypatch, allow=5)
    with pytest.raises(OSError, match="No space"):
        write_private_atomic(path, b"new content that does not fit\n")
    monkeypatch.undo()
    assert path.read_bytes() == b"old and good\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_replacement_whose_length_disagrees_is_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that claims more than the file holds (a lying filesystem) is caught by the
    length check before the rename."""
    path = tmp_path / "state.json"
    path.write_bytes(b"old\n")
    monkeypatch.setattr(os, "write", lambda fd, data: len(data))  # claims all, writes none
    with pytest.raises(OSError, match="wrote 0 of 4 bytes"):
        write_private_atomic(path, b"new\n")
    assert path.read_bytes() == b"old\n"


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        (b"", b""),
        (b"a\nb\n", b"a\nb\n"),
        (b"a\nb\nhalf", b"a\nb\n"),
        (b"no newline at all", b""),
        (b"x" * 200_000 + b"\n" + b"y" * 100_000, b"x" * 200_000 + b"\n"),  # > one block
    ],
)
def test_cut_to_last_line(tmp_path: Path, content: bytes, kept: bytes) -> None:
    """Everything after the last newline goes; complete lines stay, however long."""
    path = tmp_path / "failed.txt"
    path.write_bytes(content)
    fd = os.open(path, os.O_RDWR)
    try:
        assert cut_to_last_line(fd) == len(kept)
    finally:
        os.close(fd)
    assert path.read_bytes() == kept


def test_open_private_never_follows_a_link(tmp_path: Path) -> None:
    """A link planted where the tool writes is refused, naming the path; its target is
    neither truncated nor chmod'ed."""
    target = tmp_path / "target.txt"
    target.write_text("keep\n")
    target.chmod(0o644)
    link = tmp_path / "out.txt"
    link.symlink_to(target)
    with pytest.raises(OSError, match="symbolic link") as caught:
        open_private(link, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    assert caught.value.filename == str(link)
    assert target.read_text() == "keep\n"
    assert target.stat().st_mode & 0o777 == 0o644


def test_open_private_refuses_a_folder_and_another_users_file(tmp_path: Path) -> None:
    """Only a regular file of this user is written: a folder or a file another user owns
    is refused with the path, the file untouched."""
    with pytest.raises(OSError, match="not a regular file"):
        open_private(tmp_path, os.O_RDONLY)
    if os.geteuid() != 0:
        pytest.skip("needs root to chown to another user")
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("theirs\n")
    os.chown(theirs, 65534, 65534)
    with pytest.raises(OSError, match="another user") as caught:
        open_private(theirs, os.O_WRONLY | os.O_APPEND)
    assert caught.value.filename == str(theirs)
    assert theirs.read_text() == "theirs\n"


def test_write_private_atomic_never_writes_through_a_planted_temporary(
    tmp_path: Path,
) -> None:
    """The temporary is created exclusively under a name of its own: a link planted at
    the name a replace used to write (``<name>.tmp``) is left alone, its target too."""
    target = tmp_path / "target.txt"
    target.write_text("keep\n")
    planted = tmp_path / "state.json.tmp"
    planted.symlink_to(target)
    write_private_atomic(tmp_path / "state.json", b"{}\n")
    assert (tmp_path / "state.json").read_bytes() == b"{}\n"
    assert target.read_text() == "keep\n"
    assert planted.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.tmp",
                                                           "target.txt"]


def test_an_atomic_replace_never_takes_the_place_of_a_device(tmp_path: Path) -> None:
    """A rename would replace a device node as readily as a file (as root, /dev/null
    itself): only a regular file of this user is replaced; the node stays a device."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root (CI runs as root)")
    with pytest.raises(OSError, match="not a regular file"):
        write_private_atomic(node, b"report\n")
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown to another user")
def test_open_private_truncates_only_a_file_it_accepts(tmp_path: Path) -> None:
    """O_TRUNC emptied another user's file (say, one hard-linked in) at the open, before
    the ownership check refused it: the check comes first, the emptying after."""
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("theirs\n")
    os.chown(theirs, 65534, 65534)
    with pytest.raises(OSError, match="another user"):
        open_private(theirs, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    assert theirs.read_text() == "theirs\n"
    mine = tmp_path / "mine.txt"
    mine.write_text("old\n")
    os.close(open_private(mine, os.O_WRONLY | os.O_TRUNC))
    assert mine.read_bytes() == b""
