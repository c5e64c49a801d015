"""The layout of ``state.json`` (:mod:`bulkdelete.checkpoint.model`): one JSON object a
plain parser reads, its checksum still catches damage, and no other layout is read
(docs/checkpoint.md)."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from bulkdelete.checkpoint import STATE_NAME
from bulkdelete.checkpoint.model import decode, encode
from bulkdelete.errors import CheckpointError
from tests.checkpoint.helpers import load, make_state, new_job


def test_state_json_is_plain_json(tmp_path: Path) -> None:
    """A real checkpoint's state.json parses whole with json.loads and with
    ``python -m json.tool``; the state sits under "state", its CRC-32 beside it."""
    directory = tmp_path / "ckpt"
    new_job(directory)
    path = directory / STATE_NAME
    doc = json.loads(path.read_bytes())
    assert set(doc) == {"format", "crc32", "state"}
    assert doc["state"]["version"] == 1
    assert doc["state"]["totals"]["ids_total"] == 1000
    tool = subprocess.run([sys.executable, "-m", "json.tool", str(path)],
                          capture_output=True, check=False)
    assert tool.returncode == 0, tool.stderr


def test_a_value_changed_inside_valid_json_is_caught(tmp_path: Path) -> None:
    """Damage that leaves the JSON valid (a count edited by hand or by a flipped digit)
    fails the checksum: refused with --restart, never trusted."""
    directory = tmp_path / "ckpt"
    new_job(directory)
    path = directory / STATE_NAME
    doc = json.loads(path.read_bytes())
    doc["state"]["totals"]["ids_total"] = 999
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


def test_the_layout_may_change_but_not_the_state(tmp_path: Path) -> None:
    """The checksum covers the state's canonical form, so a file re-indented by a tool
    (jq, json.tool) still loads as the same state."""
    directory = tmp_path / "ckpt"
    new_job(directory)
    path = directory / STATE_NAME
    before = load(directory)
    path.write_text(json.dumps(json.loads(path.read_bytes()), indent=4))
    after = load(directory)
    assert after.totals == before.totals
    assert after.progress.watermark == before.progress.watermark == 3


def test_a_checkpoint_in_another_layout_is_refused(tmp_path: Path) -> None:
    """Only the current layout is read: a state.json of another (canonical JSON, newline,
    CRC-32, as an unreleased version wrote) is refused with the way out, never guessed at."""
    directory = tmp_path / "ckpt"
    new_job(directory)
    path = directory / STATE_NAME
    state = json.loads(path.read_bytes())["state"]
    body = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    path.write_bytes(body + b"\n" + f"{zlib.crc32(body):08x}".encode() + b"\n")
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


@pytest.mark.parametrize("raw", [b"", b"{}", b"[]", b'{"format":"bulkdelete-state"}',
                                 b'{"crc32":"00000000","format":"bulkdelete-state","state":{}}',
                                 b'{"crc32":"x","format":"other","state":{}}', b"\xff\xfe"])
def test_decode_refuses_what_is_not_a_checksummed_state(raw: bytes) -> None:
    assert decode(raw) is None


def test_encode_then_decode_is_the_same_state() -> None:
    state = make_state().to_json(4)
    assert decode(encode(state)) == json.loads(json.dumps(state))
