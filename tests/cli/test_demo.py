"""The demo's last step: a verify of a sample through the library entry point, whose counts
must be the fake server's own answers (docs/verify.md; docs/fake-server.md, "The demo"), and
what it prints. The whole command runs in tests/e2e/test_shipped_commands.py."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from bulkdelete.cli.demo import VERIFY_SAMPLE, VERIFY_SEED, _demo, show

pytestmark = pytest.mark.e2e  # the demo starts its own fake server


async def test_the_demo_ends_with_a_verify_that_matches_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = await _demo(1200, tmp_path, show_progress=False)
    assert outcome.lost == 0
    folder = tmp_path / "ids.txt.bulkdelete"
    written = json.loads((folder / "verify.json").read_text(encoding="utf-8"))
    assert written == outcome.verify.summary
    # Every ID the verify asked about is a deleted one (the server acknowledged it), and the
    # server kept exactly the ones that came back.
    assert len(outcome.looked_up) == VERIFY_SAMPLE
    present = outcome.looked_up & outcome.came_back
    assert present, "the sample should meet some users who came back"
    assert (written["checked"], written["gone"], written["present"], written["unknown"]) == (
        VERIFY_SAMPLE, VERIFY_SAMPLE - len(present), len(present), 0)
    assert written["population"] == outcome.job.report["ids_deleted"] == 1198
    assert (written["sample"], written["seed"]) == (VERIFY_SAMPLE, VERIFY_SEED)
    still = folder / written["still_present"]  # each verify's list is its own
    # The baseline's profiles that came back are listed too (the pairing, docs/verify.md).
    paired = outcome.pairs & outcome.came_back
    assert set(still.read_text(encoding="utf-8").split()) == present | paired
    assert stat.S_IMODE(still.stat().st_mode) == 0o600
    assert outcome.verify.exit_code == 1  # some present: the verify says so
    assert outcome.verify_mismatch() == ""
    # What it prints: the verify's line and its check against the server.
    assert show(outcome, tmp_path, kept=True) == 0
    out = capsys.readouterr().out
    assert "of 1,198 deleted IDs checked: " in out
    assert "% remain (95 % confidence)" in out
    assert "verify agrees with the fake server's own answers, ID for ID" in out
    # Its last step: a certificate of erasure, named, with none of the demo's IDs in it.
    made = outcome.certificate
    assert f"certificate of erasure: {made.record['status']['state']}" in out
    assert str(made.html_path) in out
    ids = (tmp_path / "ids.txt").read_text(encoding="utf-8").split()
    for text in (made.html_path.read_text(encoding="utf-8"), made.json_path.read_text()):
        assert not [ident for ident in ids if ident in text]
