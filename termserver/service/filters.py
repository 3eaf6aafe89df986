"""ValueSet compose filters as predicates over one concept (shared by $expand and
$validate-code). Regexes run on the `regex` engine with a timeout (ReDoS-safe) and without
holding the GIL; every predicate counts against the request's deadline (service/deadline)."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import regex

from termserver.errors import InvalidRequest, TooCostly
from termserver.model import ConceptDetail, Filter
from termserver.service import deadline, snomed
from termserver.service.csview import CodeSystemView
from termserver.service.provider import (
    CodeSystemProvider,
    MemoryCodeSystem,
    StoredCodeSystemProvider,
)
from termserver.store.pages import Cond, Selection, count_codes

Test = Callable[[ConceptDetail], bool]
_CODE_PROPERTIES = ("concept", "code")


def filter_test(provider: CodeSystemProvider, f: Filter,
                path: str = "ValueSet.compose.include.filter") -> Test:
    """A predicate for concepts of `provider` that pass `f`; `path` locates the filter for
    errors (e.g. `ValueSet.compose.include[0].filter[1]`). Every CHECK_EVERY calls it checks
    the request's deadline, so a scan over a large code system ends with TooCostly in time."""
    test = _filter_test(provider, f, path)
    calls = 0

    def paced(d: ConceptDetail) -> bool:
        nonlocal calls
        calls += 1
        if calls % CHECK_EVERY == 0:
            deadline.check()
        return test(d)
    return paced


#: Concepts a filter predicate tests between two checks of the request's deadline.
CHECK_EVERY = 256


def _filter_test(provider: CodeSystemProvider, f: Filter, path: str) -> Test:
    op, value = f.op, f.value
    if not f.has_value and op != "exists":
        raise InvalidRequest(
            f"The system {provider.url} filter with property = {f.property}, op = {op} has no "
            "value", expression=(path,), message_id="UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE",
            tx_code="vs-invalid")
    special = snomed.filter_test(provider, f)  # SNOMED CT: constraint (ECL), refset, expressions
    if special is not None:
        return special
    prop, meaning = property_meaning(provider, f.property)  # by declared URI, e.g. subsumedBy
    if meaning in ("parent", "child") and op in ("=", "in", "not-in", "exists"):
        prop = meaning  # the hierarchy links, whatever the local code
    elif meaning == "inactive" and inactive_fallback(provider, prop):
        prop = _INACTIVE_FLAG
    if prop != f.property:
        f = Filter(prop, op, value, f.has_value)
    if f.property in _CODE_PROPERTIES:
        if op == "is-a":
            below = provider.descendants(value) | {value}
            return lambda d: d.concept.code in below
        if op == "descendent-of":
            below = provider.descendants(value)
            return lambda d: d.concept.code in below
        if op == "is-not-a":
            below = provider.descendants(value) | {value}
            return lambda d: d.concept.code not in below
        if op == "child-of":
            return lambda d: value in d.parents
        if op == "descendent-leaf":
            below = provider.descendants(value)
            return lambda d: d.concept.code in below and not d.children
        if op == "generalizes":
            above = provider.ancestors(value) | {value}
            return lambda d: d.concept.code in above
    if op == "regex":
        pattern = _regex(value)
        return lambda d: any(_full_match(pattern, v) for v in _values(d, f.property))
    if op == "=":
        return lambda d: value in _values(d, f.property)
    if op == "in":
        wanted = {v.strip() for v in value.split(",")}
        return lambda d: bool(wanted & set(_values(d, f.property)))
    if op == "not-in":
        unwanted = {v.strip() for v in value.split(",")}
        return lambda d: not unwanted & set(_values(d, f.property))
    if op == "exists":
        want = value != "false"
        return lambda d: bool(_values(d, f.property)) == want
    raise InvalidRequest(f"The filter '{f.property} {op} {value}' is not supported",
                         expression=(path,), tx_code="vs-invalid")


def candidates(provider: CodeSystemProvider, filters: tuple[Filter, ...]) -> set[str] | None:
    """The codes that can pass `filters` when some filter names them up front (is-a,
    descendent-of, SNOMED CT ECL and refset filters) on a stored code system, so an expansion
    looks up those instead of scanning every concept; None when no filter does."""
    if not isinstance(provider, StoredCodeSystemProvider):
        return None
    found: set[str] | None = None
    for f in filters:
        codes = snomed.candidate_codes(provider, f)
        if codes is None and f.property in _CODE_PROPERTIES and f.op in ("is-a",
                                                                         "descendent-of"):
            codes = provider.descendants(f.value) | ({f.value} if f.op == "is-a" else set())
        if codes is not None:
            found = codes if found is None else found & codes
    return found


