"""``--encoding`` end to end (docs/cli.md): a Windows-1252 CSV export with ``josé@…`` is
refused nothing but read wrongly without it (the plan names the option), deleted as its
text with it, and the encoding binds the checkpoint as the format does. Real subprocesses
against the fake server over loopback; the nothing-lost check against its record."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import (
    ServerFactory,
    assert_nothing_lost,
    cli_run,
    delete_argv,
)
from tests.e2e.support import ckpt_dir, one_error_line

IDS = ["josé@example.com", "zoë@example.com", "ann@example.com", "bob@example.com"]


def _export(path: Path) -> Path:
    rows = ["name;email"] + [f"Name {n};{ident}" for n, ident in enumerate(IDS)]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    return path


async def test_a_cp1252_export_is_deleted_as_its_text_with_encoding(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    source = _export(tmp_path / "export.csv")
    argv = delete_argv(source, "--column", "email")
    async with fake_server() as server:
        code, output = await cli_run([*argv, "--dry-run", "--no-preflight"], server.base_url)
        assert code == 0, output
        assert "not valid UTF-8" in output
        assert "pass --encoding, e.g. --encoding cp1252" in output

        code, output = await cli_run([*argv, "--encoding", "cp1252", "--limit", "1"],
                                     server.base_url)
        assert code == 0, output
        code, output = await cli_run([*argv, "--encoding", "latin-1"], server.base_url)
        assert code == 2, output
        one_error_line(output, "--encoding: checkpoint has 'cp1252', this run has 'iso8859-1'")
        assert set(server.stats.acknowledged) == {IDS[0]}

        code, output = await cli_run([*argv, "--encoding", "windows-1252"], server.base_url)
        assert code == 0, output  # the same codec, spelt otherwise: the same job
        assert set(server.stats.acknowledged) == set(IDS)
        assert_nothing_lost(IDS, server, ckpt_dir(source) / "failed.txt")
