"""SNOMED CT in the terminology operations (https://hl7.org/fhir/R4/snomedct.html).

* `SnomedProvider`: a stored SNOMED CT version that also answers post-coordinated
  expressions (`lookup` gives them their normal form as display, `ancestors` their focus
  concepts' ancestors-or-self).
* Compose filters (called from service/filters.py): `constraint = ECL`, `concept in
  refsetId`, `expressions = true|false`; ECL results are cached per (version, expression).
* Implicit value sets `http://snomed.info/sct[/module[/version/date]]?fhir_vs[=isa/id |
  =refset/id | =ecl/ECL]` (registered in TxContext's IMPLICIT_VALUE_SETS).
* Implicit concept maps `http://snomed.info/sct?fhir_cm={refsetId}` over historical
  association and map refsets (read by service/translate.py).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import unquote

from termserver.model import (
    Concept,
    ConceptDetail,
    ConceptSet,
    Designation,
    Filter,
    LookupResult,
    MapElement,
    StoredCodeSystem,
    ValueSetDefinition,
)
from termserver.service import context, snomed_lookup
from termserver.service.context import TxContext
from termserver.service.ecl.evaluate import evaluate
from termserver.service.ecl.graph import ConcreteValue, EclGraph, MemoryEclGraph, Relationship
from termserver.service.provider import CodeSystemProvider, StoredCodeSystemProvider
from termserver.service.snomed_editions import edition_name
from termserver.service.snomed_expression import Expression, parse, render
from termserver.service.snomed_graph import ExpressionGraph, StoreEclGraph, concrete
from termserver.service.snomed_mrcm import NOT_MRCM_CHECKED, problem
from termserver.store import Store
from termserver.store.search_candidates import term_texts

SNOMED = "http://snomed.info/sct"
Test = Callable[[ConceptDetail], bool]

#: Work budget of one ECL evaluation (concept ids and relationship rows handled).
ECL_MAX_WORK = 20_000_000
#: Evaluated ECL sets kept, and the most codes kept over all of them.
ECL_CACHE_ENTRIES, ECL_CACHE_CODES = 256, 2_000_000

#: Historical association refsets (REPLACED BY, SAME AS, POSSIBLY EQUIVALENT TO, …) and the
#: ConceptMap relationship / R4 equivalence of their rows.
ASSOCIATIONS: dict[str, tuple[str, str, str]] = {
    "900000000000526001": ("REPLACED BY", "equivalent", "equivalent"),
    "900000000000527005": ("SAME AS", "equivalent", "equal"),
    "900000000000523009": ("POSSIBLY EQUIVALENT TO", "related-to", "inexact"),
    "900000000000528000": ("WAS A", "source-is-narrower-than-target", "wider"),
    "900000000000530003": ("ALTERNATIVE", "related-to", "relatedto"),
    "1186921001": ("POSSIBLY REPLACED BY", "related-to", "inexact"),
    "1186924009": ("PARTIALLY EQUIVALENT TO", "source-is-broader-than-target", "narrower"),
}


class SnomedProvider(StoredCodeSystemProvider):
    """A stored SNOMED CT version; codes may be post-coordinated expressions."""

    def __init__(self, store: Store, cs: StoredCodeSystem) -> None:
        super().__init__(store, cs)
        self._graph: StoreEclGraph | None = None
        self._reasons: dict[str, str | None] = {}  # expression → why invalid (this request)

    @property
    def graph(self) -> StoreEclGraph:
        if self._graph is None:
            self._graph = StoreEclGraph(self.store, self.stored.pk)
        return self._graph

    def lookup(self, code: str) -> ConceptDetail | None:
        if code.isdigit():
            found = super().lookup(code)
            if found is None or not any(p.property == INACTIVE_DESCRIPTION
                                        for p in found.properties):
                return found
            return replace(found, properties=tuple(
                p for p in found.properties if p.property != INACTIVE_DESCRIPTION))
        if self.invalid_reason(code) is not None:
            return None
        expr = parse(code)
        assert expr is not None
        display = render(expr, self._term)
        return ConceptDetail(Concept(code, display), parents=expr.focus)

    def invalid_reason(self, code: str) -> str | None:
        """Why `code` is not a concept or valid expression of this version, for the
        information issue after "Unknown code" (None: it is valid, or a plain unknown id)."""
        if code.isdigit():
            return None
        if code in self._reasons:
            return self._reasons[code]
        expr = parse(code)
        if expr is None:
            reason: str | None = "it does not follow the SNOMED CT compositional grammar"
        else:
            reason = problem(self.store, self.stored.pk, expr,
                             lambda ecl: ecl_members(self, ecl),
                             lambda value, ecl: expression_in_ecl(
                                 self, render(value, lambda _c: None), ecl))
        if len(self._reasons) < 256:
            self._reasons[code] = None if reason is None else f"Not a valid expression: {reason}"
        return None if reason is None else f"Not a valid expression: {reason}"

    def inactive_designations(self, code: str) -> list[Designation]:
        """The concept's inactive descriptions (terms once valid as its display)."""
        found = super().lookup(code) if code.isdigit() else None
        return [Designation(code, p.value, self.language) for p in
                (found.properties if found else ()) if p.property == INACTIVE_DESCRIPTION]

    def code_notes(self, code: str) -> list[str]:
        """Notes for a valid code: an expression has not been checked against the whole
        concept model."""
        return [] if code.isdigit() else [NOT_MRCM_CHECKED]

    @property
    def edition_name(self) -> str:
        """The edition of this version, for messages ("International Edition")."""
        return edition_name(self.store, self.stored.pk, self.version)

    def extend_lookup(self, result: LookupResult) -> LookupResult:
        """$lookup: SNOMED CT names, labels and default properties (service/snomed_lookup)."""
        return snomed_lookup.extend(result, self._term, self._terms, super().lookup)

    def ancestors(self, code: str) -> set[str]:
        if code.isdigit():
            return super().ancestors(code)
        expr = parse(code)
        found: set[str] = set()
        for focus in expr.focus if expr else ():
            found |= {focus} | super().ancestors(focus)
        return found

    def descendants(self, code: str) -> set[str]:
        return super().descendants(code) if code.isdigit() else set()

    def _term(self, code: str) -> str | None:
        concept = self.store.concept(self.stored.pk, code)
        return concept.display if concept else None

    def _terms(self, codes: Sequence[str]) -> dict[str, str]:
        """The displays of `codes` (one query)."""
        return {code: display for code, (display, _texts, _props)
                in term_texts(self.store, self.stored.pk, codes, ()).items() if display != code}


