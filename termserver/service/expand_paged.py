"""Paged `$expand` of big value sets without materialising them.

`plan` recognises value sets whose every include is a whole stored code system, or one
narrowed by filters the store evaluates in SQL (is-a, descendent-of, is-not-a, child-of,
concept =/in/not-in, SNOMED CT refsets and ECL, property =/in/not-in/exists, display =/in),
with no excludes, imports, enumerations, supplements or versionsMatch, and distinct systems.
`answer` then reads only the requested page from the database (termserver.store.pages, and
for a text `filter` the ranked index of termserver.store.search) and builds entries for it.
Anything else returns None and the in-memory expansion (service/expand.py) answers.

Order is that of the in-memory path: load order, or code order when a hierarchy, ECL or
refset filter selects the codes; a text filter ranks (see README "Text filter"). `total` is
given when it is cheap: the stored concept count of a whole code system, a count that stops
at TOTAL_CAP, or the number of text matches (counted while ranking them).
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from termserver.model import ConceptSet, ExpansionEntry, Filter, ValueSetDefinition
from termserver.service import snomed
from termserver.service.csview import NOT_SELECTABLE_URIS, CodeSystemView
from termserver.service.entries import EntryBuilder
from termserver.service.provider import StoredCodeSystemProvider
from termserver.store import Store, page_reads, pages, search
from termserver.store.pages import Cond, Selection

if TYPE_CHECKING:
    from termserver.service.expand import _Run

#: Counting stops here: a bigger (non-whole-system) expansion is answered without `total`.
TOTAL_CAP = 500
_CODE = ("concept", "code")
#: ECL the closure table answers directly: `<< id`, `< id`, `id` (with an optional term).
_SIMPLE_ECL = re.compile(r"^\s*(<<|<)?\s*(\d{6,18})\s*(?:\|[^|]*\|)?\s*$")


@dataclass(frozen=True, slots=True)
class Part:
    """One include: its code system view and the SQL selection of its members."""

    view: CodeSystemView
    selection: Selection


@dataclass(frozen=True, slots=True)
class Answer:
    total: int | None
    entries: tuple[ExpansionEntry, ...]
    keys: tuple[tuple[str, str | None, str], ...]


def plan(run: _Run, vs: ValueSetDefinition) -> list[Part] | None:
    """The SQL plan of `vs`, or None when the in-memory path must answer."""
    request = run.request
    if vs.exclude or not vs.include or run.versions_match or request.supplements \
            or "versionsMatch" in run.vs_params or _has_supplement(vs):
        return None
    systems = [c.system for c in vs.include]
    if any(s is None for s in systems) or len(set(systems)) != len(systems):
        return None
    if any(c.value_sets or c.concepts for c in vs.include):
        return None
    provisional: list[tuple[ConceptSet, tuple[Cond, ...], bool, tuple[str, ...]]] = []
    for cset in vs.include:
        found = _conditions(cset)  # before any lookup: a filter we cannot do → fall back
        if found is None:
            return None
        provisional.append((cset, *found))
    active_only = request.active_only or vs.inactive is False
    parts: list[Part] = []
    for cset, conds, by_code, named in provisional:
        _reuse_view(run, cset)
        view = run._code_system(cset)  # the used-codesystem parameter and version errors
        provider = view.provider
        if not isinstance(provider, StoredCodeSystemProvider):
            return None
        if not all(_known(provider, code) for code in named):
            return None  # ECL naming an unknown concept: the ECL evaluator's error
        resolved = _resolve(provider, conds)
        if resolved is None:
            return None
        sel = Selection(provider.stored.pk, resolved, active_only, by_code)
        if request.filter and not search.ready(provider.store, sel.cs_pk):
            return None
        parts.append(Part(view, sel))
    return parts


#: CodeSystemViews of stored code system versions, per store and (pk, resource id): the
#: stored resource's header, read and parsed once. A pk's resource never changes (replacing
#: a code system gives it a new pk, never reused; an addition of designations or properties
#: leaves the header as it is), so a view is never stale; a replaced pk is simply not asked.
_VIEWS: weakref.WeakKeyDictionary[Store, dict[tuple[int, str, str], CodeSystemView]] = \
    weakref.WeakKeyDictionary()
_VIEWS_LOCK = threading.Lock()
VIEW_CACHE_SIZE = 64


def _reuse_view(run: _Run, cset: ConceptSet) -> None:
    """Hand `run` the cached view of the stored code system version `cset` resolves to (it
    resolves the same way, through the cached resolution, in run._code_system)."""
    system = str(cset.system)
    wanted, _ = run.rules.wanted(system, cset.version)
    provider = run.ctx.code_system(system, wanted)
    if not isinstance(provider, StoredCodeSystemProvider):
        return
    key = (provider.url, provider.version)
    if key in run.views:
        return
    stored = provider.stored
    ckey = (stored.pk, stored.resource_id, type(provider).__name__)
    with _VIEWS_LOCK:
        views = _VIEWS.setdefault(provider.store, {})
        view = views.get(ckey)
    if view is None:
        view = CodeSystemView(provider)
        with _VIEWS_LOCK:
            if len(views) >= VIEW_CACHE_SIZE:
                views.clear()
            views[ckey] = view
    run.views[key] = view


#: Codes (cs_pk, code) an ECL or filter named that their code system version holds, per
#: store: a stored version's concepts are never removed while its pk lives (a replaced code
#: system gets a new pk), so a positive answer stays true; a negative one is never kept.
_KNOWN: weakref.WeakKeyDictionary[Store, set[tuple[int, str]]] = weakref.WeakKeyDictionary()
KNOWN_CACHE_SIZE = 10_000


def _known(provider: StoredCodeSystemProvider, code: str) -> bool:
    """Whether the code system holds `code`: one index probe, remembered when it does (a full
    lookup only for a code it does not hold as spelt, which a case-insensitive system may
    hold otherwise)."""
    key = (provider.stored.pk, code)
    with _VIEWS_LOCK:
        known = _KNOWN.setdefault(provider.store, set())
        if key in known:
            return True
    if not provider.store.has_code(*key):
        return provider.lookup(code) is not None
    with _VIEWS_LOCK:
        if len(known) >= KNOWN_CACHE_SIZE:
            known.clear()
        known.add(key)
    return True


def _has_supplement(vs: ValueSetDefinition) -> bool:
    return any(isinstance(e, dict) and str(e.get("url", "")).endswith("valueset-supplement")
               for e in vs.resource.get("extension") or [])


def _conditions(cset: ConceptSet) -> tuple[tuple[Cond, ...], bool, tuple[str, ...]] | None:
    """(conditions, ordered by code, concepts simple ECL names) of an include's filters, or
    None if one is not SQL."""
    conds: list[Cond] = []
    named: list[str] = []
    by_code = False
    sct = cset.system == snomed.SNOMED
    for f in cset.filters:
        if not f.has_value and f.op != "exists":
            return None
        cond, candidate = _condition(f, sct)
        if cond is None:
            return None
        by_code = by_code or candidate
        if f.property == "constraint" and cond.kind != "ecl":
            named.append(cond.name or cond.values[0])
        if cond.kind != "none":
            conds.append(cond)
    # a hierarchy filter drives the read (closure table order = code order)
    conds.sort(key=lambda c: c.kind not in ("below", "below-self"))
    return tuple(conds), by_code, tuple(named)


def _condition(f: Filter, sct: bool) -> tuple[Cond | None, bool]:
    """One filter as (condition, selects codes up front); (None, _) when not supported.
    Cond("none") stands for a filter every stored concept passes."""
    op, value, prop = f.op, f.value, f.property
    if sct and prop == "constraint" and op == "=":
        simple = _SIMPLE_ECL.match(value)
        if simple is None:
            return Cond("ecl", value), True
        kind = {"<<": "below-self", "<": "below", None: "code-in"}[simple.group(1)]
        code = simple.group(2)
        return (Cond(kind, code) if kind != "code-in" else Cond(kind, values=(code,))), True
    if sct and prop in _CODE and op == "in":
        return Cond("refset", value), True
    if sct and prop == "expressions" and op == "=":
        return Cond("none"), False  # stored concepts are never expressions
    values = tuple(v.strip() for v in value.split(",")) if op in ("in", "not-in") else (value,)
    if prop in _CODE:
        simple_ops = {"is-a": ("below-self", True), "descendent-of": ("below", True),
                      "is-not-a": ("not-below-self", False), "child-of": ("child-of", False)}
        if op in simple_ops:
            kind, candidate = simple_ops[op]
            return Cond(kind, value), candidate
        if op in ("=", "in"):
            return Cond("code-in", values=values), False
        if op == "not-in":
            return Cond("code-not-in", values=values), False
        if op == "exists":
            return Cond("none") if value != "false" else Cond("code-in"), False
        return None, False
    if prop == "display":
        return (Cond("display-in", values=values), False) if op in ("=", "in") else (None, False)
    if prop in ("parent", "child"):
        return (Cond("child-of", value), False) if prop == "parent" and op == "=" else \
            (None, False)
    if op in ("=", "in"):
        return Cond("prop-in", prop, values), False
    if op == "not-in":
        return Cond("prop-not-in", prop, values), False
    if op == "exists":
        return Cond("prop-exists" if value != "false" else "prop-missing", prop), False
    return None, False


def _resolve(provider: StoredCodeSystemProvider, conds: tuple[Cond, ...]
             ) -> tuple[Cond, ...] | None:
    """ECL conditions evaluated to their code sets (cached per version by snomed.py)."""
    out: list[Cond] = []
    for cond in conds:
        if cond.kind == "ecl":
            codes = snomed.ecl_members(provider, cond.name)
            out.append(Cond("code-in", values=tuple(sorted(codes))))
        else:
            out.append(cond)
    return tuple(out)


def count(parts: list[Part], query: str | None, cap: int) -> int:
    """How many members the plan has, counting at most about `cap` per include."""
    n = 0
    for part in parts:
        provider = part.view.provider
        assert isinstance(provider, StoredCodeSystemProvider)
        whole = None if query else _whole(part)
        if query:
            found = search.search_page(provider.store, part.selection, query, 0, 0, cap)[1]
            n += cap + 1 if found is None else found
        elif whole is not None:
            n += whole
        else:
            n += pages.count_codes(provider.store, part.selection, cap)
    return n


def _count_cap(sel: Selection) -> int:
    """Where counting stops: TOTAL_CAP, or past the size of a code set the selection is
    narrowed to (an evaluated ECL: counting it is bounded by the set)."""
    sizes = [len(c.values) + 1 for c in sel.conds if c.kind == "code-in"]
    return max([TOTAL_CAP, *sizes]) if sizes else TOTAL_CAP


def _whole(part: Part) -> int | None:
    sel = part.selection
    if sel.conds or sel.active_only:
        return None
    provider = part.view.provider
    assert isinstance(provider, StoredCodeSystemProvider)
    return provider.stored.concept_count


def replaced(parts: list[Part]) -> bool:
    """Whether another process replaced one of the parts' code systems since it was resolved
    (the store then forgets its cached resolutions)."""
    for part in parts:
        provider = part.view.provider
        assert isinstance(provider, StoredCodeSystemProvider)
        if provider.store.replaced(part.selection.cs_pk):
            return True
    return False


def answer(parts: list[Part], query: str | None, offset: int, limit: int,
           builder: EntryBuilder) -> Answer:
    """The entries of one page (offset, limit) and the total when it is cheap."""
    provider = parts[0].view.provider if parts else None
    if not isinstance(provider, StoredCodeSystemProvider):
        return _answer(parts, query, offset, limit, builder)
    try:
        with page_reads.one_connection(provider.store):
            return _answer(parts, query, offset, limit, builder)
    except Exception:
        # another process replaced a code system (dropping its text index) since it was
        # resolved: an empty answer, which the caller reads again with the new one
        if replaced(parts):
            return Answer(None, (), ())
        raise


def _answer(parts: list[Part], query: str | None, offset: int, limit: int,
            builder: EntryBuilder) -> Answer:
    entries: list[ExpansionEntry] = []
    keys: list[tuple[str, str | None, str]] = []
    totals: list[int | None] = []
    off, wanted = offset, limit
    for part in parts:
        provider = part.view.provider
        assert isinstance(provider, StoredCodeSystemProvider)
        store, sel = provider.store, part.selection
        if query:
            codes, total = search.search_page(store, sel, query, off, wanted)
            totals.append(total)
            if not codes and off:
                off -= min(off, search.search_page(store, sel, query, 0, 0, 10**9)[1] or off)
        else:
            codes = pages.page_codes(store, sel, off, wanted) if wanted else []
            whole = _whole(part)
            if whole is not None:
                totals.append(whole)
            elif codes and len(codes) < wanted:
                totals.append(off + len(codes))
            else:
                cap = _count_cap(sel)
                counted = pages.count_codes(store, sel, cap)
                totals.append(counted if counted < cap else None)
            if not codes and off:
                off -= min(off, pages.count_codes(store, sel, off))
        if codes:
            off = 0
            wanted -= len(codes)
            found = pages.details(store, sel.cs_pk, codes, designations=_designations(builder),
                                  properties=_properties(builder, part.view))
            for code in codes:
                detail = found.get(code)
                if detail is not None:
                    entries.append(builder.build(part.view, detail, None))
                    keys.append((part.view.url, part.view.version, code))
    known = None if any(t is None for t in totals) else sum(t for t in totals if t is not None)
    return Answer(known, tuple(entries), tuple(keys))



def _designations(builder: EntryBuilder) -> bool:
    """Whether entries use designations: to choose a display by language, or to list them."""
    return builder.languages is not None or builder.request.include_designations


def _properties(builder: EntryBuilder, view: CodeSystemView) -> tuple[str, ...]:
    """The properties entries read: `status`, those meaning notSelectable, the requested."""
    names = {"status", *builder.request.properties}
    names |= {name for name, uri in view.property_uris.items() if uri in NOT_SELECTABLE_URIS}
    return tuple(sorted(names))
