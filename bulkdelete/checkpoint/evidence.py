"""The job's evidence from before the delete (docs/verify.md): the account's answer for a
profile that cannot exist, and a seeded sample of the input looked up before anything was
deleted. Kept once per job in ``baseline.json`` (0600); a resume reads it, never redoes it."""

from __future__ import annotations

import enum
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkdelete.durable import write_private_atomic
from bulkdelete.errors import CheckpointError

BASELINE_NAME = "baseline.json"


class Seen(enum.Enum):
    """A sampled ID's state before the delete; unclear is never read as either."""

    PRESENT = "present"
    ABSENT = "absent"
    UNCLEAR = "unclear"


@dataclass(frozen=True, slots=True)
class Calibration:
    """The answer to a lookup of a random 32-hex ID of the job's ID type: this account's
    not-found shape (``http``, ``status``, ``code``, ``error`` with the ID masked)."""

    shape: dict[str, Any]
    id_type: str
    seen_at: str  # UTC timestamp

    def to_json(self) -> dict[str, Any]:
        return {"shape": self.shape, "id_type": self.id_type, "seen_at": self.seen_at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(shape=dict(data["shape"]), id_type=str(data["id_type"]),
                   seen_at=str(data["seen_at"]))


@dataclass(slots=True)
class Baseline:
    """``size`` is what was asked (``--baseline N``, 0: skipped); ``ids`` what was drawn
    (at most ``size``, the population capping it), each with its state."""

    size: int
    seed: int | None = None
    population: int = 0  # valid IDs the sample was drawn from
    checked_at: str | None = None
    calibration: Calibration | None = None
    ids: list[tuple[str, Seen]] = field(default_factory=list)
    # The exact two-sided 95 % interval on the share present (None: nothing sampled), and
    # why no calibration was made, or what it found, for people.
    interval: tuple[float, float] | None = None
    calibration_note: str | None = None

    @property
    def skipped(self) -> bool:
        return self.size == 0

    def counts(self) -> dict[str, int]:
        """``sampled`` and one count per :class:`Seen`, zeros included."""
        seen = Counter(state for _, state in self.ids)
        return {"sampled": len(self.ids), **{s.value: seen[s] for s in Seen}}

    def present_ids(self) -> list[str]:
        """The IDs a verify re-checks: present before the delete."""
        return [ident for ident, state in self.ids if state is Seen.PRESENT]

    def summary(self) -> dict[str, Any]:
        """Everything but the IDs: what the state and the report keep (docs/report.md)."""
        return {
            "size": self.size, "seed": self.seed, "population": self.population,
            "checked_at": self.checked_at, **self.counts(),
            "interval_95": None if self.interval is None else list(self.interval),
            "calibration": None if self.calibration is None else self.calibration.to_json(),
            "calibration_note": self.calibration_note,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.summary(),
                "ids": [{"id": ident, "state": state.value} for ident, state in self.ids]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Baseline:
        calibration = data.get("calibration")
        return cls(
            size=int(data["size"]), seed=data.get("seed"), population=int(data["population"]),
            checked_at=data.get("checked_at"),
            calibration=None if calibration is None else Calibration.from_json(calibration),
            ids=[(str(entry["id"]), Seen(entry["state"])) for entry in data["ids"]],
            interval=None if (bounds := data.get("interval_95")) is None else (
                float(bounds[0]), float(bounds[1])),
            calibration_note=data.get("calibration_note"),
        )


def save_baseline(folder: Path, baseline: Baseline) -> None:
    """Owner-only, installed whole."""
    write_private_atomic(folder / BASELINE_NAME,
                         (json.dumps(baseline.to_json(), indent=2) + "\n").encode())


def load_baseline(folder: Path) -> Baseline | None:
    """None for a job that has none (one started before baselines were kept, or by the
    library's iterable path). A damaged or unreadable one is a CheckpointError (exit 2)."""
    try:
        raw = (folder / BASELINE_NAME).read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"{folder / BASELINE_NAME} does not hold a JSON object")
        return Baseline.from_json(data)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise CheckpointError(f"cannot read the job's baseline in {folder}: {exc}") from None
