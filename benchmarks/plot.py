"""Throughput vs concurrency chart (matplotlib is optional: the ``bench`` extra)."""

from __future__ import annotations

from pathlib import Path

BATCH = 100

Series = dict[str, list[tuple[int, float]]]


def draw(points: dict[float, Series], path: Path) -> str:
    """Draw tool and bare loop against the c×100/latency ceiling; return what happened."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "skipped: matplotlib is not installed (pip install -e '.[bench]')"
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for color, (latency, series) in zip(colors, sorted(points.items()), strict=False):
        label = f"{latency * 1000:.0f} ms"
        xs = [c for c, _ in series["tool"]]
        ax.plot(xs, [c * BATCH / latency for c in xs], linestyle="--", color=color,
                alpha=0.6, label=f"ceiling c×100/latency, {label}")
        ax.plot(xs, [r for _, r in series["bare"]], marker="x", linestyle=":", color=color,
                label=f"bare aiohttp loop, {label}")
        ax.plot(xs, [r for _, r in series["tool"]], marker="o", color=color,
                label=f"bulkdelete, {label}")
    ax.set_xlabel("concurrency (requests in flight)")
    ax.set_ylabel("IDs deleted per second (send phase)")
    ax.set_title("bulkdelete throughput vs concurrency (fake server, 100 IDs per request)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    # The name only: results are committed, and a machine path must never be.
    return f"written to {path.name} (beside this table)"
