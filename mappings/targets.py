"""A project's target scope: the target code system version, optionally restricted by a
ValueSet, with its searcher and the learning from earlier accepted decisions.

A code system big enough for the store's text index (termserver.store.search, built at load)
is searched there (mappings.textsearch.StoreTargetSearch): nothing is built on first use, and
while that index is missing or being rebuilt the searcher raises IndexNotReady (HTTP 503, a
clear state for the page) instead of making the request wait. Smaller code systems have no
such index and are searched in memory (mappings.suggest.TargetIndex, built once per process
from at most SEARCH_MIN concepts, thread-safe).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mappings.model import Decision, Project, SourceCode
from mappings.normalize import normalize
from mappings.othertargets import GenericIndex, GenericStoreSearch, is_loinc
from mappings.suggest import Suggestion, TargetIndex, term_from_detail
from mappings.terms import loinc_term
from mappings.textsearch import IndexNotReady, StoreTargetSearch
from termserver.errors import NotFound
from termserver.fhir.valueset import value_set_definition
from termserver.model import (
    Concept,
    ExpandRequest,
    SearchQuery,
    StoredCodeSystem,
    ValueSetDefinition,
)
from termserver.service.context import TxContext
from termserver.service.expand import expand
from termserver.store import Store, search, search_candidates, version_key

log = logging.getLogger(__name__)
#: Suggestion indexes kept per process (least recently used dropped first).
KEEP_INDEXES = 4
#: Seconds between background index checks of one project (`warm_soon`).
WARM_EVERY = 60.0
#: Expanding a target ValueSet stops here (a scope is never bigger than a terminology).
EXPAND_LIMIT = 5_000_000


class Searcher(Protocol):
    def suggest(self, text: str, unit: str | None = None, specimen: str | None = None,
                limit: int = 5, category: str | None = None) -> list[Suggestion]: ...


@dataclass(frozen=True, slots=True)
class Scope:
    """The target code system version and, with a target ValueSet, the codes it allows."""

    code_system: StoredCodeSystem
    codes: frozenset[str] | None  # None: every code of the code system
    stamp: tuple[Any, ...]  # changes when the scope's content may have changed


def stored_value_sets(store: Store) -> Callable[[str, str | None], ValueSetDefinition | None]:
    """Stored ValueSets by url (and version; unversioned: the newest)."""
    def resolve(url: str, version: str | None) -> ValueSetDefinition | None:
        _, found = store.search(SearchQuery("ValueSet", url=url, version=version, count=100))
        if not found:
            return None
        best = max(found, key=lambda r: version_key(r.summary.version))
        return value_set_definition(best.resource)
    return resolve


def _value_set_stamp(store: Store, canonical: str) -> tuple[Any, ...]:
    url, _, version = canonical.partition("|")
    _, found = store.search(SearchQuery("ValueSet", url=url, version=version or None, count=100),
                            with_json=False)
    return tuple(sorted((r.summary.id, r.summary.version_id) for r in found))


def value_set_stamp(store: Store, canonical: str) -> str:
    """A text that changes when the stored ValueSet `canonical` (url or url|version) does."""
    return f"{canonical}#{_value_set_stamp(store, canonical)}"


def value_set_members(store: Store, canonical: str, cs: StoredCodeSystem,
                      role: str = "") -> frozenset[str]:
    """The selectable codes of code system `cs` in the expansion of the stored ValueSet
    `canonical`; NotFound when it is not stored."""
    ctx = TxContext(store, stored_value_set=stored_value_sets(store))
    vs = ctx.value_set(canonical)
    if vs is None:
        raise NotFound(f"{role + ' ' if role else ''}ValueSet {canonical} is not stored",
                       expression=(f"{role}_valueset",) if role else ())
    result = expand(ctx, ExpandRequest(value_set=vs), limit=EXPAND_LIMIT)
    codes: set[str] = set()
    stack = list(result.entries)
    while stack:
        e = stack.pop()
        stack.extend(e.contains)
        if e.system == cs.url and not e.abstract:
            codes.add(e.code)
    return frozenset(codes)


def target_code_system(store: Store, project: Project) -> StoredCodeSystem:
    cs = store.resolve_code_system(project.target_system, project.target_version)
    if cs is None:
        raise NotFound(f"target code system {project.target_system}"
                       f"{'|' + project.target_version if project.target_version else ''} "
                       "is not stored")
    return cs


#: Designation uses that name a term best, first (LOINC's LONG_COMMON_NAME, FHIR display).
_LABEL_USES = ("LONG_COMMON_NAME", "display", "900000000000548007", "SHORTNAME")


def target_labels(store: Store, project: Project, codes: Sequence[str]) -> dict[str, str]:
    """The name of each target code in the project's language (e.g. the de-DE LOINC name), for
    codes that have one; a few indexed reads, meant for the handful of codes a page shows."""
    cs = target_code_system(store, project)
    lang = project.language.lower()
    out: dict[str, str] = {}
    for code in dict.fromkeys(codes):
        detail = store.concept_detail(cs.pk, code)
        if detail is None:
            continue
        names = [d for d in detail.designations
                 if d.language and (d.language.lower() == lang
                                    or d.language.lower().startswith(lang + "-"))]
        names.sort(key=lambda d: _LABEL_USES.index(d.use_code)
                   if d.use_code in _LABEL_USES else len(_LABEL_USES))
        if names and names[0].value != detail.concept.display:
            out[code] = names[0].value
    return out


class TargetScopes:
    """Per-process cache of scopes and their suggestion indexes, keyed by (target code system
    pk, ValueSet and its stored version): a re-loaded code system has a new pk."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._build_locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._scopes: dict[tuple[Any, ...], Scope] = {}
        self._searchers: dict[tuple[Any, ...], Searcher] = {}
        self._warmed: dict[str, float] = {}

    def _key(self, project: Project) -> tuple[tuple[Any, ...], StoredCodeSystem]:
        cs = target_code_system(self.store, project)
        vs = project.target_valueset
        stamp = (vs, _value_set_stamp(self.store, vs)) if vs else ()
        return (cs.pk, *stamp), cs

    def _build_lock(self, key: tuple[Any, ...]) -> threading.Lock:
        with self._lock:
            return self._build_locks.setdefault(key, threading.Lock())

    def scope(self, project: Project) -> Scope:
        key, cs = self._key(project)
        found = self._scopes.get(key)
        if found is not None:
            return found
        with self._build_lock(("scope", *key)):
            found = self._scopes.get(key)
            if found is None:
                codes = self._expand(project, cs) if project.target_valueset else None
                found = self._scopes[key] = Scope(cs, codes, key)
        return found

    def _expand(self, project: Project, cs: StoredCodeSystem) -> frozenset[str]:
        return value_set_members(self.store, project.target_valueset or "", cs, "target")

    def contains(self, project: Project, code: str) -> bool:
        """Whether `code` is in the project's target scope (exact spelling)."""
        scope = self.scope(project)
        if scope.codes is not None:
            return code in scope.codes
        return self.store.has_code(scope.code_system.pk, code)

    def searcher(self, project: Project) -> Searcher:
        """The searcher of the project's target scope (an in-memory index of a small code
        system is built on first use); IndexNotReady while the store's text index of the
        target code system is missing or being rebuilt."""
        scope = self.scope(project)
        found = self._usable(scope)
        if found is None:
            with self._build_lock(("index", *scope.stamp)):
                found = self._usable(scope) or self._build(scope)
        with self._lock:  # most recently used last; the oldest beyond KEEP_INDEXES go
            self._searchers.pop(scope.stamp, None)
            self._searchers[scope.stamp] = found
            while len(self._searchers) > KEEP_INDEXES:
                del self._searchers[next(iter(self._searchers))]
        return found

    def preparing(self, project: Project) -> str | None:
        """Without waiting: why suggestions are not ready yet (an index being built here, or
        the store's text index missing or being rebuilt: IndexNotReady's message), or None."""
        scope = self.scope(project)
        if self._usable(scope) is not None:
            return None
        if self._build_lock(("index", *scope.stamp)).locked():
            return f"the suggestion index of {scope.code_system.url} is being built"
        try:
            self.searcher(project)
        except IndexNotReady as exc:
            return exc.message
        return None

    def _usable(self, scope: Scope) -> Searcher | None:
        """The kept searcher of `scope` unless the index it reads was rebuilt or dropped
        since (reindex, an added variant); a new one is cheap."""
        found = self._searchers.get(scope.stamp)
        if isinstance(found, StoreTargetSearch) and not found.current():
            return None
        return found

    def warm_soon(self, project: Project) -> None:
        """`warm` at most once a minute per project (cheap to call on every page)."""
        now = time.monotonic()
        with self._lock:
            if now - self._warmed.get(project.id, -WARM_EVERY) < WARM_EVERY:
                return
            self._warmed[project.id] = now
        self.warm(project)

    def warm(self, project: Project) -> threading.Thread:
        """Prepare the project's searcher in a daemon thread (the in-memory index of a small
        code system; for an indexed one the scope, e.g. a target ValueSet's codes, and the
        German lexicon learnt from its variants)."""
        thread = threading.Thread(target=self._warm, args=(project,), daemon=True,
                                  name=f"index-{project.id}")
        thread.start()
        return thread

    def _warm(self, project: Project) -> None:
        try:
            found = self.searcher(project)
            if isinstance(found, StoreTargetSearch):
                found.lexicon  # noqa: B018 - learnt once per index stamp (seconds for LOINC)
                found.scope_words(wait=True)  # the same, tens of seconds (mappings.scopewords)
        except IndexNotReady:  # the page says so when it asks for suggestions
            pass
        except Exception:  # the next real request reports it
            log.exception("building the suggestion index of %s failed", project.id)

    def _build(self, scope: Scope) -> Searcher:
        cs = scope.code_system
        if cs.concept_count >= search.SEARCH_MIN or \
                search_candidates.state(self.store, cs.pk) is not None:
            allowed = scope.codes.__contains__ if scope.codes is not None else None
            if not is_loinc(cs.url):  # SNOMED CT, ICD-10-GM, …: no LOINC axes (othertargets)
                return GenericStoreSearch(self.store, [(cs.url, cs.version)], allowed=allowed)
            return StoreTargetSearch(self.store, [(cs.url, cs.version)],
                                     allowed=allowed or loinc_term)
        details = self.store.concept_details(cs.pk)
        codes = scope.codes
        url = cs.url
        chosen = (d for d in details if (d.concept.code in codes if codes is not None
                                         else suggestible(url, d.concept)))
        if not is_loinc(url):
            return GenericIndex(term_from_detail(d) for d in chosen)
        return TargetIndex.from_details(chosen)


