"""CodeSystem JSON → CodeSystemInfo + records (and the checks a stored CodeSystem must pass)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from termserver.errors import BusinessRule
from termserver.model import (
    JSON,
    CodeSystemInfo,
    Concept,
    ConceptProperty,
    Designation,
    ParentLink,
    PropertyType,
    Record,
)

_VALUE_KEYS: tuple[tuple[str, PropertyType], ...] = (
    ("valueCode", "code"), ("valueCoding", "Coding"), ("valueString", "string"),
    ("valueInteger", "integer"), ("valueBoolean", "boolean"), ("valueDateTime", "dateTime"),
    ("valueDecimal", "decimal"),
)


def code_system_info(data: JSON) -> CodeSystemInfo:
    header = {k: v for k, v in data.items() if k != "concept"}
    cs = data.get("caseSensitive")
    return CodeSystemInfo(
        url=str(data.get("url") or ""),
        version=text_or_none(data.get("version")),
        name=text_or_none(data.get("name")),
        title=text_or_none(data.get("title")),
        status=str(data.get("status") or "unknown"),
        content=str(data.get("content") or "complete"),
        hierarchy_meaning=text_or_none(data.get("hierarchyMeaning")),
        case_sensitive=cs if isinstance(cs, bool) else None,
        language=text_or_none(data.get("language")),
        supplements=text_or_none(data.get("supplements")),
        id=text_or_none(data.get("id")),
        resource=header,
    )


def check_code_system(data: JSON) -> None:
    """Business rules for storing a CodeSystem: a url, and no duplicate codes."""
    if not data.get("url"):
        raise BusinessRule("CodeSystem.url is required to store a code system",
                           expression=("CodeSystem.url",))
    seen: set[str] = set()
    for code, path in _walk_codes(data.get("concept") or [], "CodeSystem.concept"):
        if not isinstance(code, str) or not code:
            raise BusinessRule(f"{path}.code is missing", expression=(f"{path}.code",))
        if code in seen:
            raise BusinessRule(f"duplicate code {code!r} in CodeSystem", expression=(path,))
        seen.add(code)


def _walk_codes(concepts: list[Any], path: str) -> Iterator[tuple[Any, str]]:
    for i, c in enumerate(concepts):
        here = f"{path}[{i}]"
        if not isinstance(c, dict):
            yield None, here
            continue
        yield c.get("code"), here
        yield from _walk_codes(c.get("concept") or [], f"{here}.concept")


def code_system_records(data: JSON) -> Iterator[Record]:
    """All concepts of a CodeSystem, depth-first, with designations, properties and links.
    Properties mean what their declared URI says (`CodeSystem.property.uri`, e.g. the v3 code
    systems' `subsumedBy` declared as `http://hl7.org/fhir/concept-properties#parent`), else
    what their code says."""
    links: set[tuple[str, str]] = set()  # a link given twice (parent and child) counts once
    for record in _records(data.get("concept") or [], None, property_meanings(data)):
        if isinstance(record, ParentLink):
            if (record.child, record.parent) in links or record.child == record.parent:
                continue
            links.add((record.child, record.parent))
        yield record


#: The URI prefix of the FHIR-defined concept properties (parent, child, status, inactive, …).
CONCEPT_PROPERTIES = "http://hl7.org/fhir/concept-properties#"
#: The codes of http://hl7.org/fhir/concept-properties (FHIR R5); a URI with another
#: fragment is no FHIR-defined property, so the property means what its code says.
FHIR_CONCEPT_PROPERTIES = frozenset((
    "status", "inactive", "effectiveDate", "deprecationDate", "deprecated",
    "retirementDate", "notSelectable", "parent", "child", "partOf", "synonym", "comment",
    "itemWeight"))


def property_meanings(data: JSON) -> dict[str, str]:
    """Local property code → FHIR-defined concept property it stands for, where its declared
    URI is one (`subsumedBy` → `parent`); codes without such a URI (or with an unknown
    fragment, `#notSelectableX`) are left out: they mean what their code says."""
    out: dict[str, str] = {}
    for p in data.get("property") or []:
        if not isinstance(p, dict) or not p.get("code"):
            continue
        uri = p.get("uri")
        if isinstance(uri, str) and uri.startswith(CONCEPT_PROPERTIES) and \
                uri[len(CONCEPT_PROPERTIES):] in FHIR_CONCEPT_PROPERTIES:
            out[str(p["code"])] = uri[len(CONCEPT_PROPERTIES):]
    return out


def _records(concepts: list[JSON], parent: str | None,
             meanings: dict[str, str]) -> Iterator[Record]:
    for c in concepts:
        code = str(c["code"])
        props = list(_properties(code, c.get("property") or []))
        means = [(meanings.get(p.property, p.property), p) for p in props]
        yield Concept(
            code=code,
            display=text_or_none(c.get("display")),
            definition=text_or_none(c.get("definition")),
            inactive=any(_is_inactive(m, p) for m, p in means),
            abstract=any(m in ("notSelectable", "abstract") and p.value == "true"
                         for m, p in means),
        )
        for d in c.get("designation") or []:
            if not d.get("value"):
                continue
            use = d.get("use") or {}
            yield Designation(code, str(d["value"]), text_or_none(d.get("language")),
                              text_or_none(use.get("system")), text_or_none(use.get("code")),
                              text_or_none(use.get("display")))
        yield from props
        standards = _standards_status(c)
        if standards and not any(m == "status" for m, _ in means):
            yield ConceptProperty(code, "status", standards, "code")
        if parent is not None:
            yield ParentLink(code, parent)
        for m, p in means:
            if m == "parent" and p.value:
                yield ParentLink(code, p.value)
            elif m == "child" and p.value:
                yield ParentLink(p.value, code)
        yield from _records(c.get("concept") or [], code, meanings)


STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"


def _standards_status(element: JSON) -> str | None:
    """The standards-status extension (e.g. `deprecated`) of a concept or resource."""
    for ext in element.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == STANDARDS_STATUS:
            return text_or_none(ext.get("valueCode"))
    return None


def _is_inactive(meaning: str, p: ConceptProperty) -> bool:
    if meaning == "inactive":
        return p.value == "true"
    return meaning == "status" and p.value in ("retired", "inactive")


def _properties(code: str, props: list[JSON]) -> Iterator[ConceptProperty]:
    for p in props:
        name = p.get("code")
        if not name:
            continue
        for key, kind in _VALUE_KEYS:
            if key not in p:
                continue
            value = p[key]
            if kind == "Coding":
                yield ConceptProperty(code, str(name), str(value.get("code", "")), kind,
                                      text_or_none(value.get("system")),
                                      text_or_none(value.get("display")))
            elif kind == "boolean":
                yield ConceptProperty(code, str(name), "true" if value else "false", kind)
            else:
                yield ConceptProperty(code, str(name), str(value), kind)
            break


def text_or_none(value: Any) -> str | None:
    """None for absent or empty FHIR values, else the value as text."""
    return None if value in (None, "") else str(value)
