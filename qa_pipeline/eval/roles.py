"""How much of a call's speech time got the right role: labelled turns against the product's.

Pure functions over the labelled ``turns`` (role, start_s, end_s) of ``NAME.truth.json`` and the
product's utterances; times are compared on a 10 ms grid. Time where both labelled parties speak
at once is left out (either role is right there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

GRID_S = 0.01


@dataclass(frozen=True)
class RoleTime:
    """Seconds of labelled single-party speech: covered by a product utterance, and right there."""

    labelled_s: float = 0.0
    covered_s: float = 0.0
    right_s: float = 0.0

    def __add__(self, other: "RoleTime") -> "RoleTime":
        return RoleTime(self.labelled_s + other.labelled_s, self.covered_s + other.covered_s,
                        self.right_s + other.right_s)

    @property
    def accuracy(self) -> float:
        """Right share of the labelled speech the product transcribed at all."""
        return self.right_s / self.covered_s if self.covered_s else 0.0

    @property
    def coverage(self) -> float:
        return self.covered_s / self.labelled_s if self.labelled_s else 0.0


def _mask(spans: Iterable[tuple[float, float]], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for start_s, end_s in spans:
        mask[int(round(start_s / GRID_S)) : int(round(end_s / GRID_S))] = True
    return mask


def role_time(turns: Iterable[Mapping[str, Any]], utterances: Iterable[Mapping[str, Any]], duration_s: float) -> RoleTime:
    """Compare labelled turns with product utterances (dicts with role, start_s, end_s)."""
    n = int(duration_s / GRID_S) + 1
    turns, utterances = list(turns), list(utterances)
    truth = {r: _mask(((t["start_s"], t["end_s"]) for t in turns if t["role"] == r), n) for r in ("agent", "customer")}
    said = {r: _mask(((u["start_s"], u["end_s"]) for u in utterances if u["role"] == r), n) for r in ("agent", "customer")}
    single = truth["agent"] ^ truth["customer"]
    covered = single & (said["agent"] | said["customer"])
    right = single & ((truth["agent"] & said["agent"] & ~said["customer"]) | (truth["customer"] & said["customer"] & ~said["agent"]))
    return RoleTime(single.sum() * GRID_S, covered.sum() * GRID_S, right.sum() * GRID_S)
