"""ValueSet $expand (https://hl7.org/fhir/R5/valueset-operation-expand.html).

Evaluates compose.include/exclude over CodeSystemProviders (enumerated concepts, filters and
imported value sets) in definition order, de-duplicated by (system, version, code). The
code system version of each include follows the request's version rules (`VersionRules`).
Members are collected first; the (costlier) `contains` entries are built only for the page
returned. Errors carry the message ids of the tx-ecosystem IG.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import NoReturn

from termserver import textfold
from termserver.errors import BusinessRule, NotFound, TooCostly
from termserver.model import (
    Concept,
    ConceptDetail,
    ConceptProperty,
    ConceptReference,
    ConceptSet,
    ExpandRequest,
    Expansion,
    ExpansionEntry,
    ValueSetDefinition,
)
from termserver.service import expand_paged, snomed
from termserver.service import messages as msg
from termserver.service.context import TxContext
from termserver.service.csview import CodeSystemView, status_warnings
from termserver.service.entries import EntryBuilder, Supplement
from termserver.service.filters import candidates, filter_notes, filter_test
from termserver.service.languages import parse_languages
from termserver.service.provider import CodeSystemProvider
from termserver.store import version_key
from termserver.store.search import COMMON

Key = tuple[str, str | None, str]  # (system, version, code)
MAX_DEPTH = 20
SD = "http://hl7.org/fhir/StructureDefinition/"
SUPPLEMENT_EXT = SD + "valueset-supplement"


@dataclass(slots=True)
class Member:
    """A concept in the expansion, before its `contains` entry is built."""

    view: CodeSystemView
    detail: ConceptDetail
    ref: ConceptReference | None  # the compose concept that enumerated it
    pinned: bool  # its include named a version


Members = dict[Key, Member]


def expand(ctx: TxContext, request: ExpandRequest, limit: int = 10_000) -> Expansion:
    """Expand `request.value_set`; over `limit` concepts without `count` is too costly."""
    return _Run(ctx, request, limit).expand()


class _Run:
    """The state of one expansion: parameters to report and code systems already resolved."""

    def __init__(self, ctx: TxContext, request: ExpandRequest, limit: int) -> None:
        self.ctx, self.request, self.limit = ctx, request, limit
        self.rules = ctx.rules
        self.params: dict[tuple[str, str], str] = {}  # (name, canonical) → value[x] type
        self.extensions: list[dict[str, object]] = []
        self.notes: list[str] = []  # filters the loaded code systems cannot answer
        self.views: dict[tuple[str, str | None], CodeSystemView] = {}
        vs = request.value_set
        self.vs_params = dict(vs.expansion_parameters)
        self.versions_match = self.vs_params.get("versionsMatch") == "true"
        self.default_vs = dict(_split(c) for c in request.default_value_set_versions)

    # -- the whole expansion ---------------------------------------------------------------

    def expand(self) -> Expansion:
        vs = self.request.value_set
        for name in status_warnings(vs.resource, draft=False):
            self._param(name, _canonical(vs))
        supplements = self._supplements(vs)
        language = self.request.display_language or self.vs_params.get("displayLanguage") \
            or self.request.accept_language
        prefs = parse_languages(language or vs.language)
        builder = _Builder(self.request, prefs, supplements)
        paged = self._paged(vs, builder)
        total: int | None
        if paged is not None:
            total, entries, keys = paged.total, list(paged.entries), paged.keys
        else:
            members = self._members(vs)
            total, keys = len(members), tuple(members)
            if self.request.count is None and total > self.limit:
                self._too_costly(vs)
            if self._nested(vs):
                entries = _tree(members, builder)
            else:
                page = list(members.values())[self.request.offset:]
                if self.request.count is not None:
                    page = page[:self.request.count]
                entries = [builder.build(m.view, m.detail, m.ref) for m in page]
        if self.notes:  # said, not an empty set answered silently (filters.filter_notes)
            self._unclosed(" ".join(self.notes))
        params = list(self.request.echo)
        if language:
            params.append(("displayLanguage", "Code", language))
        if self.versions_match:
            params.append(("versionsMatch", "Boolean", True))
        params += [(name, kind, value) for (name, value), kind in self.params.items()]
        return Expansion(
            value_set=vs, total=total, offset=self.request.offset, entries=tuple(entries),
            parameters=tuple(params), property_defs=tuple(builder.property_defs.items()),
            extensions=tuple(self.extensions), show_offset=self.request.paged,
            versioned_systems=_versioned_systems(vs, keys))

    def _members(self, vs: ValueSetDefinition) -> Members:
        """Every member, in memory (value sets the paged path does not plan)."""
        members = self._value_set(vs, (), top=True)
        if self.versions_match:
            members = _merge_versions(members)
        members = _order_versions(members)
        if self.request.active_only:
            members = {k: m for k, m in members.items() if not m.detail.concept.inactive}
        if self.request.filter:
            members = _text_filter(self.request.filter, members)
        return members

    def _paged(self, vs: ValueSetDefinition, builder: EntryBuilder
               ) -> expand_paged.Answer | None:
        """The page read from the database (expand_paged), or None: expand in memory. An
        unpaged request is counted first: too costly, or in memory when a hierarchy is kept.
        An empty page from a code system another process replaced meanwhile is read again."""
        for attempt in range(2):
            parts = expand_paged.plan(self, vs)
            if parts is None:
                return None
            found = self._page(vs, parts, builder)
            if found is None or found.entries or attempt or not expand_paged.replaced(parts):
                return found
            self.views.clear()  # resolve the code systems again
        return None

    def _page(self, vs: ValueSetDefinition, parts: list[expand_paged.Part],
              builder: EntryBuilder) -> expand_paged.Answer | None:
        query, count = self.request.filter, self.request.count
        if count is None:
            total = expand_paged.count(parts, query, self.limit + 1)
            if total > self.limit:
                self._too_costly(vs)
            if self._nested(vs):
                return None
            count = total
        return expand_paged.answer(parts, query, self.request.offset, count, builder)

    def _too_costly(self, vs: ValueSetDefinition) -> NoReturn:
        """Named by url|version, or by its url alone when an include selects by filter: the
        reference server hits its limit there while iterating the filter, where it names the
        value set by url (elsewhere, in its bulk path, by url|version)."""
        filtered = any(cset.filters for cset in vs.include)
        name = vs.url if filtered and vs.url else _canonical(vs)
        raise TooCostly(f"The value set '{name}' expansion has too many codes to "
                        f"produce (>{self.limit})", message_id="VALUESET_TOO_COSTLY")

    def _param(self, name: str, value: str, kind: str = "Uri") -> None:
        self.params.setdefault((name, value), kind)

    def _nested(self, vs: ValueSetDefinition) -> bool:
        """A hierarchy is kept when nothing but whole code systems and is-a filters is
        included, nothing is excluded, and the client did not ask for a flat or paged list."""
        if self.request.exclude_nested or vs.exclude or self.request.paged:
            return False
        for cset in vs.include:
            if cset.system is None or cset.value_sets or cset.concepts:
                return False
            if cset.system == snomed.SNOMED:  # a polyhierarchy: listed flat
                return False
            if cset.filters and any(f.op != "is-a" for f in cset.filters):
                return False
            if not cset.filters and self.request.filter:
                return False
        return True

    # -- value sets -------------------------------------------------------------------------

    def _value_set(self, vs: ValueSetDefinition, chain: tuple[str, ...],
                   top: bool = False) -> Members:
        here = _canonical(vs)
        if here in chain:
            raise msg.circular_reference(here, chain)
        if len(chain) > MAX_DEPTH:
            raise TooCostly(f"value set imports nest deeper than {MAX_DEPTH} levels")
        chain = (*chain, here)
        result: Members = {}
        # nothing can shrink the expansion afterwards: refuse as soon as it is too big
        early = top and self.request.count is None and not (
            vs.exclude or vs.inactive is False or self.request.active_only or self.request.filter)
        for i, cset in enumerate(vs.include):
            for key, member in self._concept_set(vs, cset, chain, f"include[{i}]", True):
                result.setdefault(key, member)
                if early and len(result) > self.limit:
                    self._too_costly(vs)
        if vs.inactive is False:
            result = {k: m for k, m in result.items() if not m.detail.concept.inactive}
        included = {(k[0], k[1]) for k in result}
        for i, cset in enumerate(vs.exclude):
            excluded = dict(self._concept_set(vs, cset, chain, f"exclude[{i}]", False))
            if not excluded:
                continue
            any_version = self.versions_match or cset.version is None or cset.version == "*"
            if not any_version and cset.system is not None and \
                    self.vs_params.get("versionsMatch") is None and \
                    not any((cset.system, k[1]) in included for k in excluded):
                any_version = self.versions_match = True  # an exclude of another version
            if any_version or cset.system is None:
                gone = {(k[0], k[2]) for k in excluded}
                result = {k: m for k, m in result.items() if (k[0], k[2]) not in gone}
            else:
                result = {k: m for k, m in result.items() if k not in excluded}
        return result

    def _concept_set(self, vs: ValueSetDefinition, cset: ConceptSet, chain: tuple[str, ...],
                     where: str, include: bool) -> Iterator[tuple[Key, Member]]:
        imported = [self._import(vs, canonical, chain) for canonical in cset.value_sets]
        if cset.system is None:
            if imported:
                first, *rest = imported
                for key, member in first.items():
                    if all(key in other for other in rest):
                        yield key, member
            return
        view = self._code_system(cset)
        allowed = [{(k[0], k[2]) for k in subset} for subset in imported]
        pinned = cset.version is not None
        for detail, ref in self._select(view, cset, where, include):
            key = (view.url, view.version, detail.concept.code)
            if all((key[0], key[2]) in a for a in allowed):
                yield key, Member(view, detail, ref, pinned)

    def _import(self, owner: ValueSetDefinition, canonical: str,
                chain: tuple[str, ...]) -> Members:
        if canonical.startswith("#"):
            found = next((c for c in owner.contained
                          if c.resource.get("id") == canonical[1:]), None)
            if found is None:
                raise NotFound(f"Unable to find included value set '{canonical}'",
                               message_id="VS_EXP_IMPORT_UNK", tx_code="not-found")
            return self._value_set(found, chain)
        url, _, version = canonical.partition("|")
        version = version or self.default_vs.get(url, "")
        other = self.ctx.value_set(url, version or None)
        if other is None:
            if version:
                raise NotFound(f"Unable to find included value set '{url}' version '{version}'",
                               message_id="VS_EXP_IMPORT_UNK_PINNED", tx_code="not-found")
            raise NotFound(f"Unable to find included value set '{url}'",
                           message_id="VS_EXP_IMPORT_UNK", tx_code="not-found")
        self._param("used-valueset", _canonical(other))
        for name in status_warnings(other.resource, draft=False):
            self._param(name, _canonical(other))
        return self._value_set(other, chain)

    # -- code systems -----------------------------------------------------------------------

    def _code_system(self, cset: ConceptSet) -> CodeSystemView:
        """The code system version an include means (version rules applied), reported as used."""
        system = str(cset.system)
        wanted, source = self.rules.wanted(system, cset.version)
        provider = self.ctx.code_system(system, wanted)
        if provider is None:
            versions = [v for v in self.ctx.code_system_versions(system) if v]
            if wanted is not None and versions:
                listed = " or ".join(versions)
                raise NotFound(
                    f"A definition for CodeSystem '{system}' version '{wanted}' could not be "
                    f"found, so the value set cannot be expanded. Valid versions: {listed}",
                    message_id="UNKNOWN_CODESYSTEM_VERSION_EXP", tx_code="not-found")
            raise NotFound(f"A definition for CodeSystem '{system}' could not be found, so the "
                           "value set cannot be expanded", message_id="UNKNOWN_CODESYSTEM_EXP",
                           tx_code="not-found")
        pattern = self.rules.check_fails(system, provider.version)
        if pattern is not None:
            raise BusinessRule(
                f"The version '{provider.version}' is not allowed for system '{system}': "
                f"required to be '{pattern}' by a version-check parameter",
                message_id="VALUESET_VERSION_CHECK", tx_code="version-error",
                issue_code="exception")
        if source in ("force", "default", "check") and wanted is not None:
            name = {"force": "force-system-version", "default": "system-version",
                    "check": "check-system-version"}[source]
            self._param(name, f"{system}|{wanted}")
        view = self._view(provider)
        self._param("used-codesystem", view.canonical)
        if view.content == "fragment":
            self._param("used-fragment", view.canonical)
            self._unclosed(f"This extension is based on a fragment of the code system {system}")
        for name in view.status_warnings():
            self._param(name, view.canonical)
        reason = snomed.unclosed(cset)  # SNOMED CT: expressions refine any filtered set
        if reason is not None:
            self._unclosed(reason)
        for note in filter_notes(provider, cset.filters):  # data the loaded version lacks
            if note not in self.notes:
                self.notes.append(note)
        return view

    def _view(self, provider: CodeSystemProvider) -> CodeSystemView:
        key = (provider.url, provider.version)
        if key not in self.views:
            self.views[key] = CodeSystemView(provider)
        return self.views[key]

    def _unclosed(self, reason: str) -> None:
        if not self.extensions:
            self.extensions += [{"url": SD + "valueset-unclosed", "valueBoolean": True}]
            if reason:  # "": unclosed without a stated reason
                self.extensions.append({"url": SD + "valueset-unclosed-reason",
                                        "valueString": reason})

    def _supplements(self, vs: ValueSetDefinition) -> list[Supplement]:
        """Supplements in force: the value set's `valueset-supplement` extensions and the
        `useSupplement` parameter. A missing one is an error."""
        wanted = [str(e.get("valueCanonical") or e.get("valueUri") or "")
                  for e in vs.resource.get("extension") or []
                  if isinstance(e, dict) and e.get("url") == SUPPLEMENT_EXT]
        out = []
        for canonical in [*wanted, *self.request.supplements]:
            url, _, version = canonical.partition("|")
            provider = self.ctx.code_system(url, version or None) if url else None
            if provider is None or provider.content != "supplement":
                raise msg.supplement_missing(canonical)
            view = self._view(provider)
            target = (view.supplements or "").partition("|")[0]
            out.append(Supplement(view, target))
            self._param("used-supplement", view.canonical)
        return out

    # -- concepts ---------------------------------------------------------------------------

    def _select(self, view: CodeSystemView, cset: ConceptSet, where: str,
                include: bool) -> Iterator[tuple[ConceptDetail, ConceptReference | None]]:
        provider = view.provider
        if cset.concepts:
            found = _enumerated(provider, cset.concepts)
            for ref in cset.concepts:
                detail = found.get(ref.code) or provider.lookup(ref.code)
                if detail is not None:
                    yield detail, ref
                elif not include:  # an exclude removes the code whether or not it exists
                    yield ConceptDetail(Concept(ref.code)), ref
            return
        tests = [filter_test(provider, f, f"ValueSet.compose.{where}.filter[{i}]")
                 for i, f in enumerate(cset.filters)]
        known = candidates(provider, cset.filters)  # is-a/ECL/refset: no full scan
        if known is not None:
            for code in sorted(known):
                detail = provider.lookup(code)
                if detail is not None and all(test(detail) for test in tests):
                    yield detail, None
            return
        for detail in provider.concepts():
            if all(test(detail) for test in tests):
                yield detail, None


#: Enumerations longer than this read the code system in one pass instead of code by code.
BULK_ENUMERATION = 50


def _enumerated(provider: CodeSystemProvider, refs: tuple[ConceptReference, ...]
                ) -> dict[str, ConceptDetail]:
    """The enumerated concepts that exist, by code; one bulk read for long lists (codes not
    found here, e.g. in another case, are looked up one by one by the caller)."""
    if len(refs) <= BULK_ENUMERATION or not getattr(provider, "enumerable", True):
        return {}  # a grammar-based system (UCUM, …) cannot be read whole
    wanted = {r.code for r in refs}
    return {d.concept.code: d for d in provider.concepts() if d.concept.code in wanted}


def _canonical(vs: ValueSetDefinition) -> str:
    """`url|version` of a value set, as messages and parameters name it."""
    name = vs.url or (f"#{vs.resource['id']}" if vs.resource.get("id") else "(unidentified)")
    return f"{name}|{vs.version}" if vs.version else str(name)


def _split(canonical: str) -> tuple[str, str]:
    url, _, version = str(canonical).partition("|")
    return url, version


def _versioned_systems(vs: ValueSetDefinition, members: Iterable[Key]) -> frozenset[str]:
    """Systems whose `contains` entries carry the version: those with several versions in the
    expansion, and those named by several include/exclude entries of which one pins a version."""
    sets = [c for c in (*vs.include, *vs.exclude) if c.system]
    named = {s.system for s in sets if s.system and
             sum(1 for c in sets if c.system == s.system) > 1 and
             any(c.version for c in sets if c.system == s.system)}
    versions: dict[str, set[str | None]] = {}
    for system, version, _ in members:
        versions.setdefault(system, set()).add(version)
    return frozenset(named | {s for s, v in versions.items() if len(v) > 1})


def _merge_versions(members: Members) -> Members:
    """versionsMatch: one entry per (system, code), from the newest version that has it."""
    best: dict[tuple[str, str], Key] = {}
    for key in members:
        sc = (key[0], key[2])
        if sc not in best or version_key(key[1]) > version_key(best[sc][1]):
            best[sc] = key
    firsts: dict[tuple[str, str], None] = dict.fromkeys((k[0], k[2]) for k in members)
    return {best[sc]: members[best[sc]] for sc in firsts}


def _order_versions(members: Members) -> Members:
    """Several versions of one code: pinned versions first, newest first; positions kept."""
    groups: dict[tuple[str, str], list[Key]] = {}
    for key in members:
        groups.setdefault((key[0], key[2]), []).append(key)
    if all(len(g) == 1 for g in groups.values()):
        return members
    slots = {sc: iter(_pinned_newest_first(keys, members)) for sc, keys in groups.items()}
    out: Members = {}
    for key in members:
        chosen = next(slots[(key[0], key[2])])
        out[chosen] = members[chosen]
    return out


def _pinned_newest_first(keys: list[Key], members: Members) -> list[Key]:
    newest = sorted(keys, key=lambda k: version_key(k[1]), reverse=True)
    return sorted(newest, key=lambda k: not members[k].pinned)


def _text_filter(text: str, members: Members) -> Members:
    """The `filter` parameter in memory, as the store's search index answers it
    (termserver.textfold): every word begins a word of the display or of one designation
    (folded), or the text is (the start of) the code; best first."""
    parsed = textfold.parse(text)
    code = textfold.code_query(text)
    ranked: list[tuple[tuple[int, int, int, int, int, int, int, str], Key]] = []
    for key, m in members.items():
        c = m.detail.concept
        best: tuple[int, int, int, int, int, int, int, str] | None = None
        if code is not None and c.code.startswith(code) or \
                code is not None and c.code.startswith(code.upper()):
            best = (-1 if c.code in (code, code.upper()) else 1, 0, 0, 0, 0, 0, 0, c.code)
        rare = _rarity(m.detail.properties)
        display = (m.ref.display if m.ref and m.ref.display else c.display) or ""
        texts = [(textfold.DISPLAY, display),
                 *((textfold.text_kind(d.use_code), d.value) for d in m.detail.designations)]
        for kind, value in texts:
            norm = textfold.fold(value)
            tier = textfold.tier(parsed, norm)
            if tier is not None:
                keyword = int(kind == textfold.KEYWORD)  # never exact, after other texts
                rank = (max(tier, keyword * textfold.WHOLE), int(c.inactive), rare, keyword,
                        len(norm.split()), kind, len(norm), c.code)
                best = rank if best is None else min(best, rank)
        if best is not None:
            ranked.append((best, key))
    ranked.sort(key=lambda r: r[0])  # the index's order: tier, then its ids' order
    return {key: members[key] for _, key in ranked}


def _rarity(properties: Iterable[ConceptProperty]) -> int:
    """The concept's rank in search.COMMON (len(COMMON) when none), as the index ranks it."""
    found = [i for i, (prop, value) in enumerate(COMMON) for p in properties
             if p.property == prop and (value is None or p.value == value)]
    return min(found, default=len(COMMON))


