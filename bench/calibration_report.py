"""Calibration of the first suggestion's score for bench/mapping_eval.py: the conservative fit
of mappings.calibration (score and margin, Wilson lower bounds) on the tuned halves, judged on
the held-out halves (precision at confidence >= 0.9, ECE) next to the raw score and a plain
isotonic fit, and a reliability diagram as a PNG.

matplotlib is not installed in the project's environment, so the PNG is drawn with numpy and
zlib: x = confidence, y = share correct, both 0..1; grey diagonal = perfect calibration; blue
bars = held-out cases by calibrated confidence (bin width 0.1, bar height = share correct);
red dots = the same cases by raw score. No text in the image: the legend is in
bench/mapping_results.md.
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from pprint import pformat
from textwrap import indent

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mappings.calibration import (  # noqa: E402
    Calibration,
    Conservative,
    ece,
    precision_at,
    reliability,
)

SIZE, PAD = 400, 30


def _png(pixels: np.ndarray, path: Path) -> None:
    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2,
                                                                       0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def diagram(calibrated: Sequence[tuple[float, float, int]],
            raw: Sequence[tuple[float, float, int]], path: Path) -> None:
    """The reliability diagram (see the module docstring) as a PNG."""
    img = np.full((SIZE + 2 * PAD, SIZE + 2 * PAD, 3), 255, dtype=np.uint8)

    def xy(x: float, y: float) -> tuple[int, int]:
        return PAD + int(x * SIZE), PAD + SIZE - int(y * SIZE)

    for mean, acc, _ in calibrated:
        b = min(int(mean * 10), 9)
        x0, _ = xy(b / 10 + 0.01, 0)
        x1, _ = xy(b / 10 + 0.09, 0)
        _, y0 = xy(0, acc)
        img[y0:PAD + SIZE, x0:x1] = (90, 140, 220)
    for t in np.linspace(0, 1, 2 * SIZE):
        x, y = xy(float(t), float(t))
        img[y - 1:y + 1, x - 1:x + 1] = (150, 150, 150)
    for mean, acc, _ in raw:
        x, y = xy(mean, acc)
        img[y - 4:y + 4, x - 4:x + 4] = (210, 40, 40)
    img[PAD:PAD + SIZE + 1, PAD - 1:PAD + 1] = 0  # y axis
    img[PAD + SIZE - 1:PAD + SIZE + 1, PAD:PAD + SIZE + 1] = 0  # x axis
    for k in range(11):
        x, y = xy(k / 10, k / 10)
        img[PAD + SIZE:PAD + SIZE + 6, x - 1:x + 1] = 0
        img[y - 1:y + 1, PAD - 6:PAD] = 0
    _png(img, path)


def write_fit(fit: Conservative, path: Path) -> None:
    """The fit as mappings/calibration_fit.py (the table the product applies)."""
    text = path.read_text(encoding="utf-8")
    head = text[:text.index("FITTED")]
    body = indent(pformat(fit.to_dict(), width=90, compact=True), "    ")
    path.write_text(f"{head}FITTED: dict[str, Any] | None = (\n{body}\n)\n", encoding="utf-8")


def report(tuned: Sequence[tuple[float, float, float, bool]],
           held: Sequence[tuple[float, float, float, bool]], png: Path, table: Path,
           fit_path: Path | None = None) -> list[str]:
    """Fit on `tuned` (first suggestion's raw score, its margin to the second, the confidence
    shown, right or not), judge on `held`; write the PNG and the fit (JSON, and with
    `fit_path` the product's table); return markdown lines."""
    fit = Conservative.fit([r for r, _, _, _ in tuned], [m for _, m, _, _ in tuned],
                           [ok for *_, ok in tuned])
    table.write_text(json.dumps(fit.to_dict()) + "\n", encoding="utf-8")
    if fit_path is not None:
        write_fit(fit, fit_path)
    iso = Calibration.fit([r for r, _, _, _ in tuned], [ok for *_, ok in tuned])
    ok = [c for *_, c in held]
    raw = [min(max(r, 0.0), 1.0) for r, _, _, _ in held]
    conf = [fit(r, m) for r, m, _, _ in held]
    rows = [("raw score", raw), ("isotonic on the raw score (the previous calibration)",
                                 [iso(r) for r, _, _, _ in held]),
            ("conservative (score and margin, Wilson lower bounds): this fit", conf),
            ("confidence shown by the product in this run (mappings/calibration_fit.py)",
             [c for _, _, c, _ in held])]
    diagram(reliability(conf, ok), reliability(raw, ok), png)
    p_cal, n_cal = precision_at(conf, ok, 0.9)
    lines = [
        f"Calibration (fitted on the tuned halves: {len(tuned)} first suggestions; judged on "
        f"the held-out halves: {len(held)}; fit `{table.name}`, diagram `{png.name}`):", "",
        "| held-out | cases ≥ 0.9 | precision ≥ 0.9 | ECE (10 bins) |", "|---|---|---|---|"]
    for name, values in rows:
        p, n = precision_at(values, ok, 0.9)
        lines.append(f"| {name} | {n} | {p:.3f} | {ece(values, ok):.3f} |")
    lines += [
        "", "Reliability (held-out, conservative): " + ", ".join(
            f"{m:.2f}→{a:.2f} (n={n})" for m, a, n in reliability(conf, ok)) + ".", "",
        f"Goal (issue 17): precision ≥ 0.95 at confidence ≥ 0.9 on the held-out halves: "
        f"{p_cal:.3f} over {n_cal} cases, {'met' if p_cal >= 0.95 and n_cal else 'not met'}.",
        "Diagram: x confidence, y share correct; grey diagonal perfect calibration; blue bars "
        "held-out cases by conservative confidence; red dots the same cases by raw score."]
    return lines
