"""ValueSet JSON → ValueSetDefinition (compose only; the expansion is built by the service)."""

from __future__ import annotations

from termserver.errors import InvalidRequest
from termserver.fhir.codesystem import text_or_none
from termserver.model import (
    JSON,
    ConceptReference,
    ConceptSet,
    Designation,
    Filter,
    ValueSetDefinition,
)


def value_set_definition(data: JSON) -> ValueSetDefinition:
    if data.get("resourceType") != "ValueSet":
        raise InvalidRequest(f"expected a ValueSet, got {data.get('resourceType')}",
                             expression=("valueSet",))
    compose = data.get("compose") or {}
    inactive = compose.get("inactive")
    return ValueSetDefinition(
        url=text_or_none(data.get("url")),
        version=text_or_none(data.get("version")),
        include=tuple(_concept_set(s) for s in compose.get("include") or []),
        exclude=tuple(_concept_set(s) for s in compose.get("exclude") or []),
        inactive=inactive if isinstance(inactive, bool) else None,
        resource=data,
    )


def _concept_set(data: JSON) -> ConceptSet:
    return ConceptSet(
        system=text_or_none(data.get("system")),
        version=text_or_none(data.get("version")),
        concepts=tuple(ConceptReference(
            str(c.get("code")), text_or_none(c.get("display")),
            tuple(Designation(str(c.get("code")), str(d.get("value")),
                              text_or_none(d.get("language")),
                              text_or_none((d.get("use") or {}).get("system")),
                              text_or_none((d.get("use") or {}).get("code")))
                  for d in c.get("designation") or [] if d.get("value")))
            for c in data.get("concept") or []),
        filters=tuple(Filter(str(f.get("property", "")), str(f.get("op", "")),
                             str(f.get("value", ""))) for f in data.get("filter") or []),
        value_sets=tuple(str(v) for v in data.get("valueSet") or []),
    )
