"""pandas helpers of the client: results as Series aligned with the input's index. pandas is
imported here only, when a `*_series` method is called."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from termserver.client.results import LookupResult, TranslateResult, ValidateResult


def translated(series: Any, results: Sequence[TranslateResult | None], field: str) -> Any:
    """The best match's `field` per row; NA where unmapped, refused or without a code."""
    values: list[Any] = []
    for r in results:
        best = r.best if r is not None else None
        values.append(getattr(best, field) if best is not None else pd.NA)
    return pd.Series(values, index=series.index, dtype="string", name=series.name)


def validated(series: Any, results: Sequence[ValidateResult | None]) -> Any:
    values = [pd.NA if r is None or r.error is not None else r.result for r in results]
    return pd.Series(values, index=series.index, dtype="boolean", name=series.name)


def looked_up(series: Any, results: Sequence[LookupResult | None], field: str) -> Any:
    values = [pd.NA if r is None or not r.found else getattr(r, field) for r in results]
    return pd.Series(values, index=series.index, dtype="string", name=series.name)