#: Filter on the concept's inactive flag (a code system with `status` but no `inactive`).
_INACTIVE_FLAG = " inactive"


def _values(d: ConceptDetail, prop: str) -> list[str]:
    if prop in _CODE_PROPERTIES:
        return [d.concept.code]
    if prop == _INACTIVE_FLAG:
        return ["true" if d.concept.inactive else "false"]
    if prop == "display":
        return [d.concept.display] if d.concept.display else []
    if prop == "parent":
        return list(d.parents)
    if prop == "child":
        return list(d.children)
    # a Coding value also matches by its display (e.g. LOINC `COMPONENT = Glucose` as well as
    # `COMPONENT = LP14635-4`)
    return [v for p in d.properties if p.property == prop
            for v in ((p.value, p.value_display) if p.type == "Coding" and p.value_display
                      else (p.value,))]


#: Seconds one regex match may take at most (less when the request's deadline is nearer).
#: The `regex` engine handles classic catastrophic patterns such as (a+)+ in linear time;
#: this bounds whatever is left, and the request's deadline bounds all matches together.
REGEX_TIMEOUT = 0.5


def _full_match(pattern: regex.Pattern[str], text: str) -> bool:
    left = deadline.remaining()
    timeout = REGEX_TIMEOUT if left is None else min(REGEX_TIMEOUT, left)
    if timeout <= 0:
        raise deadline.expired()
    try:  # concurrent: the GIL is released while matching (other requests go on)
        return pattern.fullmatch(text, timeout=timeout, concurrent=True) is not None
    except TimeoutError:
        if timeout < REGEX_TIMEOUT:
            raise deadline.expired() from None
        raise TooCostly(f"The regex '{pattern.pattern}' took too long to evaluate; "
                        "simplify the pattern") from None


def _regex(value: str) -> regex.Pattern[str]:
    try:
        return regex.compile(value)
    except regex.error as exc:
        raise InvalidRequest(f"The regex '{value}' is not valid: {exc}",
                             expression=("ValueSet.compose.include.filter.value",)) from None


# -- properties by their declared URI, and filters the loaded data cannot answer ---------------

CONCEPT_PROPERTIES = "http://hl7.org/fhir/concept-properties#"
#: The codes of http://hl7.org/fhir/concept-properties (as termserver.fhir.codesystem has
#: them: a URI with another fragment means nothing, the property's code counts).
FHIR_CONCEPT_PROPERTIES = frozenset((
    "status", "inactive", "effectiveDate", "deprecationDate", "deprecated",
    "retirementDate", "notSelectable", "parent", "child", "partOf", "synonym", "comment",
    "itemWeight"))
#: Filter properties every code system answers from its concept table and hierarchy.
_BUILTIN = ("concept", "code", "display", "parent", "child")
LOINC = "http://loinc.org"
LOINC_PART = regex.compile(r"^LP\d+-\d$")
#: (id(store), cs_pk, versionId) → property code → uri
_DECLARED: dict[tuple[int, int, int], dict[str, str]] = {}


def declared_properties(provider: CodeSystemProvider) -> dict[str, str]:
    """Property code → declared URI (or "") of the code system's `property` list."""
    if isinstance(provider, MemoryCodeSystem):
        header = provider.source or provider.info.resource or {}
        return _declarations(header.get("property"))
    if isinstance(provider, StoredCodeSystemProvider):
        key = (id(provider.store), provider.stored.pk, _stamp(provider))
        found = _DECLARED.get(key)
        if found is None:
            found = _declarations(CodeSystemView(provider).header.get("property"))
            if len(_DECLARED) > 256:
                _DECLARED.clear()
            _DECLARED[key] = found
        return found
    return {}


def _declarations(props: object) -> dict[str, str]:
    if not isinstance(props, list):
        return {}
    return {str(p["code"]): str(p.get("uri") or "") for p in props
            if isinstance(p, dict) and p.get("code")}