#: The property the loader keeps inactive description terms in (loaders/snomed.py).
INACTIVE_DESCRIPTION = "inactiveDescription"
#: Description types (use codes of the designations).
FSN, SYNONYM = "900000000000003001", "900000000000013009"


def significant_designations(detail: ConceptDetail) -> ConceptDetail:
    """The concept with the designations an expansion shows: per language its fully specified
    name, then its preferred synonym (the display, in the display's language). The stored
    order puts preferred synonyms first, so the first synonym of a language is its preferred
    one."""
    if not detail.designations:  # not read (no display language, no designations asked)
        return detail
    display = detail.concept.display
    fsn: dict[str, Designation] = {}
    synonym: dict[str, Designation] = {}
    for d in detail.designations:
        lang = d.language or ""
        if d.use_code == FSN:
            fsn.setdefault(lang, d)
        elif d.use_code == SYNONYM and (lang not in synonym or (
                d.value == display and synonym[lang].value != display)):
            synonym[lang] = d
    return replace(detail, designations=(*fsn.values(), *synonym.values()))


def stored_provider(store: Store, cs: StoredCodeSystem) -> CodeSystemProvider | None:
    """TxContext hook: SNOMED CT versions get a SnomedProvider."""
    return SnomedProvider(store, cs) if cs.url == SNOMED else None


# -- ECL --------------------------------------------------------------------------------------

_ECL_CACHE: OrderedDict[tuple[int, int, int, str], frozenset[str]] = OrderedDict()


def graph_for(provider: CodeSystemProvider) -> EclGraph:
    """The ECL view of a SNOMED CT provider (a small in-memory one for tx-resources)."""
    if isinstance(provider, SnomedProvider):
        return provider.graph
    if isinstance(provider, StoredCodeSystemProvider):
        return StoreEclGraph(provider.store, provider.stored.pk)
    graph = MemoryEclGraph()
    for detail in provider.concepts():
        graph.add_concept(detail.concept.code, *detail.parents,
                          active=not detail.concept.inactive, term=detail.concept.display)
    return graph


