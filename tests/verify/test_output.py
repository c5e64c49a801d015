"""Unit tests for :mod:`bulkdelete.verify.output`: the verify object, the summary line, and
the files (owner-only, whole)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

from bulkdelete.checkpoint import RunRecord, Traffic
from bulkdelete.verify.output import (
    Findings,
    new_list_name,
    percent,
    summarize,
    summary_lines,
    write_outputs,
)

NOW = datetime(2026, 1, 3, 12, 0, tzinfo=UTC)


def _runs() -> list[RunRecord]:
    deleting = RunRecord(run_id="r1", started="2026-01-02T09:00:00+00:00",
                         ended="2026-01-02T10:00:00+00:00", exit_code=0,
                         traffic=Traffic(ids_deleted=5))
    return [deleting]


def test_the_summary_line_reads_as_the_docs_show() -> None:
    summary = summarize(9_999_700, 1000, 0, 0, sample=1000, seed=7, runs=_runs(),
                        now=NOW)
    assert summary_lines(summary)[0] == (
        "1,000 of 9,999,700 deleted IDs checked: 1,000 gone, 0 present, 0 unknown — at most "
        "0.30 % remain (95 % confidence)")


def test_a_verify_before_the_purge_is_due_is_early_and_says_until_when() -> None:
    summary = summarize(10, 8, 1, 1, sample=None, seed=None, runs=_runs(), now=NOW)
    assert summary["requested_at"] == "2026-01-02T10:00:00+00:00"
    assert summary["purge_due_by"] == "2026-01-04T10:00:00.000Z"  # the one timestamp format
    assert summary["early"] is True
    assert summary["verified_at"] == "2026-01-03T12:00:00.000Z"  # as every timestamp written
    assert summary["sample"] == "all"
    assert (summary["checked"], summary["gone"], summary["present"], summary["unknown"]) == (
        10, 8, 1, 1)
    lines = summary_lines(summary)
    assert len(lines) == 2
    assert "until 2026-01-04T10:00:00.000Z" in lines[1]
    later = summarize(10, 10, 0, 0, sample=None, seed=None, runs=_runs(),
                      now=datetime(2026, 1, 5, tzinfo=UTC))
    assert later["early"] is False
    assert len(summary_lines(later)) == 1


def test_requester_and_ticket_come_from_the_last_run_that_has_them() -> None:
    """Read from the runs' records; a run without them (a later resume) does not hide
    them."""

    class Audited(RunRecord):  # a record with the audit fields, whatever RunRecord holds
        requester: str | None = None
        ticket: str | None = None

    given = Audited(run_id="r1", started="2026-01-02T09:00:00+00:00",
                    traffic=Traffic(ids_deleted=5))
    given.requester, given.ticket = "dpo@example.com", "DSR-17"
    later = RunRecord(run_id="r2", started="2026-01-02T11:00:00+00:00")
    summary = summarize(1, 1, 0, 0, sample=1, seed=1, runs=[given, later], now=NOW)
    assert (summary["requester"], summary["ticket"]) == ("dpo@example.com", "DSR-17")
    assert summarize(1, 1, 0, 0, sample=1, seed=1, runs=[later], now=NOW)[
        "requester"] is None


def test_outputs_are_owner_only_json_and_re_feedable(tmp_path: Path) -> None:
    summary = summarize(3, 1, 2, 0, sample=3, seed=9, runs=_runs(), now=NOW)
    name = new_list_name(tmp_path, now=NOW)
    assert name == "still_present-20260103T120000Z.txt"
    still = write_outputs(tmp_path, summary, ["a", "b"], name)
    assert still is not None
    assert still.read_text() == "a\nb\n"
    written = json.loads((tmp_path / "verify.json").read_text())
    assert written == summary
    assert written["still_present"] == name  # verify.json names the list
    for path in (still, tmp_path / "verify.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_list_name_is_never_one_already_in_the_folder(tmp_path: Path) -> None:
    """Two verifies in one second each get their own list; --all's end in -all; a verify
    with nothing present writes no list and verify.json says so."""
    first = write_outputs(tmp_path, {}, ["a"], new_list_name(tmp_path, now=NOW))
    second = write_outputs(tmp_path, {}, ["b"], new_list_name(tmp_path, now=NOW))
    assert first is not None
    assert second is not None
    assert (first.name, second.name) == ("still_present-20260103T120000Z.txt",
                                         "still_present-20260103T120000Z-2.txt")
    assert first.read_text() == "a\n"
    assert new_list_name(tmp_path, every=True, now=NOW) == \
        "still_present-20260103T120000Z-all.txt"
    summary: dict[str, object] = {}
    assert write_outputs(tmp_path, summary, [], new_list_name(tmp_path, now=NOW)) is None
    assert summary["still_present"] is None
    assert len(list(tmp_path.glob("still_present-*"))) == 2


async def test_findings_kept_on_disk_survive_a_torn_line_and_list_each_id_once(
    tmp_path: Path,
) -> None:
    """--all's findings are appended durably; a half-written last line (a kill mid-write)
    is cut away on reopening, and an ID listed twice (a batch re-checked) is listed once."""
    findings = Findings(tmp_path, truncate=True)
    await findings.add([("p1", "present", ""), ("u1", "gave up", ""), ("p2", "present", "")])
    findings.close()
    with (tmp_path / "present.txt").open("a") as torn:
        torn.write("p-half")
    again = Findings(tmp_path)
    await again.add([("p2", "present", ""), ("p3", "present", "")])
    assert again.present_ids() == ["p1", "p2", "p3"]
    again.close()
    assert (tmp_path / "unknown.txt").read_text() == "u1\n"
    assert stat.S_IMODE((tmp_path / "present.txt").stat().st_mode) == 0o600


def test_a_verify_given_its_own_requester_or_ticket_records_it_over_the_jobs() -> None:
    class Audited(RunRecord):
        requester: str | None = None
        ticket: str | None = None

    run = Audited(run_id="r1", started="2026-01-02T09:00:00+00:00",
                  traffic=Traffic(ids_deleted=5))
    run.requester, run.ticket = "dpo@example.com", "DSR-17"
    summary = summarize(1, 1, 0, 0, sample=1, seed=1, runs=[run], now=NOW,
                        names=(None, "AUDIT-9"))
    assert (summary["requester"], summary["ticket"]) == ("dpo@example.com", "AUDIT-9")
    summary = summarize(1, 1, 0, 0, sample=1, seed=1, runs=_runs(), now=NOW,
                        names=("auditor@example.com", None))
    assert (summary["requester"], summary["ticket"]) == ("auditor@example.com", None)


async def test_findings_reopened_keep_only_the_batches_the_progress_recorded(
    tmp_path: Path,
) -> None:
    """Each line names the batch that found its ID; reopened after a crash, the lines of
    batches the progress does not record are dropped (they are checked again), so the
    list holds what the progress counts."""
    findings = Findings(tmp_path, truncate=True)
    for seq, found in ((0, [("p0", "present", "")]), (1, [("p1", "present", ""),
                                                           ("u1", "gave up", "")]),
                       (2, [("p2", "present", "")])):
        findings.note(seq, [ident for ident, _, _ in found])
        await findings.add(found)
    findings.close()
    again = Findings(tmp_path, recorded=lambda seq: seq != 1)
    assert again.present_ids() == ["p0", "p2"]
    again.close()
    assert (tmp_path / "unknown.txt").read_text() == ""


def test_all_states_the_exact_share_and_a_samples_bound_is_never_zero() -> None:
    """With --all every deleted ID was checked: the exact share, no bound. A sample's bound
    keeps two significant digits, so a large sample never prints "0.00 %"."""
    every = summarize(2000, 1998, 2, 0, sample=None, seed=None, runs=_runs(), now=NOW)
    assert every["present_share"] == 2 / 2000
    line = summary_lines(every)[0]
    assert line.endswith("— 0.10 % of them present (exact)")
    assert "95 %" not in line
    clean = summarize(5, 5, 0, 0, sample=None, seed=None, runs=_runs(), now=NOW)
    assert summary_lines(clean)[0].endswith("— 0 % of them present (exact)")
    large = summarize(10**7, 200_000, 0, 0, sample=200_000, seed=1, runs=_runs(), now=NOW)
    assert summary_lines(large)[0].endswith("at most 0.0015 % remain (95 % confidence)")
    assert percent(0.0629) == "6.29"
    assert percent(0.5) == "50.00"
