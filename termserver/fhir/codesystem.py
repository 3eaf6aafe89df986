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
    """All concepts of a CodeSystem, depth-first, with designations, properties and links."""
    yield from _records(data.get("concept") or [], None)


def _records(concepts: list[JSON], parent: str | None) -> Iterator[Record]:
    for c in concepts:
        code = str(c["code"])
        props = list(_properties(code, c.get("property") or []))
        yield Concept(
            code=code,
            display=text_or_none(c.get("display")),
            definition=text_or_none(c.get("definition")),
            inactive=any(_is_inactive(p) for p in props),
            abstract=any(p.property in ("notSelectable", "abstract") and p.value == "true"
                         for p in props),
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
        if standards and not any(p.property == "status" for p in props):
            yield ConceptProperty(code, "status", standards, "code")
        if parent is not None:
            yield ParentLink(code, parent)
        for p in props:
            if p.property == "parent" and p.value != parent:
                yield ParentLink(code, p.value)
        yield from _records(c.get("concept") or [], code)


STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"


def _standards_status(element: JSON) -> str | None:
    """The standards-status extension (e.g. `deprecated`) of a concept or resource."""
    for ext in element.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == STANDARDS_STATUS:
            return text_or_none(ext.get("valueCode"))
    return None


def _is_inactive(p: ConceptProperty) -> bool:
    if p.property == "inactive":
        return p.value == "true"
    return p.property == "status" and p.value in ("retired", "inactive")


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
