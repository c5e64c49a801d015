"""What a new operator trips over (docs/cli.md, docs/report.md): a CSV whose header looks
like an ID (refused), counts in the singular, IDs repeated across the file.
Every run that sends anything ends with the nothing-lost check (docs/guarantees.md §1)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer
from tests.conftest import assert_nothing_lost, delete_args, make_ids, write_ids
from tests.e2e.support import ckpt_dir, cli, report_of

pytestmark = pytest.mark.usefixtures("reset_logging")


def test_a_headerless_one_column_csv_is_refused_and_the_plan_names_the_column(
    tmp_path: Path, creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV of bare IDs would lose its first ID to the header: the dry run refuses it
    (exit 2) saying how to proceed, without printing the would-be header (an ID); a CSV
    with a header gets a plan that says which column it reads."""
    ids = make_ids(10)
    source = write_ids(tmp_path / "ids.csv", ids)
    code, out, err = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run",
                           "--no-preflight")
    assert code == 2, err
    text = out + err
    assert "looks like an ID" in text
    assert "--format lines" in text
    assert ids[0] not in text
    named = write_ids(tmp_path / "named.csv", ["guid", *ids])
    code, out, err = cli(capsys, "delete", str(named), "--id-type", "guid", "--dry-run",
                           "--no-preflight")
    assert code == 0, err
    assert "(csv, column 'guid', ',' (comma)-separated)" in out + err
    assert "looks like an ID" not in out + err


def test_counts_of_one_are_singular(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """One ID, one batch, one invalid line, one request, one run: never "1 IDs"."""
    ids = make_ids(1)
    source = write_ids(tmp_path / "ids.txt", [*ids, "x" * 600])
    code, out, plan = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run",
                           "--no-preflight")
    assert code == 0, plan
    plan += out
    assert "1 valid, 1 invalid line, 1 batch (new job)" in plan
    assert "deletes 1 ID (1 ID remains in the job)" in plan
    assert "estimate:   1 request at" in plan
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    assert "1 deleted, 0 failed, 1 invalid line, of 1 ID" in err
    assert "traffic: 1 request, 0 retries," in err
    assert "0 IDs re-sent;" in err
    assert "over 1 run," in err
    code, status, _ = cli(capsys, "status", str(ckpt_dir(source)))
    assert code == 0
    assert "1 of 1 ID handled (1 of 1 batch)" in status
    for wrong in ("1 IDs", "1 batches", "1 invalid lines", "1 requests", "run(s)"):
        # Not after a digit: a rate of "71 IDs/s" is not a count of one.
        assert not re.search(r"(?<!\d)" + re.escape(wrong), plan + err + status), wrong
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


def test_ids_repeated_across_the_file_are_counted_exactly_in_the_plan_report_and_summary(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """2,000 distinct IDs with 321 planted repeats spread over the whole file (so most fall
    in other batches than their first): the dry run, the report's ``ids_duplicate`` and
    the summary all say 321 (and 2,000 distinct), and each occurrence is still counted as
    handled. The report agrees with the server: ``ids_distinct`` IDs were acknowledged, and
    a repeat inside its batch took no place in the request, one in another batch did."""
    ids = make_ids(2_000)
    rng = random.Random(11)
    lines = ids + [rng.choice(ids[:300]) for _ in range(321)]
    rng.shuffle(lines)
    source = write_ids(tmp_path / "ids.txt", lines)
    code, out, plan = cli(capsys, "delete", str(source), "--id-type", "guid", "--dry-run",
                           "--no-preflight")
    assert code == 0, plan
    assert "2,321 valid (321 of them repeats of an earlier ID: 2,000 distinct)" in out + plan
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    report = report_of(source)
    assert report["ids_duplicate"] == 321
    assert report["ids_total"] == report["ids_deleted"] == 2_321
    assert report["ids_distinct"] == len(server.stats.acknowledged) == 2_000
    sent_once_per_batch = sum(len(set(lines[at:at + 100])) for at in range(0, len(lines), 100))
    assert sent_once_per_batch < len(lines)  # some repeats did share a batch
    assert sum(server.stats.acknowledged.values()) == sent_once_per_batch
    assert "of 2,321 IDs (321 of them repeats of an earlier ID: 2,000 distinct)" in err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


def test_two_exports_joined_do_not_send_the_second_ones_byte_order_mark(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two UTF-8 exports joined with cat: the second's byte-order mark lands before its
    first ID, mid-file. That line is invalid (the ID with an invisible U+FEFF would be
    accepted by the server as an unknown ID, and its profile left in place), never sent."""
    first, second = make_ids(30, "a"), make_ids(30, "b")
    bom = b"\xef\xbb\xbf"
    source = tmp_path / "joined.txt"
    source.write_bytes(b"".join(bom + "".join(f"{i}\r\n" for i in ids).encode()
                                for ids in (first, second)))
    code, _, err = cli(capsys, *delete_args(source))
    assert code == 0, err
    assert set(server.stats.received) == set(first + second[1:])
    assert "59 deleted, 0 failed, 1 invalid line, of 59 IDs" in err
    listed = json.loads((ckpt_dir(source) / "invalid.jsonl").read_text())
    assert (listed["line"], listed["reason"]) == (31, "whitespace other than a space")