class _Builder(EntryBuilder):
    """Entries whose SNOMED CT concepts show their significant designations only (fully
    specified name and preferred synonym), unless the `designation` parameter asks for
    designations by kind or language."""

    def build(self, view: CodeSystemView, detail: ConceptDetail,
              ref: ConceptReference | None = None) -> ExpansionEntry:
        if view.url == snomed.SNOMED and not self.request.designations:
            detail = snomed.significant_designations(detail)
        return super().build(view, detail, ref)


def _tree(members: Members, builder: EntryBuilder) -> list[ExpansionEntry]:
    """The members as a hierarchy: each under its nearest ancestor in the expansion."""
    children: dict[Key | None, list[Key]] = {}
    for key, member in members.items():
        children.setdefault(_parent_in(key, member, members), []).append(key)

    def build(key: Key) -> ExpansionEntry:
        m = members[key]
        entry = builder.build(m.view, m.detail, m.ref)
        kids = tuple(build(k) for k in children.get(key, ()))
        return replace(entry, contains=kids) if kids else entry

    return [build(k) for k in children.get(None, ())]


def _parent_in(key: Key, member: Member, members: dict[Key, Member]) -> Key | None:
    """The nearest ancestor of `key` that is in the expansion (None: a root)."""
    seen = {key[2]}
    frontier = list(member.detail.parents)
    while frontier:
        code = frontier.pop(0)
        if code in seen:
            continue
        seen.add(code)
        candidate = (key[0], key[1], code)
        if candidate in members:
            return candidate
        detail = member.view.provider.lookup(code)
        if detail is not None:
            frontier += detail.parents
    return None

