"""The calibrated confidence of suggestions (mappings.calibration, issue 17): the isotonic fit,
its Wilson lower bounds, the conservative score-and-margin fit, and that the product applies
the fitted table (mappings.calibration_fit) to what mappings.suggest returns."""

from __future__ import annotations

import random

from mappings import suggest as suggest_module
from mappings.calibration import Calibration, Conservative, ece, margins, precision_at
from mappings.calibration_fit import FITTED
from mappings.suggest import TargetIndex, TargetTerm, suggest


def test_isotonic_fit_is_monotone_and_wilson_lowers_it() -> None:
    rng = random.Random(7)
    scores = [rng.random() for _ in range(2000)]
    correct = [rng.random() < s for s in scores]
    plain = Calibration.fit(scores, correct)
    low = Calibration.fit(scores, correct, lower_z=1.645)
    assert list(plain.values) == sorted(plain.values)
    assert list(low.values) == sorted(low.values)
    for s in (0.1, 0.5, 0.9, 0.99):
        assert low(s) <= plain(s) + 1e-9
    conf = [plain(s) for s in scores]
    assert ece(conf, correct) < 0.05


def test_margins_of_a_ranked_list() -> None:
    assert margins([]) == []
    assert margins([0.8]) == [0.8]
    assert [round(m, 6) for m in margins([0.8, 0.7, 0.5])] == [0.1, -0.1, -0.3]


def test_conservative_needs_score_and_margin() -> None:
    """Right answers come with a high score and a clear lead: a high score without a lead
    gets less confidence than with one, and the second candidate less than the first."""
    rng = random.Random(3)
    scores, leads, correct = [], [], []
    for _ in range(4000):
        s, m = rng.random(), rng.random() * 0.3
        scores.append(s)
        leads.append(m)
        correct.append(rng.random() < min(1.0, 0.2 + 0.5 * s + 1.5 * m))
    fit = Conservative.fit(scores, leads, correct)
    assert fit(0.95, 0.0) < fit(0.95, 0.25)
    first, second = fit.ranked([0.95, 0.94])
    assert second <= first
    again = Conservative.from_dict(fit.to_dict())
    assert again(0.9, 0.1) == fit(0.9, 0.1)
    conf = [fit(s, m) for s, m in zip(scores, leads, strict=True)]
    p, n = precision_at(conf, correct, 0.9)
    assert n == 0 or p >= 0.9


def test_the_product_shows_the_fitted_confidence() -> None:
    """mappings.calibration_fit holds a fit (written by bench/mapping_eval.py --calibrate
    --write-fit from the tuned halves), and suggest returns it as the score, the ranker's own
    score as `raw`, in the ranker's order."""
    assert FITTED is not None and suggest_module.CONFIDENCE is not None
    terms = [TargetTerm("2160-0", "Creatinine [Mass/volume] in Serum or Plasma",
                        (("Creatinine [Mass/volume] in Serum or Plasma", "display"),
                         ("Creatinine", "COMPONENT")),
                        {"PROPERTY": "MCnc", "SYSTEM": "Ser/Plas", "SCALE_TYP": "Qn"}),
             TargetTerm("2161-8", "Creatinine [Mass/volume] in Urine",
                        (("Creatinine [Mass/volume] in Urine", "display"),
                         ("Creatinine", "COMPONENT")),
                        {"PROPERTY": "MCnc", "SYSTEM": "Urine", "SCALE_TYP": "Qn"})]
    found = suggest(TargetIndex(terms), "Creatinine serum", unit="mg/dl")
    assert [s.code for s in found] == ["2160-0", "2161-8"]
    raw = [s.raw for s in found]
    assert all(r is not None for r in raw)
    expected = suggest_module.CONFIDENCE.ranked([r for r in raw if r is not None])
    assert [s.score for s in found] == [round(min(max(c, 0.0), 1.0), 4) for c in expected]
    assert found[1].score <= found[0].score
