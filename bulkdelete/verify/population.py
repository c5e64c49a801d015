"""The job's *deleted* IDs, read back from its input as the job read it: batch numbers are
a pure function of the input and the batch size, so a deleted ID is in a batch recorded
done and not in the failed file (docs/verify.md).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import Progress, State
from bulkdelete.errors import InputError
from bulkdelete.lifecycle.plan import read_batches
from bulkdelete.reader import InputFormat
from bulkdelete.reader.guard import Watch
from bulkdelete.settings import JobFiles, Settings


def failed_ids(path: Path) -> set[str]:
    """Expected to remain, so never checked."""
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            return {line.strip() for line in lines if line.strip()}
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise InputError(f"cannot read the job's failed file {path}: {exc.strerror}") from None


def deleted_batches(
    settings: Settings, files: JobFiles, fmt: InputFormat, state: State, failed: set[str],
    watch: Watch, *, start: tuple[int, int, int] = (0, 0, 1),
) -> Iterator[Batch]:
    """The job's batches from ``start`` on, each holding only its deleted IDs (maybe none),
    so the batch numbers stay the job's."""
    batches = read_batches(files, fmt, settings.id_type, settings.batch_size, start, watch)
    for batch in batches:
        yield _deleted_only(batch, state.progress, failed)


def _deleted_only(batch: Batch, done: Progress, failed: set[str]) -> Batch:
    if not done.is_done(batch.seq):
        batch.ids = []
    elif failed:
        batch.ids = [ident for ident in batch.ids if ident not in failed]
    return batch


def reservoir(batches: Iterable[Batch], size: int, rng: random.Random) -> list[str]:
    """A uniform sample of ``size`` IDs in one pass and ``size`` memory: Li's Algorithm L
    draws random numbers only for the IDs it takes, so it costs little more than the read."""
    sample: list[str] = []
    if size <= 0:
        return sample
    weight = 0.0
    take = 0  # position of the next ID to take into the full sample
    position = 0  # position of the batch's first ID among all the IDs read
    for batch in batches:
        ids = batch.ids
        end = position + len(ids)
        if len(sample) < size:
            filled = min(size - len(sample), len(ids))
            sample += ids[:filled]
            if len(sample) == size:
                weight = _draw(rng, size)
                take = position + filled - 1 + _skip(rng, weight)
        while len(sample) == size and take < end:
            sample[rng.randrange(size)] = ids[take - position]
            weight *= _draw(rng, size)
            take += _skip(rng, weight)
        position = end
    return sample


def _draw(rng: random.Random, size: int) -> float:
    # 1 - random() is in (0, 1]: never log(0).
    return math.exp(math.log(1.0 - rng.random()) / size)


def _skip(rng: random.Random, weight: float) -> int:
    if weight >= 1.0:  # so close to 1 that the sample is not yet full in effect
        return 1
    return math.floor(math.log(1.0 - rng.random()) / math.log1p(-weight)) + 1


def sample_batches(ids: list[str], size: int) -> Iterator[Batch]:
    for seq, first in enumerate(range(0, len(ids), size)):
        yield Batch(seq, 0, 0, ids[first:first + size])
