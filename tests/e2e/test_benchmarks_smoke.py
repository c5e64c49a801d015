"""``python -m benchmarks --quick`` runs every scenario end to end and prints its table.

Only that it works is checked here, never how fast: the timings of a shared CI machine mean
nothing, and the real numbers come from ``make bench`` (see benchmarks/README.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_benchmark_runs_and_prints_the_table(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path / "work")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "| scenario | measurement | result (median) | target | verdict |" in out
    for scenario in ("ceiling", "overhead", "memory", "resume", "crash", "peers",
                     "throughput vs concurrency"):
        assert f"| {scenario}" in out, f"no row for {scenario}:\n{out}"
    assert "ERROR" not in out
    # --quick never touches the committed results.
    assert "results written to" not in out
