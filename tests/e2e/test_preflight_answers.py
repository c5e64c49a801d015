"""The preflight accepts the credentials only on an answer CleverTap gives having read
them, and never waits forever (docs/cli.md): run as an operator runs it, a CLI subprocess
against a small aiohttp server of the test's own on loopback. Nothing is ever deleted or
written in these runs."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from tests.conftest import CLI, PASSCODE, cli_env, delete_argv, make_ids, serving, write_ids
from tests.e2e.support import ckpt_dir, run_subprocess


def _answer(status: int, body: str, seen: list[str]):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        seen.append(request.method)
        return web.Response(status=status, text=body, content_type="application/json")
    return handler


async def test_a_busy_account_ends_the_preflight_after_the_stall_timeout(
    tmp_path: Path,
) -> None:
    """Every lookup answered 429: the preflight says it is waiting, then gives up after
    --stall-timeout with exit 3, naming the likely cause; nothing written, no delete."""
    seen: list[str] = []
    busy = '{"status": "fail", "error": "Too many concurrent requests", "code": 429}'
    source = write_ids(tmp_path / "ids.txt", make_ids(200))
    async with serving(_answer(429, busy, seen)) as base_url:
        code, out, err = await run_subprocess(
            delete_argv(source, "--stall-timeout", "1"), cli_env(base_url), timeout=30)
    assert code == 3, err
    assert "preflight_waiting" in err
    assert "too many concurrent requests" in err
    assert "another job may be using" in err
    assert "credentials accepted" not in out + err
    assert set(seen) == {"GET"}
    assert not ckpt_dir(source).exists()
    assert "Traceback" not in out + err


async def test_a_dry_run_is_not_accepted_on_an_answer_about_nothing(tmp_path: Path) -> None:
    """A 400 says nothing about the credentials: a dry run exits 3 (not 0), saying the
    check could not be made and that --no-preflight skips it."""
    seen: list[str] = []
    source = write_ids(tmp_path / "ids.txt", make_ids(200))
    async with serving(_answer(400, '{"status": "fail", "error": "bad", "code": 400}',
                               seen)) as base_url:
        code, out, err = await run_subprocess(
            [*CLI, "delete", str(source), "--id-type", "guid", "--yes", "--no-progress",
             "--dry-run"], cli_env(base_url), timeout=30)
    assert code == 3, err
    assert "could not be made" in err
    assert "--no-preflight" in err
    assert "credentials accepted" not in out + err
    assert seen == ["GET"]
    assert not ckpt_dir(source).exists()
    assert PASSCODE not in out + err
