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


# Every scenario runs, split in groups so that the two test workers share the minute.
GROUPS = {
    "ceiling,adaptive,overhead,memory": ("ceiling", "adaptive", "overhead", "memory"),
    "resume,crash,peers": ("resume", "crash", "peers"),
    "plot,verify,baseline": ("throughput vs concurrency", "verify", "baseline"),
}


def test_every_scenario_is_in_a_group() -> None:
    from benchmarks.scenarios import SCENARIOS

    assert sorted(",".join(GROUPS).split(",")) == sorted(SCENARIOS)


@pytest.mark.parametrize("only", list(GROUPS))
def test_quick_benchmark_runs_and_prints_the_table(tmp_path: Path, only: str) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", only,
         "--out", str(tmp_path / "work")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "| scenario | measurement | result (median) | target | verdict |" in out
    for scenario in GROUPS[only]:
        assert f"| {scenario}" in out, f"no row for {scenario}:\n{out}"
    assert "ERROR" not in out
    # --quick never touches the committed results.
    assert "results written to" not in out


def test_reader_benchmark_prints_a_row_per_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m benchmarks.reader`` reads every shape it writes and prints its times."""
    from benchmarks.reader import main, shapes

    assert main(["--ids", "3000", "--repeat", "1", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for shape in shapes(1):
        assert f"{shape} " in out, out
        assert (tmp_path / f"{shape}.txt").stat().st_size > 3000 * 8
