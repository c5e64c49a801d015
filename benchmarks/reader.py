"""The reader alone, by input shape: how long reading and batching a million IDs takes.

``python -m benchmarks.reader [--ids N] [--repeat K] [--dir DIR]`` writes one file per shape
(clean GUIDs, CRLF, variable width, a blank line now and then, space-padded, non-ASCII) and
prints, for each, the best of K timings of ``Input.records`` + ``make_batches``, of the count
alone (``Input.records`` + ``summarize``) and of a new job's whole pre-count (``precount``: the
count plus the IDs repeated across the file). In-process, no network: it shows what each
shape costs the reader, which the end-to-end scenarios (clean GUIDs only) cannot show. Run
it on two checkouts to compare them.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from bulkdelete.batcher import make_batches, summarize
from bulkdelete.lifecycle.plan import precount
from bulkdelete.reader import Input


def shapes(count: int, seed: int = 1) -> dict[str, list[bytes]]:
    rng = random.Random(seed)
    ids = [uuid.UUID(int=rng.getrandbits(128)).hex.encode() for _ in range(count)]
    return {
        "guid": [i + b"\n" for i in ids],
        "guid_crlf": [i + b"\r\n" for i in ids],
        "variable_width": [i[: 8 + (k % 20)] + b"\n" for k, i in enumerate(ids)],
        "blank_every_5000": [(b"" if k % 5000 == 0 else i) + b"\n" for k, i in enumerate(ids)],
        "space_padded": [b" " + i + b"\n" for i in ids],
        "non_ascii": [i + "é".encode() + b"\n" for i in ids],
    }


def best_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reader", description=__doc__)
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None, help="where the inputs go")
    ns = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = ns.dir or Path(tmp)
        print(f"{'shape':18s} {'read + batch':>14s} {'pre-count':>12s} {'+ repeats':>18s}   "
              f"({ns.ids:,} lines, best of {ns.repeat})")
        for name, lines in shapes(ns.ids).items():
            path = folder / f"{name}.txt"
            path.write_bytes(b"".join(lines))

            def read(path: Path = path) -> int:
                items = Input(path, "lines", "guid").records()
                return sum(1 for _ in make_batches(items, 100))

            def count(path: Path = path) -> object:
                return summarize(Input(path, "lines", "guid").records(), 100)

            def job_count(path: Path = path) -> object:
                return precount(Input(path, "lines", "guid"), 100)

            print(f"{name:18s} {best_ms(read, ns.repeat):11.0f} ms "
                  f"{best_ms(count, ns.repeat):9.0f} ms {best_ms(job_count, ns.repeat):15.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