def suggestible(system: str, concept: Concept) -> bool:
    """Whether a concept of a whole-code-system scope is offered as a suggestion: active and
    selectable; of LOINC only the terms (no Parts, answers or groups: LP…, LA…, LG…). A target
    ValueSet decides for itself."""
    if concept.inactive or concept.abstract:
        return False
    return not is_loinc(system) or loinc_term(concept.code)


def suggest_for(searcher: Searcher, source: SourceCode | None, text: str, *,
                unit: str | None, specimen: str | None, limit: int) -> list[Suggestion]:
    """Live suggestions for a source code (its unit/specimen/category as hints)."""
    return searcher.suggest(text, unit=unit, specimen=specimen, limit=limit,
                            category=source.category if source is not None else None)


def source_text(source: SourceCode) -> str:
    return source.display or source.code


def source_key(text: str | None) -> str | None:
    """The learning key of a source text (mappings.normalize), None when empty."""
    if not text:
        return None
    key = normalize(text)
    return key or None


def learned_first(found: list[Suggestion], learned: Sequence[tuple[str, Decision]],
                  text: str, limit: int) -> list[Suggestion]:
    """Targets accepted before for the same normalised text first (score 1.0), then the
    index's suggestions without those codes; at most `limit`."""
    out: list[Suggestion] = []
    seen: set[str] = set()
    for project_id, decision in learned:
        for t in decision.targets:
            if t.code in seen or t.relationship == "not-related-to":
                continue
            seen.add(t.code)
            out.append(Suggestion(t.code, t.display or t.code, 1.0,
                                  f"accepted before for '{text}' in project {project_id}"))
    out.extend(s for s in found if s.code not in seen)
    return out[:limit]
