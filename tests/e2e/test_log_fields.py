"""What a log pipeline needs in each event (docs/cli.md, "Logs"): every event of a run
carries the version, the command and the process; ``start`` and ``resume`` carry the
audit pair when given, and ``resume`` the account, host and input, and where sending
resumes (the first line not done, not the checkpoint's anchor). Real CLI subprocesses
against the fake server; each run that sends ends with the nothing-lost check."""

from __future__ import annotations

import json
from pathlib import Path

from bulkdelete import __version__
from tests.conftest import (
    ACCOUNT,
    CLI,
    ServerFactory,
    assert_nothing_lost,
    cli_env,
    delete_args,
    make_ids,
    write_ids,
)
from tests.e2e.support import ckpt_dir, run_subprocess
from tests.e2e.test_logs import json_args, json_records, one_run_id


async def test_start_and_resume_say_who_what_where_and_every_event_says_which_process(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    audit = ["--requester", "dpo@example.com", "--ticket", "GDPR-7"]
    async with fake_server() as srv:
        # 250 of batches of 100: the third batch is cut, so the anchor (batch 1, line 101)
        # is not where sending resumes (batch 2, line 201).
        code, _, first = await run_subprocess(json_args(source, "--limit", "250", *audit),
                                              cli_env(srv.base_url))
        assert code == 0, first
        code, _, second = await run_subprocess(json_args(source), cli_env(srv.base_url))
        assert code == 0, second
        assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
        host = srv.base_url.removeprefix("http://")
    for stderr in (first, second):
        records = json_records(stderr)
        one_run_id(records)
        assert {(r.get("version"), r.get("command")) for r in records} == {(__version__, "delete")}
        assert len({r.get("pid") for r in records}) == 1
        assert all(isinstance(r.get("pid"), int) for r in records)
    start = next(r for r in json_records(first) if r["event"] == "start")
    assert (start["requester"], start["ticket"]) == ("dpo@example.com", "GDPR-7")
    resume = next(r for r in json_records(second) if r["event"] == "resume")
    assert (resume["account_id"], resume["host"], resume["input"]) == (ACCOUNT, host,
                                                                     str(source))
    assert "requester" not in resume  # not given to this run
    assert (resume["line"], resume["watermark"]) == (201, 2)
    assert resume["offset"] == len("".join(f"{i}\n" for i in ids[:200]).encode())


async def test_the_console_leaves_the_pipeline_fields_to_the_log_file(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """People on a console are not shown version, command and pid on every line; the log
    file, read by pipelines, has them on every record."""
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    log = tmp_path / "run.log"
    async with fake_server() as srv:
        code, _, err = await run_subprocess(
            [*CLI, *delete_args(source, "--log-file", str(log))], cli_env(srv.base_url))
        assert code == 0, err
        assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
    assert "start" in err
    assert not any(word in err for word in ("pid=", "version=", "command=delete"))
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records
    assert all(r["command"] == "delete" and r["version"] == __version__ and r["pid"]
               for r in records)


async def test_a_verify_says_which_job_and_target_it_checks(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(300)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as srv:
        code, _, err = await run_subprocess(json_args(source), cli_env(srv.base_url))
        assert code == 0, err
        assert_nothing_lost(ids, srv, ckpt_dir(source) / "failed.txt")
        code, _, err = await run_subprocess(
            [*CLI, "verify", str(source), "--id-type", "guid", "--log-format", "json",
             "--sample", "50"], cli_env(srv.base_url))
        assert code == 0, err
        host = srv.base_url.removeprefix("http://")
    records = json_records(err)
    one_run_id(records)
    assert {r.get("command") for r in records} == {"verify"}
    begun = next(r for r in records if r["event"] == "verify_start")
    assert (begun["input"], begun["account_id"], begun["host"]) == (str(source), ACCOUNT, host)
    assert (begun["sample"], begun["population"]) == (50, 300)
