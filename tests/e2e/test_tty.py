"""What an operator sees (docs/cli.md: confirmation, progress): the CLI on a pseudo-terminal
through pexpect, and off a terminal through pipes.

pexpect blocks the test's thread, so the fake server runs on its own loop in a background
thread (:func:`tests.e2e.support.serve_in_thread`). Every run that sends anything ends with the
nothing-lost check against the server's record (docs/guarantees.md §1).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer
from bulkdelete.settings import Settings
from tests.conftest import (
    ACCOUNT,
    CLI,
    answer_at_once,
    assert_nothing_lost,
    cli_env,
    delete_args,
    make_ids,
    write_ids,
)
from tests.e2e.support import serve_in_thread
from tests.e2e.terminal import TERMINAL_MARKS, Terminal, failed_file

pytestmark = TERMINAL_MARKS

# --------------------------------------------------------------------------- confirmation


def test_confirmation_shows_the_plan_and_a_wrong_answer_sends_nothing(tmp_path: Path) -> None:
    """Without --yes on a terminal the plan is shown — account, host, ID type, ID count —
    and the operator must type the account ID; anything else exits 2 having sent
    nothing."""
    source = write_ids(tmp_path / "ids.txt", make_ids(3_000))
    with serve_in_thread() as server:
        term = Terminal(delete_args(source, unattended=False), server.base_url, tmp_path)
        try:
            term.expect("Type the account ID")
            term.expect("to proceed: ")
            shown = term.text
            assert f"account {ACCOUNT} at {server.base_url.split('//')[1]}" in shown
            assert "id type:    guid" in shown
            assert "3,000 valid" in shown
            term.child.sendline("TEST-ACCOUN")  # close is not enough
            code = term.finish()
        finally:
            term.kill()
        assert code == 2, term.text
        assert "not confirmed; nothing was sent" in term.text
        assert "Traceback" not in term.text
        assert server.stats.requests == 0


@pytest.mark.parametrize("answer", [ACCOUNT, "yes"])
def test_typing_the_account_id_or_yes_proceeds(answer: str, tmp_path: Path) -> None:
    """Typing the account ID (or ``yes``) at the prompt starts the deletion, which runs
    to completion (exit 0) and loses nothing."""
    ids = make_ids(2_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(latency=0.005) as server:
        term = Terminal(delete_args(source, unattended=False), server.base_url, tmp_path)
        try:
            term.expect("to proceed: ")
            assert server.stats.requests == 0  # nothing before the answer
            term.child.sendline(answer)
            code = term.finish()
        finally:
            term.kill()
        assert code == 0, term.text
        assert "job complete: 2,000 deleted, 0 failed" in term.text
        assert_nothing_lost(ids, server, failed_file(source))


def test_ctrl_c_at_the_prompt_leaves_at_once_and_sends_nothing(tmp_path: Path) -> None:
    """Ctrl-C while the confirmation waits is a "no": the process ends within seconds
    (exit 130, or 2 as a refusal) without sending anything."""
    source = write_ids(tmp_path / "ids.txt", make_ids(500))
    with serve_in_thread() as server:
        term = Terminal(delete_args(source, unattended=False), server.base_url, tmp_path)
        try:
            term.expect("to proceed: ")
            term.child.sendintr()
            code = term.finish(timeout=3)
        finally:
            term.kill()
        assert code in (2, 130), term.text
        assert server.stats.requests == 0


# --------------------------------------------------------------------------- progress


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal a live bar shows "deleting", IDs done/total, IDs/s and the in-flight
    count while the run goes on; the run then completes."""
    ids = make_ids(3_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(latency=0.05) as server:
        term = Terminal(delete_args(source, "--yes", unattended=False), server.base_url, tmp_path)
        try:
            term.expect("deleting")
            code = term.finish()
        finally:
            term.kill()
        assert code == 0, term.text
        shown = term.text
        assert re.search(r"deleting .*[\d,]+/3,000 .*IDs/s", shown), shown
        assert re.search(r"in flight \d+/3 \(max 3\)", shown), shown
        assert "429s 0" in shown
        assert "3,000/3,000" in shown
        assert_nothing_lost(ids, server, failed_file(source))


def test_under_the_bar_a_log_file_still_gets_the_progress_events(tmp_path: Path) -> None:
    """A pipeline reading --log-file has no screen: while the terminal shows the bar, the
    file gets the periodic progress events that the screen does not."""
    ids = make_ids(3_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    log = tmp_path / "run.log"
    with serve_in_thread(latency=0.05) as server:
        term = Terminal(delete_args(source, "--yes", "--log-file", str(log), unattended=False),
                        server.base_url, tmp_path, BULKDELETE_PROGRESS_INTERVAL="0.05")
        try:
            term.expect("deleting")
            code = term.finish()
        finally:
            term.kill()
        assert code == 0, term.text
        assert_nothing_lost(ids, server, failed_file(source))
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert not [r for r in records if "_file_only" in r]
    # The baseline's lookups report their progress too (stage "baseline"); the delete's:
    progress = [r for r in records if r["event"] == "progress" and "stage" not in r]
    assert progress, [(r["event"], r.get("stage")) for r in records]
    assert all(r["total"] == 3_000 for r in progress)
    assert "progress" not in re.sub(r"deleting .*", "", term.text)  # not on the screen


@pytest.mark.parametrize("flag", ["--no-progress", "-q"])
def test_no_progress_and_quiet_show_no_bar(flag: str, tmp_path: Path) -> None:
    """``--no-progress`` and ``-q`` draw no bar on a terminal; ``-q`` also drops the info
    events, but both still print the final summary."""
    ids = make_ids(2_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(latency=0.02) as server:
        args = delete_args(source, "--yes", flag, unattended=False)
        term = Terminal(args, server.base_url, tmp_path)
        try:
            code = term.finish()
        finally:
            term.kill()
        assert code == 0, term.text
        shown = term.text
        assert "deleting" not in shown
        assert "in flight" not in shown
        assert "━" not in shown
        assert "job complete: 2,000 deleted, 0 failed" in shown
        if flag == "-q":
            assert "[info" not in shown
            assert "counting_input" not in shown
        else:
            assert "start" in shown
            assert "run_id=" in shown
        assert_nothing_lost(ids, server, failed_file(source))


@pytest.mark.parametrize("flag", [None, "--no-progress"])
def test_off_a_terminal_progress_is_logged_periodically(flag: str | None, tmp_path: Path) -> None:
    """With pipes instead of a terminal there is no bar but a structured ``progress``
    event (done, total, rate, in flight) every BULKDELETE_PROGRESS_INTERVAL seconds;
    ``--no-progress`` silences it."""
    ids = make_ids(3_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    extra = ["--yes", "--log-format", "json", *([flag] if flag else [])]
    with serve_in_thread(latency=0.05) as server:
        proc = subprocess.run(
            [*CLI, *delete_args(source, *extra, unattended=False)],
            env=cli_env(server.base_url, BULKDELETE_PROGRESS_INTERVAL="0.1"),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert_nothing_lost(ids, server, failed_file(source))
    assert "━" not in proc.stderr
    assert "in flight" not in proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert any(event["event"] == "start" for event in events)
    progress = [event for event in events if event["event"] == "progress"]
    if flag == "--no-progress":
        assert progress == []
        return
    # The baseline's lookups come first, logged as its own stage; then the deletes'.
    looked = [event for event in progress if event.get("stage") == "baseline"]
    assert looked, proc.stderr
    assert progress[:len(looked)] == looked, proc.stderr
    assert all(event["total"] == Settings.baseline for event in looked)
    progress = progress[len(looked):]
    assert len(progress) >= 2, proc.stderr
    assert {"done", "total", "ids_per_s", "eta_s", "in_flight", "concurrency",
            "throttled", "failed"} <= set(progress[0])
    assert all(event["total"] == 3_000 for event in progress)
    done = [event["done"] for event in progress]
    assert done == sorted(done)
    assert done[-1] <= 3_000
    assert all(event.get("run_id") for event in progress)


# --------------------------------------------------------------------------- Ctrl-C


def _resent(server: FakeServer) -> int:
    return sum(count - 1 for count in server.stats.acknowledged.values() if count > 1)


def test_ctrl_c_on_a_terminal_stops_with_130_and_a_rerun_completes(tmp_path: Path) -> None:
    """Ctrl-C during the bar: requests in flight finish, exit 130, the resume command
    (without --restart) is printed; running it completes the job, re-sending at most one
    batch per in-flight slot."""
    ids = make_ids(15_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    args = delete_args(source, "--yes", "--restart", unattended=False)
    with serve_in_thread(latency=0.05) as server:
        term = Terminal(args, server.base_url, tmp_path)
        try:
            term.expect(r"deleting[^\n]*in flight \d")  # the deletes' bar, after the baseline's
            term.child.sendintr()
            code = term.finish()
        finally:
            term.kill()
        shown = term.text
        assert code == 130, shown
        assert "SIGINT received" in shown
        assert "Resume with:" in shown
        resume = shown.split("Resume with:")[1].strip().splitlines()[0].strip()
        assert resume.startswith(f"bulkdelete delete {source} --id-type guid")
        assert "--restart" not in resume
        assert len(server.stats.acknowledged) < len(ids), "stopped too late to prove anything"

        answer_at_once(server)  # the rerun's pace proves nothing here
        again = Terminal(shlex.split(resume)[1:], server.base_url, tmp_path)
        try:
            code = again.finish()
        finally:
            again.kill()
        assert code == 0, again.text
        assert "job complete: 15,000 deleted, 0 failed" in again.text
        assert _resent(server) <= 3 * 100
        assert_nothing_lost(ids, server, failed_file(source))


# --------------------------------------------------------------------------- nothing before yes


@pytest.mark.parametrize("answer", ["no", "ctrl-c"])
def test_a_refused_confirmation_leaves_no_checkpoint(answer: str, tmp_path: Path) -> None:
    """The confirmation says the preflight accepted the credentials. A "no" at the
    prompt, or Ctrl-C there, deletes nothing and writes nothing: no
    checkpoint folder, so the next plan is a new job, not a resume. Ctrl-C at the prompt
    says nothing about requests in flight: there are none."""
    source = write_ids(tmp_path / "ids.txt", make_ids(500))
    with serve_in_thread() as server:
        term = Terminal(delete_args(source, unattended=False), server.base_url, tmp_path)
        try:
            term.expect("to proceed: ")
            host = server.base_url.split("//")[1]
            assert f"preflight:  credentials accepted by {host}" in term.text
            # The random identity, a guid job's random objectId (its calibration), and the
            # baseline's sample, all read-only and before the question.
            assert server.stats.profile_requests == 2 + Settings.baseline
            assert f"baseline:   {Settings.baseline} of {Settings.baseline} sampled IDs exist" \
                in term.text
            assert "calibration: not found looks like" in term.text
            if answer == "no":
                term.child.sendline("no")
            else:
                term.child.sendintr()
            code = term.finish(timeout=10)
        finally:
            term.kill()
        assert code == 2, term.text
        assert server.stats.requests == 0
        assert not source.with_name("ids.txt.bulkdelete").exists()
        assert "nothing was sent" in term.text
        assert "finishing requests in flight" not in term.text
        assert "Traceback" not in term.text

        again = Terminal(delete_args(source, unattended=False), server.base_url, tmp_path)
        try:
            again.expect("to proceed: ")
            assert "(new job)" in again.text
            assert "(resume)" not in again.text
            again.child.sendline("no")
            again.finish(timeout=10)
        finally:
            again.kill()


@pytest.mark.parametrize("first_done", [False, True])
def test_two_runs_racing_to_create_one_job_never_share_it(
    first_done: bool, tmp_path: Path
) -> None:
    """Two runs of a new job both wait at the prompt (neither has written anything); the
    first says yes. The second's yes, while the first runs or after it finished, is refused
    (exit 2) and sends nothing; the first's job is whole."""
    ids = make_ids(15_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    with serve_in_thread(latency=0.05) as server:
        first = Terminal(delete_args(source, unattended=False), server.base_url, tmp_path)
        second = Terminal(delete_args(source, unattended=False), server.base_url, tmp_path)
        try:
            first.expect("to proceed: ")
            second.expect("to proceed: ")
            if first_done:
                answer_at_once(server)  # the first's run itself proves nothing here
                first.child.sendline("yes")
                assert first.finish() == 0, first.text
            else:
                first.child.sendline("yes")
                first.expect(r"in flight \d")
            sent = server.stats.requests
            second.child.sendline("yes")
            assert second.finish() == 2, second.text
            assert ("locked by another run" if not first_done else "created by another run") \
                in second.text
            if not first_done:
                answer_at_once(server)
                assert first.finish() == 0, first.text
        finally:
            first.kill()
            second.kill()
        assert first_done is False or server.stats.requests == sent
        assert "job complete: 15,000 deleted, 0 failed" in first.text
        assert_nothing_lost(ids, server, failed_file(source))
