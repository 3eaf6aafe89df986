"""A local name that is only a Greek letter ("Alpha-1", "Alpha-2", "Beta", "Gamma") names a
fraction of a protein electrophoresis.

General laboratory knowledge, hand-written, not derived from any evaluation set: a serum (or
urine, spinal fluid) protein electrophoresis reports albumin and the globulin fractions alpha-1,
alpha-2, beta (often beta-1 and beta-2) and gamma, and a laboratory lists them under the
letter alone. LOINC names them "Alpha 1 globulin", "Beta globulin", "Gamma globulin" (by
Electrophoresis); a bare letter would otherwise match any analyte with a Greek letter in its
name (Interleukin 1 alpha, Beta alanine, Choriogonadotropin.beta subunit).
"""

from __future__ import annotations

import re

from mappings.normalize import fold, greek

__all__ = ["globulin_fraction"]

_FRACTION = re.compile(r"^\s*(alpha|beta|gamma)\s*-?\s*([12])?\s*$")


def globulin_fraction(text: str) -> str:
    """The LOINC name of the electrophoresis fraction a bare Greek letter names ("Alpha-1" →
    "Alpha 1 globulin"); `text` unchanged when it names more than the letter."""
    m = _FRACTION.match(fold(greek(text)))
    if not m:
        return text
    return " ".join(w for w in (m.group(1), m.group(2), "globulin") if w)
