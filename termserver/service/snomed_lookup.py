"""$lookup of SNOMED CT concepts and post-coordinated expressions.

The result names the edition as `system|version` (SNOMED CT has no other code system name
that tells editions apart), lists the concept's descriptions as its designations (the display
is the preferred synonym among them), and labels what its properties name: the display of
each code value (`description`) and of each attribute type (`code-display`). Without a
`property` parameter the properties are `inactive`, `effectiveTime`, `parent`, `child` and
the defining attributes; `moduleId` and `sufficientlyDefined` are given when asked for.

An expression with one focus concept reports that concept's properties, its own refinements
as attribute properties, and its display (the expression with terms) as its one designation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from termserver.model import Concept, ConceptDetail, ConceptProperty, Designation, LookupResult
from termserver.service import deadline
from termserver.service.lookup import LabelledLookup
from termserver.service.snomed_expression import Attribute, Expression, parse, render

#: Properties given only when the request's `property` parameter asks for them.
ON_REQUEST = frozenset({"moduleId", "sufficientlyDefined"})
HL7_MAINT = "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra"
#: Most concepts labelled with their display (beyond: codes only), read this many at once.
MAX_LABELLED, CHUNK = 10_000, 500

Term = Callable[[str], str | None]
Terms = Callable[[Sequence[str]], Mapping[str, str]]
Base = Callable[[str], ConceptDetail | None]


def extend(result: LookupResult, term: Term, terms: Terms, base: Base) -> LookupResult:
    """Complete a SNOMED CT $lookup result (`term`: a concept's display, `terms`: the displays
    of many; `base`: the stored concept, never an expression)."""
    info = result.code_system
    info = replace(info, name=f"{info.url}|{info.version}" if info.version else info.url)
    detail = result.detail
    code = detail.concept.code
    refinements: list[Attribute] = []
    designations = detail.designations
    if not code.isdigit():
        expr = parse(code)
        focus = base(expr.focus[0]) if expr is not None and len(expr.focus) == 1 else None
        if expr is not None:
            refinements = [*expr.ungrouped, *(a for g in expr.groups for a in g)]
        display = detail.concept.display or code
        designations = (Designation(code, display, "en-US", HL7_MAINT, "preferredForLanguage",
                                    "Preferred For Language"),)
        own = tuple(ConceptProperty(code, a.type_id, _value_code(a), "code")
                    for a in refinements if not _concrete(a))
        detail = ConceptDetail(
            Concept(code, display), designations,
            (focus.properties if focus else ()) + own,
            focus.parents if focus else detail.parents, focus.children if focus else ())
    properties = detail.properties
    if not result.properties:
        properties = tuple(p for p in properties if p.property not in ON_REQUEST)
    detail = replace(detail, properties=properties, designations=designations)
    labels = _labels(detail, refinements, term, terms)
    return LabelledLookup(info, detail, result.display_language, result.properties,
                          result.display, result.used_supplements,
                          result.supplement_designations, labels, False)


def _concrete(a: Attribute) -> bool:
    return isinstance(a.value, str) and a.value.startswith(("#", '"'))


def _value_code(a: Attribute) -> str:
    return render(a.value, lambda _c: None) if isinstance(a.value, Expression) else a.value


def _labels(detail: ConceptDetail, refinements: Iterable[Attribute], term: Term,
            terms: Terms) -> tuple[tuple[str, str], ...]:
    """(code, display) of every concept the lookup's properties name."""
    wanted: list[str] = []
    for p in detail.properties:
        if p.property.isdigit():
            wanted.append(p.property)
        if p.type == "code" and p.value.isdigit():
            wanted.append(p.value)
    wanted = list(dict.fromkeys([*wanted, *detail.parents, *detail.children]))[:MAX_LABELLED]
    out: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        deadline.check()
        out.update(terms(wanted[start:start + CHUNK]))
    for a in refinements:
        if isinstance(a.value, Expression):
            out[_value_code(a)] = render(a.value, term)
    return tuple(out.items())
