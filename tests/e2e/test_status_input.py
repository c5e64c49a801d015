"""``bulkdelete status`` given the input file reads the default checkpoint beside it
(docs/cli.md, ``status``); real CLI subprocesses against the shipped fake server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import (
    CLI,
    ServerFactory,
    cli_env,
    cli_run,
    delete_argv,
    make_ids,
    write_ids,
)
from tests.e2e.support import run_subprocess


async def test_status_of_the_input_file_finds_its_default_checkpoint(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """After a canary, ``status ids.txt`` prints the progress kept in
    ``ids.txt.bulkdelete/`` (and ``--json`` the report), exactly as ``status`` of the folder
    does."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        code, output = await cli_run(delete_argv(source, "--limit", "300"), server.base_url)
        assert code == 0, output
    folder = tmp_path / "ids.txt.bulkdelete"

    code, out, err = await run_subprocess([*CLI, "status", str(source)], cli_env())
    assert code == 0, err
    assert f"checkpoint: {folder}" in out
    assert "300 of 1,000 IDs handled" in out
    by_folder = await run_subprocess([*CLI, "status", str(folder)], cli_env())
    assert by_folder[1] == out

    code, out, err = await run_subprocess([*CLI, "status", "--json", "ids.txt"], cli_env(),
                                          cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)["ids_deleted"] == 300


async def test_status_of_an_input_without_a_checkpoint_names_both_places(
    tmp_path: Path,
) -> None:
    """No checkpoint at the path nor beside it: exit 2, one line naming both, nothing
    created."""
    source = write_ids(tmp_path / "ids.txt", make_ids(10))
    code, out, err = await run_subprocess([*CLI, "status", str(source)], cli_env())
    assert code == 2, (out, err)
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1, err
    assert str(source) in errors[0]
    assert str(tmp_path / "ids.txt.bulkdelete") in errors[0]
    assert not (tmp_path / "ids.txt.bulkdelete").exists()
