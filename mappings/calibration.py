"""Calibrated confidence for suggestion scores: isotonic regression (pool adjacent violators)
of "the first suggestion is right" on its raw score, with the measures to judge it: precision
above a threshold, expected calibration error (ECE) and the bins of a reliability diagram.

`Conservative` is what the product shows (mappings.suggest; the bulk-accept threshold of
mappings.bulkaccept compares with it): the lesser of two isotonic fits, one on the raw score
and one on a logistic model of the score and the margin to the best other candidate, each
step lowered to the lower bound of its Wilson interval (z = 1.645, one-sided 95 %). A
suggestion is trusted only when both its score and its lead over the others say so, and a
step learnt from few cases counts for less.

Fit only on data that is not evaluated with it (bench/mapping_eval.py fits on the tuned halves
of its gold sets and reports on the held-out halves; mappings/calibration_fit.py holds the
table the product uses, written by `bench/mapping_eval.py --calibrate`).
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MARGIN_CAP", "WILSON_Z", "Calibration", "Conservative", "ece", "margins",
           "precision_at", "reliability"]

#: One-sided 95 % Wilson lower bound per isotonic step.
WILSON_Z = 1.645
#: Margins to the next candidate above this count as this (a clear lead is a clear lead).
MARGIN_CAP = 0.3


@dataclass(frozen=True, slots=True)
class Calibration:
    """A monotone step function: raw score ≥ `edges[i]` → confidence `values[i]`."""

    edges: tuple[float, ...]
    values: tuple[float, ...]

    @classmethod
    def fit(cls, scores: Sequence[float], correct: Sequence[bool],
            lower_z: float = 0.0) -> Calibration:
        """Isotonic regression of `correct` on `scores` (pool adjacent violators); with
        `lower_z`, each step is the lower bound of its Wilson interval (kept monotone)."""
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
        values: list[float] = []
        for _, k, n in blocks:
            v = _wilson_low(k, n, lower_z) if lower_z else k / n
            values.append(round(max(v, values[-1] if values else 0.0), 4))
        return cls(tuple(b[0] for b in blocks), tuple(values))

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


def _wilson_low(k: float, n: float, z: float) -> float:
    """Lower bound of the Wilson score interval of k successes in n."""
    p = k / n
    d = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max((centre - spread) / d, 0.0)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x > -500 else 0.0


def margins(scores: Sequence[float]) -> list[float]:
    """Each ranked candidate's score minus the best other one's (the first: its lead over the
    second, or its own score when alone; the others: ≤ 0)."""
    if not scores:
        return []
    first = scores[0]
    second = scores[1] if len(scores) > 1 else 0.0
    return [first - second, *(s - first for s in scores[1:])]


def _logistic(x: Sequence[tuple[float, float]], y: Sequence[bool]
              ) -> tuple[float, float, float]:
    """Weights (bias, score, margin) of a logistic regression (Newton steps, tiny ridge)."""
    w = [0.0, 0.0, 0.0]
    for _ in range(50):
        g = [0.0, 0.0, 0.0]
        h = [[1e-6 if i == j else 0.0 for j in range(3)] for i in range(3)]
        for (a, b), ok in zip(x, y, strict=True):
            f = (1.0, a, b)
            p = _sigmoid(w[0] + w[1] * a + w[2] * b)
            for i in range(3):
                g[i] += (ok - p) * f[i]
                for j in range(3):
                    h[i][j] += p * (1 - p) * f[i] * f[j]
        step = _solve3(h, g)
        w = [wi + si for wi, si in zip(w, step, strict=True)]
        if max(abs(si) for si in step) < 1e-9:
            break
    return w[0], w[1], w[2]


def _solve3(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a 3×3 linear system (Gaussian elimination with partial pivoting)."""
    m = [row[:] + [v] for row, v in zip(a, b, strict=True)]
    for c in range(3):
        p = max(range(c, 3), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-300:
            return [0.0, 0.0, 0.0]
        for r in range(c + 1, 3):
            f = m[r][c] / m[c][c]
            for k in range(c, 4):
                m[r][k] -= f * m[c][k]
    out = [0.0, 0.0, 0.0]
    for r in (2, 1, 0):
        out[r] = (m[r][3] - sum(m[r][k] * out[k] for k in range(r + 1, 3))) / m[r][r]
    return out


@dataclass(frozen=True, slots=True)
class Conservative:
    """Confidence that a ranked suggestion is right: min(by_score(score),
    by_model(sigmoid(bias + a·score + b·min(margin, MARGIN_CAP)))), see the module."""

    by_score: Calibration
    by_model: Calibration
    weights: tuple[float, float, float]

    @classmethod
    def fit(cls, scores: Sequence[float], margins_: Sequence[float],
            correct: Sequence[bool], lower_z: float = WILSON_Z) -> Conservative:
        """Fit on (first suggestion's raw score, its margin, right or not) cases."""
        x = [(s, min(m, MARGIN_CAP)) for s, m in zip(scores, margins_, strict=True)]
        w = _logistic(x, correct)
        z = [_sigmoid(w[0] + w[1] * a + w[2] * b) for a, b in x]
        return cls(Calibration.fit(scores, correct, lower_z),
                   Calibration.fit(z, correct, lower_z), w)

    def __call__(self, score: float, margin: float) -> float:
        b, a, m = self.weights
        z = _sigmoid(b + a * score + m * min(margin, MARGIN_CAP))
        return min(self.by_score(score), self.by_model(z))

    def ranked(self, scores: Sequence[float]) -> list[float]:
        """Confidences of ranked candidates' raw scores (best first)."""
        return [self(s, m) for s, m in zip(scores, margins(scores), strict=True)]

    def to_dict(self) -> dict[str, Any]:
        return {"by_score": {"edges": self.by_score.edges, "values": self.by_score.values},
                "by_model": {"edges": self.by_model.edges, "values": self.by_model.values},
                "weights": self.weights, "wilson_z": WILSON_Z, "margin_cap": MARGIN_CAP}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conservative:
        def cal(d: Mapping[str, Any]) -> Calibration:
            return Calibration(tuple(map(float, d["edges"])), tuple(map(float, d["values"])))

        w = tuple(map(float, data["weights"]))
        return cls(cal(data["by_score"]), cal(data["by_model"]), (w[0], w[1], w[2]))


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
