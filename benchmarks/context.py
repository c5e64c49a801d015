"""What every scenario shares: the sizes it runs at, the table row it returns, the context
it runs in, and the formatting of its figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import Servers, ids_file

BATCH = 100
RESUME_RECORD = "resume_record.txt"
CRASH_RECORD = "crash_record.txt"


@dataclass(frozen=True)
class Sizes:
    ceiling_ids: int = 300_000  # 15 × 100 / 0.050 s = 30,000 IDs/s → 10 s
    ceiling3_ids: int = 15_000  # 3 × 100 / 0.200 s = 1,500 IDs/s → 10 s
    adaptive_ids: int = 200_000  # 4 × 100 / 0.010 s = 40,000 IDs/s → 5 s
    overhead_ids: int = 1_000_000
    memory_ids: tuple[int, ...] = (100_000, 1_000_000, 10_000_000)
    resume_ids: int = 10_000_000
    crash_ids: int = 60_000  # 3 × 100 / 0.020 s = 15,000 IDs/s → 4 s
    crash_trials: int = 20
    peers_ids: int = 30_000
    plot_seconds: float = 4.0  # per point, at the ceiling rate
    plot_concurrency: tuple[int, ...] = (1, 3, 5, 10, 15)
    plot_latencies: tuple[float, ...] = (0.05, 0.2)
    verify_ids: int = 1_200  # 3 / 0.050 s = 60 lookups/s → 20 s
    baseline_ids: int = 100  # the default --baseline; 3 / 0.200 s = 15 lookups/s → 7 s


QUICK = Sizes(
    ceiling_ids=3_000,
    ceiling3_ids=300,
    adaptive_ids=5_000,
    overhead_ids=20_000,
    memory_ids=(1_000,),
    resume_ids=20_000,
    crash_ids=3_000,
    crash_trials=1,
    peers_ids=1_000,
    plot_seconds=0.2,
    plot_concurrency=(3,),
    plot_latencies=(0.05,),
    verify_ids=30,
    baseline_ids=15,
)


@dataclass
class Row:
    scenario: str
    measurement: str
    result: str
    target: str = ""
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("✅ met" if self.ok else "❌ missed")


@dataclass
class Context:
    workdir: Path
    servers: Servers
    sizes: Sizes
    repeat: int
    quick: bool
    plot_path: Path
    notes: list[str] = field(default_factory=list)

    def ids(self, count: int) -> Path:
        return ids_file(self.workdir, count)

    def say(self, message: str) -> None:
        print(f"  {message}", flush=True)


def per_second(ids: int, seconds: float) -> float:
    return ids / seconds if seconds > 0 else float("nan")


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def ids_s(x: float) -> str:
    return f"{x:,.0f} IDs/s"
