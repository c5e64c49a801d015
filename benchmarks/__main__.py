"""``python -m benchmarks`` — run the benchmark scenarios and print one table.

Options: ``--quick`` (tiny sizes, a few seconds), ``--only NAME[,NAME]``, ``--repeat K``
(default 3; medians are reported), ``--out DIR`` (inputs, checkpoints and logs; default a
temporary directory, removed at the end). A full run (every scenario, no ``--quick``) writes
``benchmarks/results.md``; the plot scenario writes ``benchmarks/throughput.png`` unless
``--quick``, which writes only under the out directory.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from benchmarks.context import QUICK, Context, Row, Sizes
from benchmarks.harness import Servers
from benchmarks.scenarios import SCENARIOS, servers_for

HERE = Path(__file__).resolve().parent


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cpus} CPUs (nproc), {model}; Python {platform.python_version()} "
            f"({platform.python_implementation()}), {platform.system()} {platform.release()}")


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| scenario | measurement | result (median) | target | verdict |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = (row.scenario, row.measurement, row.result, row.target, row.verdict)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def floors(rows: Sequence[Row]) -> str:
    """One line per floor of the issue: what was measured, against which floor."""
    return "\n".join(f"floor: {row.scenario}, {row.measurement}: {row.result} "
                     f"(floor {row.target}) {row.verdict}" for row in rows if row.target)


def results_markdown(rows: Sequence[Row], command: str, started: datetime.datetime,
                     seconds: float, repeat: int) -> str:
    return "\n".join([
        "# bulkdelete benchmark results",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC ({seconds / 60:.1f} min)",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        f"- every figure is the median of {repeat} runs unless it says otherwise; a ratio is the"
        " ratio of two medians measured in the same run, the two sides interleaved",
        "- **send phase** = the tool's report `runs[-1].elapsed_s` vs the clients' own timer"
        " around their sending loop; **wall** = the whole child process (start-up, fingerprint,"
        " pre-count and checkpoint included for the tool)",
        "- the fake server runs in its own process (`bulkdelete fake-server`), as does every"
        " client",
        "",
        table(rows),
        "",
    ])


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one repeat unless --repeat is given (smoke test)")
    parser.add_argument("--only", metavar="NAME[,NAME]",
                        help=f"run only these scenarios: {', '.join(SCENARIOS)}")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per measurement, medians reported (default 3; --quick 1)")
    parser.add_argument("--out", type=Path,
                        help="working directory (kept); default a temporary one (removed)")
    ns = parser.parse_args(argv)
    if ns.repeat is None:
        ns.repeat = 1 if ns.quick else 3
    if ns.repeat < 1:
        parser.error("--repeat must be at least 1")
    chosen = list(SCENARIOS)
    if ns.only:
        chosen = [n.strip() for n in ns.only.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in SCENARIOS]
        if unknown:
            parser.error(f"unknown scenario {', '.join(unknown)}; "
                         f"choose from {', '.join(SCENARIOS)}")
    ns.chosen = chosen
    return ns


def precompile() -> None:
    """Write the bytecode of the tool and of the comparison clients once, before any child
    starts. An installed package has it (pip compiles at install time), but a checkout run
    with PYTHONDONTWRITEBYTECODE set recompiles every module at every start: ~30 ms of each
    tool run's wall that no user pays. Every party gets the same treatment.

    In a child process, and without importing bulkdelete here: a child's peak RSS as
    ``wait4`` reports it includes the moments before its ``exec``, when it is still a copy
    of this process, so anything this process imports would show in every child's figure."""
    spec = importlib.util.find_spec("bulkdelete")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("bulkdelete is not installed in this environment: run make setup")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *spec.submodule_search_locations, str(HERE)],
        check=True, stdout=subprocess.DEVNULL,
    )


def main(argv: Sequence[str] | None = None) -> int:
    ns = parse(argv)
    command = shlex.join(["python", "-m", "benchmarks",
                          *(sys.argv[1:] if argv is None else argv)])
    started = datetime.datetime.now(datetime.UTC)
    t0 = time.monotonic()
    temporary = ns.out is None
    workdir = Path(tempfile.mkdtemp(prefix="bulkdelete-bench-")) if temporary else ns.out
    workdir.mkdir(parents=True, exist_ok=True)
    sizes: Sizes = QUICK if ns.quick else Sizes()
    plot_path = workdir / "throughput.png" if ns.quick else HERE / "throughput.png"
    precompile()
    servers = Servers(workdir)
    ctx = Context(workdir=workdir, servers=servers, sizes=sizes, repeat=ns.repeat,
                  quick=ns.quick, plot_path=plot_path)
    print(f"benchmarks: {', '.join(ns.chosen)}; repeat {ns.repeat}; work dir {workdir}",
          flush=True)
    print(f"machine: {machine()}", flush=True)
    rows: list[Row] = []
    failed = False
    try:
        servers.prestart(servers_for(ns.chosen, ctx))
        for name in ns.chosen:
            print(f"[{name}]", flush=True)
            t = time.monotonic()
            try:
                rows += SCENARIOS[name](ctx)
            except Exception as exc:
                failed = True
                traceback.print_exc()
                rows.append(Row(name, "ERROR", f"{type(exc).__name__}: {exc}"[:300]))
            print(f"  ({time.monotonic() - t:.1f}s)", flush=True)
    finally:
        servers.close()
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.monotonic() - t0
    print()
    print(table(rows))
    print()
    print(floors(rows))
    print(f"\n({seconds:.1f}s in all)")
    if not ns.quick and not failed and ns.chosen == list(SCENARIOS):
        out = HERE / "results.md"
        out.write_text(results_markdown(rows, command, started, seconds, ns.repeat))
        print(f"results written to {out}")
    elif not ns.quick:
        print("benchmarks/results.md not rewritten: only a full run without errors does that")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