def ecl_members(provider: CodeSystemProvider, ecl: str) -> frozenset[str]:
    """The concepts `ecl` denotes in the provider's version; cached for stored versions."""
    key = None
    if isinstance(provider, StoredCodeSystemProvider):
        key = (id(provider.store), provider.store.generation, provider.stored.pk, ecl.strip())
        hit = _ECL_CACHE.get(key)
        if hit is not None:
            _ECL_CACHE.move_to_end(key)
            return hit
    found = frozenset(evaluate(ecl, graph_for(provider), max_work=ECL_MAX_WORK))
    if key is not None:
        _ECL_CACHE[key] = found
        while len(_ECL_CACHE) > ECL_CACHE_ENTRIES or \
                sum(len(v) for v in _ECL_CACHE.values()) > ECL_CACHE_CODES:
            _ECL_CACHE.popitem(last=False)
            if not _ECL_CACHE:
                break
    return found


def expression_in_ecl(provider: CodeSystemProvider, code: str, ecl: str) -> bool:
    """Is the post-coordinated expression `code` in the ECL set? It is evaluated as one more
    concept below its focus concepts, with its attributes (and the focus concepts' own
    attributes of other types)."""
    expr = parse(code)
    if expr is None:
        return False
    base = graph_for(provider)
    rels, values = _expression_attributes(code, expr, base)
    overlay = ExpressionGraph(base, code, set(expr.focus), rels, values)
    return code in evaluate(ecl, overlay, max_work=ECL_MAX_WORK)


def _expression_attributes(code: str, expr: Expression, base: EclGraph
                           ) -> tuple[list[Relationship], list[ConcreteValue]]:
    own = {a.type_id for a in (*expr.ungrouped, *(a for g in expr.groups for a in g))}
    rels = [Relationship(code, r.type_id, r.destination, r.group)
            for r in base.relationships(sources=set(expr.focus)) if r.type_id not in own]
    values = [ConcreteValue(code, v.type_id, v.value, v.group)
              for v in base.concrete_values(sources=set(expr.focus)) if v.type_id not in own]
    first = max((r.group for r in rels), default=0) + 1
    numbered = [(0, a) for a in expr.ungrouped] + \
        [(first + i, a) for i, g in enumerate(expr.groups) for a in g]
    for group, a in numbered:
        if isinstance(a.value, Expression):
            rels += [Relationship(code, a.type_id, f, group) for f in a.value.focus]
        elif a.value.startswith(("#", '"')):
            values.append(ConcreteValue(code, a.type_id, concrete(a.value), group))
        else:
            rels.append(Relationship(code, a.type_id, a.value, group))
    return rels, values


# -- compose filters --------------------------------------------------------------------------


def filter_test(provider: CodeSystemProvider, f: Filter) -> Test | None:
    """The SNOMED CT compose filters (None: not one of them, the generic rules apply)."""
    if provider.url != SNOMED:
        return None
    if f.property == "constraint" and f.op == "=":
        ecl = f.value
        members = ecl_members(provider, ecl)
        return lambda d: d.concept.code in members or (
            not d.concept.code.isdigit() and expression_in_ecl(provider, d.concept.code, ecl))
    if f.property in ("concept", "code") and f.op == "in":
        refset = graph_for(provider).refset_members(f.value)
        return lambda d: d.concept.code in refset
    if f.property == "expressions" and f.op == "=":
        allowed = f.value == "true"
        return lambda d: allowed or d.concept.code.isdigit()
    return None


def candidate_codes(provider: CodeSystemProvider, f: Filter) -> set[str] | None:
    """The codes a SNOMED CT filter can select, known up front (None: not known)."""
    if provider.url != SNOMED:
        return None
    if f.property == "constraint" and f.op == "=":
        return set(ecl_members(provider, f.value))
    if f.property in ("concept", "code") and f.op == "in":
        return graph_for(provider).refset_members(f.value)
    return None


def unclosed(cset: ConceptSet) -> str | None:
    """For an expansion of `cset`: None when closed; "" when unclosed because expressions may
    refine its members; the reason when it is the whole of SNOMED CT."""
    if cset.system != SNOMED or cset.concepts:
        return None
    if any(f.property == "expressions" and f.value == "false" for f in cset.filters):
        return None
    if not cset.filters:
        return f"The code System '{SNOMED}' has a grammar and so has infinite members"
    return ""


# -- implicit value sets ----------------------------------------------------------------------

_IMPLICIT = re.compile(r"^http://snomed\.info/sct(?:/(\d+)(?:/version/(\d{8}))?)?\?fhir_vs"
                       r"(?:=(isa|refset|ecl)/(.+))?$", re.DOTALL)


