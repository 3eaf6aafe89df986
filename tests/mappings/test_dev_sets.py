"""The development gold sets of bench/dev_sets.py: disjoint from MIMIC-III (the goal set they
stand beside), a stable hash split, LOINC-syntax golds only. Skips when ../shared is absent."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import dev_sets  # noqa: E402


def _needs_data() -> None:
    if not dev_sets.MIMIC.exists():
        pytest.skip(f"real data not present: {dev_sets.MIMIC}")


def test_the_split_is_stable_and_ignores_case_and_spaces() -> None:
    assert dev_sets.in_dev_half("Creatinine") == dev_sets.in_dev_half(" creatinine ")
    halves = {dev_sets.in_dev_half(f"name {i}") for i in range(50)}
    assert halves == {True, False}


@pytest.mark.parametrize("key", sorted(dev_sets.READERS))
def test_sets_hold_loinc_golds_only_and_no_mimic3_label(key: str) -> None:
    _needs_data()
    with dev_sets.MIMIC.open(newline="", encoding="utf-8") as f:
        mimic3 = {r["label"].strip().lower() for r in csv.DictReader(f)}
    dev, check = dev_sets.cases(key, lambda *row: row)
    rows = [r for r in (*dev, *check) if isinstance(r, tuple)]
    assert rows and len(rows) <= dev_sets.LIMIT
    assert all(dev_sets.LOINC_CODE.fullmatch(r[3]) for r in rows)
    assert all(dev_sets.in_dev_half(r[0]) for r in dev)
    assert not any(dev_sets.in_dev_half(r[0]) for r in check)
    if key in ("mimic4", "nwicu"):
        assert not {r[0].strip().lower() for r in rows} & mimic3
