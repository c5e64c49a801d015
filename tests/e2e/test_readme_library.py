"""The README's library snippet runs as written (docs: README "Library use"), against the
fake server through the environment it reads, and its log events go to stderr in the
tool's one timestamp format, leaving stdout to the program."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bulkdelete.fake import FakeServer
from tests.conftest import assert_nothing_lost, cli_env, make_ids, write_ids
from tests.e2e.support import run_subprocess

README = Path(__file__).resolve().parents[2] / "README.md"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def library_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("```python\n", text.index("## Library use")) + len("```python\n")
    return text[start:text.index("\n```", start)]


async def test_the_readme_library_snippet_runs_as_written(
    tmp_path: Path, server: FakeServer,
) -> None:
    ids = make_ids(250)
    write_ids(tmp_path / "ids.txt", ids)
    (tmp_path / "snippet.py").write_text(library_snippet(), encoding="utf-8")
    code, out, err = await run_subprocess([sys.executable, "snippet.py"],
                                          cli_env(server.base_url), cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines() == ["250 deleted; exit code 0", "2 deleted"]
    assert_nothing_lost([*ids, "id-1", "id-2"], server, tmp_path / "ids.txt.bulkdelete" /
                        "failed.txt")
    events = err.splitlines()
    assert any(" start " in line for line in events), err
    assert all(STAMP.match(line) for line in events), err
