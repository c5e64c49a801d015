"""A ``--base-url`` that carries a secret (a query string, a fragment, userinfo, a path) is
a usage error that never quotes it (docs/guarantees.md, secrets): it takes only
``scheme://host[:port]``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.support import cli


def test_a_base_url_with_a_query_is_refused_without_echoing_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, reset_logging: None,
    creds: None,
) -> None:
    """--base-url takes scheme://host[:port]: one with a query string (or userinfo) is a
    usage error whose message, on the console and in the log file, never quotes it."""
    source = tmp_path / "ids.txt"
    source.write_text("a\nb\n")
    log = tmp_path / "run.log"
    for url in ("http://127.0.0.1:9/?passcode=TopSecret123", "http://127.0.0.1:9?k=TopSecret123",
                "http://127.0.0.1:9/#TopSecret123", "ftp://127.0.0.1/?TopSecret123",
                "http://u:TopSecret123@127.0.0.1:9",
                # A path, or a URL wrong in some other way, is no more repeated.
                "http://127.0.0.1:9/TopSecret123", "https://api.example.com/v1/TopSecret123/",
                "ftp://127.0.0.1/TopSecret123", "http://127.0.0.1:TopSecret123/",
                "http://127.0.0.1:99999/TopSecret123"):
        code, out, err = cli(capsys, "delete", str(source), "--id-type", "guid", "--yes",
                             "--base-url", url, "--log-file", str(log))
        assert code == 2, err
        assert "TopSecret123" not in out + err
        if log.exists():
            assert "TopSecret123" not in log.read_text()
