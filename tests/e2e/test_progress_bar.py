"""The progress bar on a terminal (docs/cli.md): verify's "checking" bar, and the bar's
counts — for the whole job, with thousands separators, a last frame that shows what was
handled, and a line ended after a second Ctrl-C. Every run that sends anything ends with the
nothing-lost check against the fake server's record (docs/guarantees.md §1).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path

from tests.conftest import CLI, assert_nothing_lost, cli_env, delete_args, make_ids, write_ids
from tests.e2e.support import serve_in_thread
from tests.e2e.terminal import TERMINAL_MARKS, Terminal, failed_file

pytestmark = TERMINAL_MARKS


def test_verify_all_shows_a_checking_bar_on_a_terminal(tmp_path: Path) -> None:
    """verify --all draws the same bar, labelled "checking", over the job's deleted IDs,
    then its summary line."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread() as server:
        done = subprocess.run([*CLI, *delete_args(source)],
                              env=cli_env(server.base_url), capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
        server.reconfigure(dataclasses.replace(server.config, latency=0.004))
        term = Terminal(["verify", str(source), "--id-type", "guid", "--all"],
                        server.base_url, tmp_path)
        try:
            term.expect("checking")
            code = term.finish()
        finally:
            term.kill()
    shown = term.text
    assert code == 0, shown
    assert re.search(r"checking .*[\d,]+/1,000 .*IDs/s", shown), shown
    assert "1,000 of 1,000 deleted IDs checked: 1,000 gone, 0 present, 0 unknown" in shown


# --------------------------------------------------------------------------- the bar's counts

FRAME = re.compile(r"deleting\b.*?([\d,]+)/([\d,]+) .*?429s ([\d,]+) · failed ([\d,]+)")


def last_frame(shown: str) -> tuple[str, str, int, int]:
    """The bar as last drawn: done, total (as shown), 429s and failures."""
    frames = FRAME.findall(shown)
    assert frames, shown
    done, total, throttled, failed = frames[-1]
    return done, total, int(throttled.replace(",", "")), int(failed.replace(",", ""))


def test_the_bar_counts_the_whole_job_with_thousands_separators(tmp_path: Path) -> None:
    """A resumed job on a terminal: the bar's 429s and failures are the job's (earlier
    runs plus this one), like done/total and the summary, and its numbers have thousands
    separators; its last frame agrees with the report."""
    ids = make_ids(12_000)
    poison = frozenset({ids[10], ids[1_234], ids[7_000]})
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(latency=0.005, concurrency_limit=1, poison_ids=poison) as server:
        canary = subprocess.run(
            [*CLI, *delete_args(source, "--limit", "2000")],
            env=cli_env(server.base_url), stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=60, check=False)
        assert canary.returncode == 1, canary.stderr
        before = json.loads((failed_file(source).parent / "report.json").read_text())
        assert before["throttled"] > 0, before
        assert before["ids_failed"] == 2, before
        term = Terminal(delete_args(source, "--yes", unattended=False), server.base_url, tmp_path)
        try:
            code = term.finish()
        finally:
            term.kill()
        assert code == 1, term.text
        assert assert_nothing_lost(ids, server, failed_file(source)) == poison
    report = json.loads((failed_file(source).parent / "report.json").read_text())
    assert last_frame(term.text) == ("12,000", "12,000", report["throttled"],
                                     report["ids_failed"])


def test_a_canarys_last_frame_shows_what_it_handled(tmp_path: Path) -> None:
    """``--limit 1000`` of 5,000 IDs on a terminal: the last frame of the bar reads
    1,000/5,000, what the run handled."""
    ids = make_ids(5_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(latency=0.01) as server:
        args = delete_args(source, "--yes", "--limit", "1000", unattended=False)
        term = Terminal(args, server.base_url, tmp_path)
        try:
            code = term.finish()
        finally:
            term.kill()
        assert code == 0, term.text
        assert assert_nothing_lost(ids[:1_000], server, failed_file(source)) == set()
    assert last_frame(term.text)[:2] == ("1,000", "5,000")


def test_a_second_ctrl_c_leaves_the_bars_line_ended(tmp_path: Path) -> None:
    """Ctrl-C twice during the bar: exit 130 at once, and the terminal is left clean —
    the bar's line ended, the last line the message, the cursor shown again — so the
    shell's prompt starts on its own line (no ``failed 0rc=130``)."""
    ids = make_ids(60_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(latency=0.2) as server:
        term = Terminal(delete_args(source, "--yes", unattended=False), server.base_url, tmp_path)
        try:
            term.expect(r"deleting[^\n]*in flight \d")  # the deletes' bar, after the baseline's
            term.child.sendintr()
            term.expect("SIGINT received")
            term.child.sendintr()
            code = term.finish()
        finally:
            term.kill()
        assert code == 130, term.text
    raw = term.log.getvalue()
    assert raw.rfind("\x1b[?25h") > raw.rfind("\x1b[?25l"), "cursor left hidden"
    shown = term.text
    assert shown.endswith("\n"), repr(shown[-200:])
    last = [line.split("\r")[-1] for line in shown.splitlines() if line.strip("\r ")][-1]
    assert "second interrupt" in last, repr(shown[-400:])
