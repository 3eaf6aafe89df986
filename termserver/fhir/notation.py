"""CodeSystem/$normalize result → Parameters (a helper operation of this server, not FHIR core).

One `coding` parameter per bare code: parts `coding` (valueCoding, with the de.basisprofil.r4
Mehrfachcodierungs-Kennzeichen extension for dagger, asterisk and additional codes), `role`,
`given` (the token as written) and, when ICD-10-GM is loaded, `found`. The diagnosis certainty
and laterality letters come back as `certainty`/`laterality` Codings (KBV code systems).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from termserver.model import JSON

KENNZEICHEN_EXTENSION = ("http://fhir.de/StructureDefinition/"
                         "icd-10-gm-mehrfachcodierungs-kennzeichen")
KENNZEICHEN_SYSTEM = "http://fhir.de/CodeSystem/icd-10-gm-mehrfachcodierungs-kennzeichen"
#: role → Mehrfachcodierungs-Kennzeichen code (a primary code carries none)
KENNZEICHEN = {"dagger": "†", "asterisk": "*", "additional": "!"}
CERTAINTY_SYSTEM = "https://fhir.kbv.de/CodeSystem/KBV_CS_SFHIR_ICD_DIAGNOSESICHERHEIT"
LATERALITY_SYSTEM = "https://fhir.kbv.de/CodeSystem/KBV_CS_SFHIR_ICD_SEITENLOKALISATION"
CERTAINTY = {"G": "gesichert", "V": "Verdacht auf", "Z": "Zustand nach",
             "A": "ausgeschlossen"}
LATERALITY = {"R": "rechts", "L": "links", "B": "beidseitig"}


class _Part(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def given(self) -> str: ...


class _Code(Protocol):
    @property
    def part(self) -> _Part: ...
    @property
    def system(self) -> str: ...
    @property
    def version(self) -> str | None: ...
    @property
    def display(self) -> str | None: ...
    @property
    def found(self) -> bool | None: ...


class _Notation(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def certainty(self) -> str | None: ...
    @property
    def laterality(self) -> str | None: ...
    @property
    def rest(self) -> str: ...


class NormalizeOutcome(Protocol):
    """What `termserver.service.icd_notation.normalize` answers (NormalizeResult)."""

    @property
    def notation(self) -> _Notation: ...
    @property
    def codes(self) -> Sequence[_Code]: ...


def normalize_to_parameters(result: NormalizeOutcome) -> JSON:
    params: list[JSON] = [{"name": "text", "valueString": result.notation.text}]
    for c in result.codes:
        coding: JSON = {"system": c.system}
        if c.version:
            coding["version"] = c.version
        coding["code"] = c.part.code
        if c.display:
            coding["display"] = c.display
        mark = KENNZEICHEN.get(c.part.role)
        if mark is not None:
            coding["extension"] = [{"url": KENNZEICHEN_EXTENSION, "valueCoding": {
                "system": KENNZEICHEN_SYSTEM, "code": mark}}]
        parts: list[JSON] = [{"name": "coding", "valueCoding": coding},
                             {"name": "role", "valueCode": c.part.role},
                             {"name": "given", "valueString": c.part.given}]
        if c.found is not None:
            parts.append({"name": "found", "valueBoolean": c.found})
        params.append({"name": "coding", "part": parts})
    n = result.notation
    if n.certainty:
        params.append({"name": "certainty", "valueCoding": {
            "system": CERTAINTY_SYSTEM, "code": n.certainty, "display": CERTAINTY[n.certainty]}})
    if n.laterality:
        params.append({"name": "laterality", "valueCoding": {
            "system": LATERALITY_SYSTEM, "code": n.laterality,
            "display": LATERALITY[n.laterality]}})
    if n.rest:
        params.append({"name": "unparsed", "valueString": n.rest})
    return {"resourceType": "Parameters", "parameter": params}
