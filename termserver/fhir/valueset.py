"""ValueSet JSON → ValueSetDefinition (compose only; the expansion is built by the service)."""

from __future__ import annotations

from termserver.aliases import canonical_system
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
        contained=tuple(value_set_definition(c) for c in data.get("contained") or []
                        if isinstance(c, dict) and c.get("resourceType") == "ValueSet"),
        language=text_or_none(data.get("language")),
        expansion_parameters=tuple(_expansion_parameters(compose)),
    )


EXPANSION_PARAMETER = "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter"


def _expansion_parameters(compose: JSON) -> list[tuple[str, str]]:
    out = []
    for ext in compose.get("extension") or []:
        if ext.get("url") != EXPANSION_PARAMETER:
            continue
        parts = {e.get("url"): next((v for k, v in e.items() if k.startswith("value")), None)
                 for e in ext.get("extension") or []}
        if parts.get("name") and parts.get("value") is not None:
            out.append((str(parts["name"]), str(parts["value"]).lower()
                        if isinstance(parts["value"], bool) else str(parts["value"])))
    return out


def _concept_set(data: JSON) -> ConceptSet:
    return ConceptSet(
        system=_canonical_system(text_or_none(data.get("system"))),
        version=text_or_none(data.get("version")),
        concepts=tuple(_concept_reference(c) for c in data.get("concept") or []),
        filters=tuple(_filter(f) for f in data.get("filter") or []),
        value_sets=tuple(str(v) for v in data.get("valueSet") or []),
    )


def _canonical_system(url: str | None) -> str | None:
    """Legacy and BfArM aliases of a code system URL name the canonical one."""
    return canonical_system(url) if url is not None else None


def _concept_reference(c: JSON) -> ConceptReference:
    designations = [d for d in c.get("designation") or [] if d.get("value")]
    return ConceptReference(
        str(c.get("code")), text_or_none(c.get("display")),
        tuple(Designation(str(c.get("code")), str(d.get("value")),
                          text_or_none(d.get("language")),
                          text_or_none((d.get("use") or {}).get("system")),
                          text_or_none((d.get("use") or {}).get("code")),
                          text_or_none((d.get("use") or {}).get("display")))
              for d in designations),
        extensions=tuple(c.get("extension") or ()),
        designation_extensions=tuple(tuple(d.get("extension") or ()) for d in designations),
    )


#: R4 has no `child-of`/`descendent-leaf` filter operators; R4 clients send them here (on `_op`).
R5_FILTER_OP = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.compose.include.filter.op"


def _filter(f: JSON) -> Filter:
    op = f.get("op")
    if not op:
        op = next((x.get("valueCode") for x in (f.get("_op") or {}).get("extension") or []
                   if x.get("url") == R5_FILTER_OP), None)
    value = f.get("value")
    return Filter(str(f.get("property", "")), str(op or ""),
                  "" if value is None else str(value), has_value=value not in (None, ""))
