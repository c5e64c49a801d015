"""Unit tests for :mod:`bulkdelete.job.invalid`: invalid.jsonl written whole, in bounded
pieces, stopping at the last invalid line the pre-count saw."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from bulkdelete.errors import StorageError
from bulkdelete.job import invalid as invalid_module
from bulkdelete.job.invalid import invalid_line_json, write_invalid_lines
from bulkdelete.outputs import INVALID_NAME
from bulkdelete.reader import Input, InvalidLine


def _input(tmp_path: Path, bad: int) -> Input:
    source = tmp_path / "ids.txt"
    source.write_bytes(b"".join(b"id-%d\nbad\x01%d\n" % (n, n) for n in range(bad)))
    return Input(source, "lines", "guid")


def _listed(directory: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (directory / INVALID_NAME).read_text().splitlines()]


def test_lists_every_invalid_line_in_pieces(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """More lines than one write gathers: all listed, in order, 0600, no temp file left."""
    monkeypatch.setattr(invalid_module, "_FLUSH_LINES", 7)
    files = _input(tmp_path, 50)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    path = write_invalid_lines(folder, files, 50)
    assert [item["line"] for item in _listed(folder)] == list(range(2, 101, 2))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [INVALID_NAME]


def test_stops_at_the_count_the_pre_count_saw(tmp_path: Path) -> None:
    files = _input(tmp_path, 20)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    write_invalid_lines(folder, files, 3)
    assert [item["line"] for item in _listed(folder)] == [2, 4, 6]


def test_no_invalid_line_means_an_empty_file_and_no_second_read(tmp_path: Path) -> None:
    """With nothing to list the input is not read at all (here it does not even exist)."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    write_invalid_lines(folder, Input(tmp_path / "gone.txt", "lines", "guid"), 0)
    assert (folder / INVALID_NAME).read_bytes() == b""


def test_a_write_that_fails_is_a_storage_error_and_leaves_no_temp_file(tmp_path: Path) -> None:
    """The file cannot be installed (a folder sits at its name): a StorageError naming it,
    and the temporary file is removed."""
    files = _input(tmp_path, 2)
    folder = tmp_path / "ckpt"
    (folder / INVALID_NAME).mkdir(parents=True)
    with pytest.raises(StorageError, match=INVALID_NAME):
        write_invalid_lines(folder, files, 2)
    assert sorted(p.name for p in folder.iterdir()) == [INVALID_NAME]


def test_a_line_is_json_whatever_the_value() -> None:
    for value in ("plain", "ctl\x01", "é", "lone\udcff"):
        line = invalid_line_json(InvalidLine(7, "why", value))
        assert line.endswith(b"\n")
        assert json.loads(line)["line"] == 7


def test_a_value_is_capped_after_escaping_so_the_list_stays_near_the_input_size(
        tmp_path: Path) -> None:
    """Lines of control bytes escape to six characters each: the value kept is cut so its
    escaped form holds at most 512 characters, flagged ``truncated``; the list stays
    within twice the input. A short plain value is kept whole, unflagged."""
    source = tmp_path / "ids.txt"
    source.write_bytes(b"id-1\n" + b"".join(b"\x01" * 500 + b"%d\n" % n for n in range(200))
                       + b"ok\x01\n")
    folder = tmp_path / "ckpt"
    folder.mkdir()
    write_invalid_lines(folder, Input(source, "lines", "guid"), 201)
    listed = _listed(folder)
    assert len(listed) == 201
    for item in listed[:-1]:
        value = str(item["value"])
        assert len(json.dumps(value)) - 2 <= 512
        assert set(value) == {"\x01"}
        assert item["truncated"] is True
    assert listed[-1] == {"line": 202, "reason": "control character", "value": "ok\x01"}
    assert (folder / INVALID_NAME).stat().st_size <= 2 * source.stat().st_size


def test_a_value_the_reader_kept_at_its_cap_is_flagged_truncated() -> None:
    """The reader keeps at most 512 characters of a line: such a value may be a longer
    line's, so it is flagged; the escaped cut never splits an escape."""
    line = json.loads(invalid_line_json(InvalidLine(3, "longer than 512 characters",
                                                    "x" * 512)))
    assert (line["value"], line["truncated"]) == ("x" * 512, True)
    mixed = json.loads(invalid_line_json(InvalidLine(4, "why", 'a"\\\udcff' * 200)))
    assert mixed["truncated"] is True
    assert 'a"\\\udcff'.startswith(mixed["value"][:4])
