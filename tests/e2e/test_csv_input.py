"""CSV input end to end (docs/guarantees.md §0 and §7): only the chosen column's values of the
records the csv module reads are ever sent; an Excel export is read by its own delimiter,
never whole-row; a file of bare IDs is refused rather than losing its first ID to a header.
Each refusal sends nothing and writes no checkpoint folder; each run that sends ends with
the nothing-lost check (docs/guarantees.md §1)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer
from tests.conftest import assert_nothing_lost, delete_args, make_ids, write_ids
from tests.e2e.support import assert_one_error_line, ckpt_dir, cli

pytestmark = pytest.mark.usefixtures("reset_logging")


def _identity_args(source: Path, *extra: str) -> list[str]:
    args = delete_args(source, *extra)
    args[args.index("guid")] = "identity"
    return args


def _refused(server: FakeServer, source: Path) -> None:
    """Nothing sent, nothing written."""
    assert server.stats.requests == 0
    assert not server.stats.acknowledged
    assert not ckpt_dir(source).exists()


def test_a_bad_quote_never_sends_the_lines_of_a_still_open_quoted_field(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad quote, then a quoted field that opens on the same line and spans the next
    ones: the lines inside that field are never read as records. Only IDs the csv module
    itself reads from the email column are acknowledged; the bad record is an invalid line."""
    data = (b"email,note,body\r\n"
            b"bob@example.com,x,y\r\n"
            b'alice@example.com,"VIP "gold" tier","Forwarded message\r\n'
            b"victim@example.com,foo,bar\r\n"
            b'end of forwarded text"\r\n'
            b"carol@example.com,a,b\r\n")
    source = tmp_path / "ids.csv"
    source.write_bytes(data)
    parsed = list(csv.reader(io.StringIO(data.decode(), newline="")))
    readable = {row[0] for row in parsed[1:]}
    assert readable == {"bob@example.com", "alice@example.com", "carol@example.com"}
    code, _, err = cli(capsys, *_identity_args(source, "--column", "email"))
    assert code == 0, err
    acked = set(server.stats.acknowledged)
    assert acked == {"bob@example.com", "carol@example.com"}
    assert acked <= readable
    assert "2 deleted, 0 failed, 1 invalid line, of 2 IDs" in err
    assert_nothing_lost(["bob@example.com", "carol@example.com"], server,
                        ckpt_dir(source) / "failed.txt")
    text = (ckpt_dir(source) / "invalid.jsonl").read_text()
    invalid = [json.loads(line) for line in text.splitlines()]
    assert [(i["line"], i["reason"]) for i in invalid] == [(3, "malformed CSV")]


def _excel_export(path: Path, count: int) -> list[list[str]]:
    """What Excel saves as "CSV" in much of Europe: a BOM, CRLF, fields separated by ';'."""
    rows = [[f"u{n}", f"xl{n}@example.com", "06.12.2026"] for n in range(count)]
    lines = ["user_id;email;created_at", *(";".join(row) for row in rows)]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    return rows