def property_meaning(provider: CodeSystemProvider, prop: str) -> tuple[str, str | None]:
    """(local property code, FHIR-defined concept property it stands for) of a filter's
    property given by local code (`subsumedBy`), by URI, or by the FHIR name (`parent` where
    the code system calls it `subsumedBy`)."""
    if prop in ("concept", "code", "display") or snomed.SNOMED == provider.url:
        return prop, None
    declared = declared_properties(provider)
    if not declared:
        return prop, prop if prop in ("parent", "child", "inactive") else None
    local = prop
    if prop not in declared:
        by_uri = [c for c, u in declared.items()
                  if u and u in (prop, CONCEPT_PROPERTIES + prop)]
        if by_uri:
            local = by_uri[0]
    uri = declared.get(local, "")
    fragment = uri[len(CONCEPT_PROPERTIES):] if uri.startswith(CONCEPT_PROPERTIES) else ""
    if fragment in FHIR_CONCEPT_PROPERTIES:
        return local, fragment
    return local, local if local in ("parent", "child", "inactive") else None


def inactive_fallback(provider: CodeSystemProvider, local: str) -> bool:
    """Whether an `inactive` filter must read the concepts' inactive flag: the code system
    holds no `inactive` property (its status says it, e.g. `status = retired`)."""
    return local == "inactive" and not _has_data(provider, local)


def filter_notes(provider: CodeSystemProvider, filters: tuple[Filter, ...]) -> list[str]:
    """Warnings for filters the loaded code system version cannot answer from its data: a
    property no concept has a value for, or a LOINC Part code (LP…) the version does not
    hold (LOINC loaded without the Part files). The expansion or validation reports them
    instead of answering an empty set silently."""
    out: list[str] = []
    canonical = f"{provider.url}|{provider.version}" if provider.version else provider.url
    for f in filters:
        if f.property in _BUILTIN or not (f.has_value or f.op == "exists") or \
                provider.url == snomed.SNOMED:
            continue
        local, meaning = property_meaning(provider, f.property)
        if meaning in ("parent", "child") or local == "inactive":
            continue
        named = f"The filter '{f.property} {f.op} {f.value}' on {canonical}"
        declared = declared_properties(provider)
        if (local in declared or provider.url == LOINC) and not _has_data(provider, local):
            out.append(f"{named} cannot be evaluated: no concept of this version has a value "
                       f"for the property '{local}', so the result may be incomplete"
                       + (" (load the LOINC table with that column, or its accessory file)."
                          if provider.url == LOINC else "."))
            continue
        if provider.url == LOINC and f.op in ("=", "in", "not-in"):
            wanted = [v.strip() for v in f.value.split(",")] if f.op != "=" else [f.value]
            missing = [v for v in wanted if LOINC_PART.match(v) and provider.lookup(v) is None]
            if missing:
                out.append(f"{named} names the LOINC Part code {', '.join(missing)}, which this "
                           "version does not hold (LOINC loaded without its Part files, "
                           "AccessoryFiles/PartFile/Part.csv and LoincPartLink_Primary.csv), "
                           "so the result may be incomplete.")
    return out


def _stamp(provider: StoredCodeSystemProvider) -> int:
    """The versionId of the stored CodeSystem resource (-1 when gone): one indexed query."""
    stored = provider.stored
    return next((n for i, _, n, _ in provider.store.stamps("CodeSystem", stored.url)
                 if i == stored.resource_id), -1)


#: (id(store), cs_pk, property) → (the resource's versionId, whether some concept has it)
_HAS_DATA: dict[tuple[int, int, str], tuple[int, bool]] = {}


def _has_data(provider: CodeSystemProvider, prop: str) -> bool:
    """Whether some concept has a value for `prop`. Stored: one SQL probe per version and
    property, remembered until the resource's versionId changes (an addition such as the LOINC
    lab orders file bumps it)."""
    if isinstance(provider, StoredCodeSystemProvider):
        store, stored = provider.store, provider.stored
        stamp = _stamp(provider)
        key = (id(store), stored.pk, prop)
        known = _HAS_DATA.get(key)
        if known is not None and known[0] == stamp:
            return known[1]
        found = count_codes(store, Selection(stored.pk, (Cond("prop-exists", prop),)), 1) > 0
        if len(_HAS_DATA) > 4096:
            _HAS_DATA.clear()
        _HAS_DATA[key] = (stamp, found)
        return found
    cache = _MEMORY_HAS_DATA.setdefault(provider, {}) if isinstance(
        provider, MemoryCodeSystem) else {}
    if prop not in cache:
        cache[prop] = any(p.property == prop for d in provider.concepts()
                          for p in d.properties)
    return cache[prop]


#: per in-memory code system (a tx-resource, a built-in): property → whether some concept has it
_MEMORY_HAS_DATA: weakref.WeakKeyDictionary[MemoryCodeSystem, dict[str, bool]] = \
    weakref.WeakKeyDictionary()
