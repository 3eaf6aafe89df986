"""Calibrated confidence for suggestion scores: isotonic regression (pool adjacent violators)
of "the first suggestion is right" on its raw score, with the measures to judge it: precision
above a threshold, expected calibration error (ECE) and the bins of a reliability diagram.

Fit only on data that is not evaluated with it (bench/mapping_eval.py fits on the tuned halves
of its gold sets and reports on the held-out halves).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Calibration", "ece", "precision_at", "reliability"]


@dataclass(frozen=True, slots=True)
class Calibration:
    """A monotone step function: raw score ≥ `edges[i]` → confidence `values[i]`."""

    edges: tuple[float, ...]
    values: tuple[float, ...]

    @classmethod
    def fit(cls, scores: Sequence[float], correct: Sequence[bool]) -> Calibration:
        """Isotonic regression of `correct` on `scores` (pool adjacent violators)."""
        pairs = sorted(zip(scores, correct, strict=True))
        blocks: list[list[float]] = []  # [lowest score, sum correct, count]
        for score, ok in pairs:
            blocks.append([score, float(ok), 1.0])
            while len(blocks) > 1 and (blocks[-2][1] / blocks[-2][2]
                                       >= blocks[-1][1] / blocks[-1][2]):
                last = blocks.pop()
                blocks[-1][1] += last[1]
                blocks[-1][2] += last[2]
        if not blocks:
            return cls((0.0,), (0.0,))
        return cls(tuple(b[0] for b in blocks), tuple(round(b[1] / b[2], 4) for b in blocks))

    def __call__(self, score: float) -> float:
        i = bisect.bisect_right(self.edges, score) - 1
        return self.values[max(i, 0)] if i >= 0 else 0.0

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps({"edges": self.edges, "values": self.values}) + "\n",
                        encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(map(float, data["edges"])), tuple(map(float, data["values"])))


def precision_at(conf: Sequence[float], correct: Sequence[bool], threshold: float
                 ) -> tuple[float, int]:
    """(share correct, count) among cases with confidence ≥ threshold (0.0, 0 when none)."""
    hits = [ok for c, ok in zip(conf, correct, strict=True) if c >= threshold]
    return (sum(hits) / len(hits) if hits else 0.0), len(hits)


def reliability(conf: Sequence[float], correct: Sequence[bool], bins: int = 10
                ) -> list[tuple[float, float, int]]:
    """(mean confidence, share correct, count) per equal-width confidence bin (empty left out)."""
    sums = [[0.0, 0.0, 0] for _ in range(bins)]
    for c, ok in zip(conf, correct, strict=True):
        b = sums[min(int(c * bins), bins - 1)]
        b[0] += c
        b[1] += ok
        b[2] += 1
    return [(s / n, k / n, int(n)) for s, k, n in sums if n]


def ece(conf: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error: the count-weighted mean |confidence − accuracy| per bin."""
    n = len(conf)
    return sum(k * abs(c - a) for c, a, k in reliability(conf, correct, bins)) / n if n else 0.0