def implicit_value_set(ctx: TxContext, url: str, version: str | None
                       ) -> ValueSetDefinition | None:
    """The definition of a SNOMED CT implicit value set url, or None (not one, or its
    concept is unknown in the version meant)."""
    m = _IMPLICIT.match(url)
    if m is None:
        return None
    module, date, kind, arg = m.groups()
    edition = _edition(ctx, module, date)
    if edition == "":
        return None
    wanted = ctx.rules.wanted(SNOMED, edition)[0]
    provider = ctx.code_system(SNOMED, wanted)
    if provider is None:
        return None
    filters: tuple[Filter, ...] = ()
    if kind in ("isa", "refset"):
        if not arg.isdigit() or provider.lookup(arg) is None:
            return None
        if kind == "refset" and not _is_refset(provider, arg):
            return None
        filters = (Filter("concept", "is-a", arg),) if kind == "isa" else \
            (Filter("concept", "in", arg),)
        title = (f"SNOMED CT {arg} and its descendants" if kind == "isa" else
                 f"SNOMED CT reference set {arg}")
    elif kind == "ecl":
        filters = (Filter("constraint", "=", unquote(arg)),)
        title = f"SNOMED CT concepts matching {unquote(arg)}"
    else:
        title = "SNOMED CT Reference Set (All of SNOMED CT)"
    resource = {"resourceType": "ValueSet", "url": url, "name": "ALLSNOMEDCT" if not kind
                else None, "title": title, "status": "active",
                "date": datetime.now(UTC).isoformat(timespec="seconds")}
    include = ConceptSet(system=SNOMED, version=edition, filters=filters)
    return ValueSetDefinition(url=url, version=version, include=(include,),
                              resource={k: v for k, v in resource.items() if v is not None})


#: The root of the reference set concepts.
REFERENCE_SET = "900000000000455006"


def _is_refset(provider: CodeSystemProvider, code: str) -> bool:
    """A refset concept, or a concept with reference set members loaded."""
    return REFERENCE_SET in provider.ancestors(code) or \
        bool(graph_for(provider).refset_members(code))


def _edition(ctx: TxContext, module: str | None, date: str | None) -> str | None:
    """The version an edition-specific url means: None (any), the version, or "" when no
    loaded version is of that module."""
    if module is None:
        return None
    if date is not None:
        return f"{SNOMED}/{module}/version/{date}"
    versions = [v for v in ctx.code_system_versions(SNOMED)
                if v and re.search(rf"/x?sct/{module}/version/", v)]
    return versions[-1] if versions else ""


# -- implicit concept maps --------------------------------------------------------------------

_IMPLICIT_MAP = re.compile(r"^http://snomed\.info/sct(?:/\d+(?:/version/\d{8})?)?"
                           r"\?fhir_cm=(\d+)$")


def implicit_map_rows(ctx: TxContext, url: str, code: str, reverse: bool = False
                      ) -> list[MapElement] | None:
    """Rows of the implicit ConceptMap `url` for `code` (None: `url` is not one). Historical
    associations map inactive concepts to their replacements; map refsets map concepts to
    `mapTarget` codes (target system unknown to RF2, so left empty)."""
    m = _IMPLICIT_MAP.match(url)
    if m is None:
        return None
    refset = m.group(1)
    provider = ctx.code_system(SNOMED, ctx.rules.wanted(SNOMED, None)[0])
    if not isinstance(provider, StoredCodeSystemProvider):
        return []
    store, pk = provider.store, provider.stored.pk
    if reverse:
        rows = [r for r in store.refset_rows(pk, (refset,)) if r[2] == code]
    else:
        rows = store.refset_rows(pk, (refset,), (code,))
    association = ASSOCIATIONS.get(refset)
    out = []
    for _refset, source, target, _fields in rows:
        if not target:
            continue
        relationship, equivalence = (association[1], association[2]) if association else \
            ("related-to", "relatedto")
        target_system = SNOMED if association else None
        out.append(MapElement(0, SNOMED, provider.version, source, None, target_system,
                              provider.version if association else None, target, None,
                              relationship, equivalence))
    return out


def install() -> None:
    """Register the hooks (idempotent)."""
    if implicit_value_set not in context.IMPLICIT_VALUE_SETS:
        context.IMPLICIT_VALUE_SETS.append(implicit_value_set)
    if stored_provider not in context.STORED_PROVIDERS:
        context.STORED_PROVIDERS.append(stored_provider)
