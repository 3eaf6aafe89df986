"""ValueSet compose filters as predicates over one concept (shared by $expand and
$validate-code). Regexes run on the `regex` engine with a timeout (ReDoS-safe) and without
holding the GIL; every predicate counts against the request's deadline (service/deadline)."""

from __future__ import annotations

from collections.abc import Callable

import regex

from termserver.errors import InvalidRequest, TooCostly
from termserver.model import ConceptDetail, Filter
from termserver.service import deadline, snomed
from termserver.service.provider import CodeSystemProvider, StoredCodeSystemProvider

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


def _values(d: ConceptDetail, prop: str) -> list[str]:
    if prop in _CODE_PROPERTIES:
        return [d.concept.code]
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
