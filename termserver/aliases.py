"""Canonical URL aliases of code systems: other URLs by which clients name the same system.

The German classifications moved from DIMDI to BfArM in 2020 and BfArM's terminology server
publishes them with its own resource URLs, so one classification has three names in the wild:

* `http://fhir.de/CodeSystem/bfarm/icd-10-gm`: the canonical (de.basisprofil.r4, KDS);
* `http://fhir.de/CodeSystem/dimdi/icd-10-gm`: the legacy name from the DIMDI years;
* `https://terminologien.bfarm.de/fhir/CodeSystem/icd10gm`: the URL of BfArM's terminology
  server (ZTS); BfArM's OPS CodeSystem lists `…/CodeSystem/ops` as an official identifier
  and the dimdi URL as an old one.

Requests may use any of them; the server stores and answers under the canonical one. Pure
lookups, no I/O: the store and the service apply `canonical_system` where a system URL is
resolved.
"""

from __future__ import annotations

ICD_10_GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
OPS = "http://fhir.de/CodeSystem/bfarm/ops"
ALPHA_ID = "http://fhir.de/CodeSystem/bfarm/alpha-id"
ATC = "http://fhir.de/CodeSystem/bfarm/atc"

#: alias → canonical URL
ALIASES: dict[str, str] = {
    "http://fhir.de/CodeSystem/dimdi/icd-10-gm": ICD_10_GM,
    "https://terminologien.bfarm.de/fhir/CodeSystem/icd10gm": ICD_10_GM,
    "http://fhir.de/CodeSystem/dimdi/ops": OPS,
    "https://terminologien.bfarm.de/fhir/CodeSystem/ops": OPS,
    "http://fhir.de/CodeSystem/dimdi/alpha-id": ALPHA_ID,
    "http://fhir.de/CodeSystem/dimdi/atc": ATC,
}


def canonical_system(url: str) -> str:
    """The canonical URL for `url` (itself when it is no known alias). A `|version` suffix
    is kept: `http://fhir.de/CodeSystem/dimdi/ops|2024` → `…/bfarm/ops|2024`."""
    found = ALIASES.get(url)
    if found is not None:
        return found
    if "|" in url:
        base, _, version = url.partition("|")
        found = ALIASES.get(base)
        if found is not None:
            return f"{found}|{version}"
    return url


def aliases_of(canonical: str) -> list[str]:
    """Every alias of `canonical`, e.g. to search stored resources under any of its names."""
    return [alias for alias, target in ALIASES.items() if target == canonical]


__all__ = ["ALIASES", "ICD_10_GM", "OPS", "aliases_of", "canonical_system"]