def test_an_excel_export_is_read_by_its_sniffed_delimiter(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ';' is sniffed from the header: the email column's values are exactly what the
    server acknowledges, and the plan names the column and the delimiter."""
    source = tmp_path / "excel.csv"
    rows = _excel_export(source, 301)
    code, out, err = cli(capsys, *_identity_args(source, "--column", "email", "--dry-run",
                                                 "--no-preflight"))
    assert code == 0, err
    assert "(csv, column 'email', ';' (semicolon)-separated)" in out + err
    code, _, err = cli(capsys, *_identity_args(source, "--column", "email"))
    assert code == 0, err
    emails = [row[1] for row in rows]
    assert set(server.stats.acknowledged) == set(emails)
    assert "301 deleted, 0 failed, 0 invalid lines, of 301 IDs" in err
    assert_nothing_lost(emails, server, ckpt_dir(source) / "failed.txt")


def test_a_header_holding_two_candidate_delimiters_is_refused(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ';' file whose header also holds a ',' could be read either way: refused, naming
    --delimiter, nothing sent or written. With --delimiter it runs, by that delimiter."""
    source = tmp_path / "excel.csv"
    source.write_bytes(b"user_id;email;created, at\r\nu1;a@example.com;x\r\n")
    code, out, err = cli(capsys, *_identity_args(source, "--column", "email"))
    assert_one_error_line(code, out, err, "--delimiter", "header")
    _refused(server, source)
    code, _, err = cli(capsys, *_identity_args(source, "--column", "email",
                                               "--delimiter", ";"))
    assert code == 0, err
    assert set(server.stats.acknowledged) == {"a@example.com"}
    assert_nothing_lost(["a@example.com"], server, ckpt_dir(source) / "failed.txt")


def test_the_whole_row_is_never_sent_as_an_identity(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's run: no --column, --id-type identity. Read as ',', the header would be
    one column and every row one "identity". Sniffed as ';', the header has three columns
    and none is named identity: refused, the message listing them; nothing sent."""
    source = tmp_path / "excel.csv"
    _excel_export(source, 301)
    code, out, err = cli(capsys, *_identity_args(source))
    assert_one_error_line(code, out, err, "user_id, email, created_at", "--column")
    _refused(server, source)


def test_a_resume_with_another_delimiter_is_refused(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The delimiter shapes the batches, so the checkpoint is bound to it: a canary, then
    a rerun reading the file by another delimiter is refused like another column; the same
    delimiter given explicitly resumes."""
    source = tmp_path / "ids.csv"
    ids = make_ids(250)
    source.write_text("guid|note\n" + "".join(f"{i}|n,;\n" for i in ids))
    code, _, err = cli(capsys, *delete_args(source, "--delimiter", "|", "--limit", "100",
                                            "--batch-size", "50"))
    assert code == 0, err
    sent = server.stats.requests
    code, out, err = cli(capsys, *delete_args(source, "--delimiter", ";",
                                              "--batch-size", "50", "--column", "guid|note"))
    assert_one_error_line(code, out, err, "CSV delimiter", "'|'", "';'")
    assert server.stats.requests == sent
    code, _, err = cli(capsys, *delete_args(source, "--delimiter", "pipe",
                                            "--batch-size", "50"))
    assert code == 0, err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")


def test_a_headerless_one_column_csv_is_refused_not_short_of_its_first_id(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """500 bare IDs saved as .csv: the first would be taken for the header and never
    deleted. Refused under --yes, saying how to proceed, without the ID itself; nothing
    sent or written. As --format lines every ID is deleted; --column naming the header says
    it is one, and the rest are deleted."""
    ids = make_ids(500)
    source = write_ids(tmp_path / "ids.csv", ids)
    code, out, err = cli(capsys, *delete_args(source))
    line = assert_one_error_line(code, out, err, "--format lines", "--column")
    assert ids[0] not in out + err
    assert "header" in line
    _refused(server, source)
    code, _, err = cli(capsys, *delete_args(source, "--format", "lines"))
    assert code == 0, err
    assert "500 deleted, 0 failed, 0 invalid lines, of 500 IDs" in err
    assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
    named = write_ids(tmp_path / "named.csv", ids)  # deleted above: every one absent now
    code, _, err = cli(capsys, *delete_args(named, "--column", ids[0], "--allow-absent"))
    assert code == 0, err
    assert "of 499 IDs" in err


def test_column_is_refused_for_one_id_per_line(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """--column would be silently ignored for plain lines: refused as a usage error."""
    source = write_ids(tmp_path / "ids.txt", make_ids(5))
    code, out, err = cli(capsys, *delete_args(source, "--column", "email"))
    assert_one_error_line(code, out, err, "--column", "--format")
    _refused(server, source)
    code, out, err = cli(capsys, *delete_args(source, "--delimiter", ";"))
    assert_one_error_line(code, out, err, "--delimiter", "CSV")
    _refused(server, source)


def test_the_id_column_named_twice_is_refused(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two columns named like the ID column: which holds the IDs is not clear, refused."""
    source = tmp_path / "ids.csv"
    source.write_text("guid,name,GUID\nid-1,Ann,victim-1\n")
    code, out, err = cli(capsys, *delete_args(source))
    assert_one_error_line(code, out, err, "more than once", "columns 1 and 3")
    _refused(server, source)


def test_rows_separated_by_a_delimiter_the_one_column_header_lacks_are_not_sent_whole(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A one-column header says nothing of the delimiter (read as ','); rows separated by
    ';' under it would each be sent whole as one identity. Such a row is an invalid line
    naming --delimiter, never sent; with --delimiter ';' the e-mail column is read."""
    emails = [f"xl{n}@example.com" for n in range(20)]
    plain = [f"ok{n}@example.com" for n in range(5)]
    lines = ["email", *plain, *(f"{email};Name {n};06.12.2026" for n, email in
                                enumerate(emails))]
    source = tmp_path / "excel.csv"
    source.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    code, _, err = cli(capsys, *_identity_args(source))
    assert code == 0, err
    assert set(server.stats.received) == set(plain)
    assert "5 deleted, 0 failed, 20 invalid lines, of 5 IDs" in err
    assert "--delimiter" in err
    invalid = (ckpt_dir(source) / "invalid.jsonl").read_text().splitlines()
    assert [json.loads(line)["line"] for line in invalid] == list(range(7, 27))
    again = tmp_path / "again.csv"
    again.write_bytes(source.read_bytes())
    code, _, err = cli(capsys, *_identity_args(again, "--delimiter", ";"))
    assert code == 0, err
    assert set(server.stats.acknowledged) == set(plain + emails)
    assert "25 deleted, 0 failed, 0 invalid lines, of 25 IDs" in err


@pytest.mark.parametrize(("name", "content"), [
    ("export.txt", "email,name\n" + "".join(f"a{n}@example.com,Ann {n}\n" for n in range(9))),
    ("export.dat", "email;name\n" + "".join(f"a{n}@example.com;Ann {n}\n" for n in range(9))),
    ("export.json", "".join(f'{{"identity": "a{n}@example.com"}}\n' for n in range(9))),
])
def test_a_csv_or_json_file_named_otherwise_is_not_sent_line_by_line(
    tmp_path: Path, server: FakeServer, capsys: pytest.CaptureFixture[str], name: str,
    content: str,
) -> None:
    """--format auto reads a name not ending in .csv/.jsonl as one ID per line: a CSV saved
    as .txt would send its header and every whole row as IDs, a JSON file every object.
    When the first line holds a delimiter or opens a JSON value, the guess is refused,
    naming --format; nothing sent or written. Said explicitly, --format lines reads it."""
    source = tmp_path / name
    source.write_text(content)
    code, out, err = cli(capsys, *_identity_args(source))
    assert_one_error_line(code, out, err, "--format csv", "--format lines")
    _refused(server, source)
    code, _, err = cli(capsys, *_identity_args(source, "--format", "lines"))
    assert code == 0, err
    assert len(server.stats.acknowledged) == len(content.splitlines())
