"""ConceptMap $translate (https://hl7.org/fhir/R5/conceptmap-operation-translate.html, and the
R4 form https://hl7.org/fhir/R4/conceptmap-operation-translate.html).

Maps sent with the request are searched in memory; stored maps with one indexed query per code
(`Store.map_rows`), never by loading a map. A group's `unmapped` rule applies when the code has
no element in that group: `fixed` gives its code, `use-source-code` (R4 `provided`) the code
itself, `other-map` the answer of the other map.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from termserver.aliases import canonical_system
from termserver.errors import NotFound
from termserver.model import (
    UNMAPPED_SOURCE,
    CodingInput,
    ConceptMapContent,
    MapElement,
    TranslateMatch,
    TranslateRequest,
    TranslateResult,
)
from termserver.service import snomed, units
from termserver.service.context import TxContext
from termserver.store.bulk import MapRow, concept_maps_present, map_rows_many

#: How deep `other-map` rules may chain before the chain is cut.
MAX_OTHER_MAP_DEPTH = 5


@dataclass(frozen=True, slots=True)
class _Row:
    """One map row with the map it came from (key tells maps apart, stored or in memory)."""

    key: tuple[str, int]
    url: str | None
    version: str | None
    element: MapElement


def translate(ctx: TxContext, request: TranslateRequest,
              maps: Sequence[ConceptMapContent] = ()) -> TranslateResult:
    """Translate `request.codings` with the maps it names, or with every map that knows them.
    `maps` are ConceptMaps sent with the request (tx-resource); they come before stored maps."""
    request = canonical_request(request)  # legacy/BfArM system aliases (termserver.aliases)
    matches: list[TranslateMatch] = []
    notes: list[str] = []
    for coding in request.codings:
        if _chains(request, maps, coding):
            found, note = translate_chain(ctx, request, coding)
            matches.extend(found)
            notes.append(note)
        else:
            matches.extend(_translate_one(ctx, request, maps, coding, 0))
    result = any(m.concept is not None and m.relationship != "not-related-to" for m in matches)
    if not result:
        notes.append(_no_match_message(request))
    found = _unique(matches)
    unit = units.requested_unit(request.dependencies)
    if unit is not None:  # a lab unit: checked against each target (service/units.py)
        found, said = units.annotate(ctx, unit, found)
        notes.extend(said)
    return TranslateResult(result, tuple(found), "; ".join(notes) or None)


def translate_one(ctx: TxContext, request: TranslateRequest) -> TranslateResult:
    """`translate` for a request without inline or tx-resource maps: its code's stored rows
    are read once, and the commonest case answered by `translate_plain`."""
    request = canonical_request(request)
    coding = request.codings[0] if len(request.codings) == 1 else None
    if coding is None or not coding.code or request.concept_map is not None:
        return translate(ctx, request)
    key = RowKey(coding.code, coding.system, request.reverse, request.other_system,
                 request.url, request.map_version)
    stored = stored_rows(ctx, key)
    found = translate_plain(request, stored)
    if found is not None:
        return found
    token = PREFETCH.set(Prefetched(rows={key: stored}))
    try:
        return translate(ctx, request)
    finally:
        PREFETCH.reset(token)


def translate_plain(request: TranslateRequest, stored: Sequence[MapRow]
                    ) -> TranslateResult | None:
    """`translate` for the commonest request, given the stored rows of its code: one coding,
    forward, stored maps only (no inline map, implicit SNOMED CT map, scopes, dependencies
    or version chain), rows found and none an `unmapped` rule. None for anything else (then
    `translate` answers). `request` must be canonical (`canonical_request`)."""
    if (request.reverse or request.concept_map is not None or request.source_scope
            or request.target_scope or request.dependencies or len(request.codings) != 1
            or not stored or (request.url is not None and "?fhir_cm=" in request.url)):
        return None
    coding = request.codings[0]
    if not coding.code or _chains(request, (), coding):
        return None
    kept: list[tuple[tuple[int, int], _Row]] = []
    seen: set[tuple[int, int]] = set()
    contiguous, last = True, None
    for pk, url, version, e in stored:
        if e.source_code == UNMAPPED_SOURCE:
            return None
        if _version_fits(e, coding, False) and _other_version_fits(e, request):
            key = (pk, e.group)
            if key != last:
                contiguous, last = contiguous and key not in seen, key
                seen.add(key)
            kept.append((key, _Row(("stored", pk), url, version, e)))
    if not contiguous:  # `_translate_one` answers group by group, in order of appearance
        order = {key: i for i, key in reversed(list(enumerate(k for k, _ in kept)))}
        kept.sort(key=lambda kr: order[kr[0]])
    matches = [_match(r, False) for _, r in kept]
    result = any(m.concept is not None and m.relationship != "not-related-to" for m in matches)
    return TranslateResult(result, tuple(_unique(matches)),
                           None if result else _no_match_message(request))


def canonical_request(request: TranslateRequest) -> TranslateRequest:
    """The request with alias system URLs (e.g. `…/dimdi/icd-10-gm`) replaced by canonicals."""
    def canon(url: str | None) -> str | None:
        return canonical_system(url) if url is not None else None
    codings = tuple(c if canon(c.system) == c.system else replace(c, system=canon(c.system))
                    for c in request.codings)
    other, _, version = (canon(request.other_system) or "").partition("|")
    other_system, target_version = other or None, request.target_version or version or None
    if (other_system == request.other_system and target_version == request.target_version
            and all(a is b for a, b in zip(codings, request.codings, strict=True))):
        return request  # already canonical (bulk chunks canonicalise once)
    return replace(request, codings=codings, other_system=other_system,
                   target_version=target_version)


def _translate_one(ctx: TxContext, request: TranslateRequest, maps: Sequence[ConceptMapContent],
                   coding: CodingInput, depth: int) -> list[TranslateMatch]:
    if not coding.code:
        return []
    rows = _candidate_rows(ctx, request, maps, coding)
    rows = _in_scope(ctx, request, maps, rows)
    by_group: dict[tuple[tuple[str, int], int], list[_Row]] = {}
    for row in rows:
        by_group.setdefault((row.key, row.element.group), []).append(row)
    out: list[TranslateMatch] = []
    for group_rows in by_group.values():
        mapped = [r for r in group_rows if r.element.source_code != UNMAPPED_SOURCE]
        if mapped:
            out.extend(_match(r, request.reverse) for r in mapped
                       if _dependencies_hold(r.element, request.dependencies))
        elif not request.reverse:
            for r in group_rows:
                out.extend(_unmapped(ctx, request, maps, coding, r, depth))
    return out


def _candidate_rows(ctx: TxContext, request: TranslateRequest,
                    maps: Sequence[ConceptMapContent], coding: CodingInput) -> list[_Row]:
    """Rows for the coding from the inline map, or the maps with `url`, or every map."""
    assert coding.code is not None
    url, version = request.url, request.map_version
    if request.concept_map is not None:
        memory: Sequence[ConceptMapContent] = [request.concept_map]
    else:
        memory = [m for m in maps if (url is None or m.url == url)
                  and (version is None or m.version == version)]
    rows = [_Row(("memory", i), m.url, m.version, e) for i, m in enumerate(memory)
            for e in m.elements if _row_matches(e, coding, request)]
    if request.concept_map is not None or (url is not None and memory):
        return rows
    implicit = snomed.implicit_map_rows(ctx, url, coding.code, request.reverse) if url else None
    if implicit is not None:  # SNOMED CT `?fhir_cm=` maps (service/snomed.py)
        return rows + [_Row(("implicit", 0), url, None, e) for e in implicit
                       if _row_matches(e, coding, request)]
    stored = stored_rows(ctx, RowKey(coding.code, coding.system, request.reverse,
                                     request.other_system, url, version))
    if url is not None and not stored and not _map_exists(ctx, url, version):
        where = f"{url}|{version}" if version else url
        raise NotFound(f"A definition for the ConceptMap '{where}' could not be found",
                       expression=("url",))
    for pk, map_url, map_version, e in stored:
        if _version_fits(e, coding, request.reverse) and _other_version_fits(e, request):
            rows.append(_Row(("stored", pk), map_url, map_version, e))
    return rows


class RowKey(NamedTuple):
    """What one stored-row read asks for (see `store.bulk.map_rows_many`)."""

    code: str
    system: str | None
    reverse: bool
    other_system: str | None
    url: str | None
    version: str | None


@dataclass(slots=True)
class Prefetched:
    """Stored rows and map versions read ahead for a chunk of codings (bulk $translate): a
    read found here costs no query; anything else is read as usual."""

    rows: dict[RowKey, list[MapRow]] = field(default_factory=dict)
    maps: dict[str, set[str | None]] = field(default_factory=dict)


#: The read-ahead of the chunk being answered (termserver.service.bulk sets it).
PREFETCH: ContextVar[Prefetched | None] = ContextVar("termserver_translate_prefetch",
                                                     default=None)


def stored_rows(ctx: TxContext, key: RowKey) -> list[MapRow]:
    """Stored map rows for one code: read ahead, or one indexed query."""
    ahead = PREFETCH.get()
    if ahead is not None and key in ahead.rows:
        return ahead.rows[key]
    return map_rows_many(ctx.store, (key.code,), key.system, reverse=key.reverse,
                         other_system=key.other_system, url=key.url, version=key.version)


def _map_exists(ctx: TxContext, url: str, version: str | None) -> bool:
    ahead = PREFETCH.get()
    versions = ahead.maps.get(url) if ahead is not None else None
    if versions is None:
        versions = concept_maps_present(ctx.store, url)
    return bool(versions) and (version is None or version in versions)


def _row_matches(e: MapElement, coding: CodingInput, request: TranslateRequest) -> bool:
    if request.reverse:
        here, here_system = e.target_code, e.target_system
        other_system = e.source_system
    else:
        if e.source_code == UNMAPPED_SOURCE:
            here, here_system = (coding.code if coding.system else None), e.source_system
        else:
            here, here_system = e.source_code, e.source_system
        other_system = e.target_system
    return (here == coding.code and (coding.system is None or here_system == coding.system)
            and (request.other_system is None or other_system == request.other_system)
            and _version_fits(e, coding, request.reverse)
            and _other_version_fits(e, request))


def _version_fits(e: MapElement, coding: CodingInput, reverse: bool) -> bool:
    mapped = e.target_version if reverse else e.source_version
    return coding.version is None or mapped is None or mapped == coding.version


def _other_version_fits(e: MapElement, request: TranslateRequest) -> bool:
    """The row leads to the version asked for on the other side (`targetSystem=url|version`)."""
    mapped = e.source_version if request.reverse else e.target_version
    return request.target_version is None or mapped is None or mapped == request.target_version


def _in_scope(ctx: TxContext, request: TranslateRequest, maps: Sequence[ConceptMapContent],
              rows: list[_Row]) -> list[_Row]:
    """Keep rows of maps whose sourceScope/targetScope are the ones asked for."""
    if request.source_scope is None and request.target_scope is None:
        return rows
    scopes: dict[tuple[str, int], tuple[str | None, str | None]] = {}
    memory = [request.concept_map] if request.concept_map is not None else list(maps)
    for i, m in enumerate(memory):
        scopes[("memory", i)] = (m.source_scope, m.target_scope)
    stored = sorted({r.key[1] for r in rows if r.key[0] == "stored"})
    for pk, pair in ctx.store.concept_map_scopes(stored).items():
        scopes[("stored", pk)] = pair
    want = (request.source_scope, request.target_scope)

    def fits(row: _Row) -> bool:
        have = scopes.get(row.key, (None, None))
        return all(w is None or w == h for w, h in zip(want, have, strict=True))

    return [r for r in rows if fits(r)]


def _match(row: _Row, reverse: bool) -> TranslateMatch:
    e = row.element
    concept = None
    if e.target_code is not None:
        concept = CodingInput(e.target_system, e.target_code, e.target_version, e.target_display)
    source = None
    if reverse:
        source = CodingInput(e.source_system, e.source_code, e.source_version, e.source_display)
    return TranslateMatch(e.relationship, e.equivalence, concept, source, _canonical(row),
                          e.comment, e.depends_on, e.product)


def _unmapped(ctx: TxContext, request: TranslateRequest, maps: Sequence[ConceptMapContent],
              coding: CodingInput, row: _Row, depth: int) -> list[TranslateMatch]:
    e = row.element
    mode = e.comment
    if mode == "fixed" and e.target_code:
        concept = CodingInput(e.target_system, e.target_code, e.target_version, e.target_display)
    elif mode == "use-source-code":
        concept = CodingInput(e.target_system, coding.code, e.target_version, coding.display)
    elif mode == "other-map" and e.target_code and depth < MAX_OTHER_MAP_DEPTH:
        url, _, version = e.target_code.partition("|")
        other = TranslateRequest(codings=(coding,), url=url, map_version=version or None,
                                 other_system=request.other_system,
                                 dependencies=request.dependencies)
        try:
            return _translate_one(ctx, other, maps, coding, depth + 1)
        except NotFound:
            return []
    else:
        return []
    return [TranslateMatch(e.relationship, e.equivalence, concept, None, _canonical(row))]


def _dependencies_hold(e: MapElement, given: tuple[tuple[str, str], ...]) -> bool:
    """A target with dependsOn applies unless the request gives another value for one of its
    attributes (without `dependency` parameters every target applies and is reported)."""
    if not given or not e.depends_on:
        return True
    values: dict[str, set[str]] = {}
    for attribute, value in given:  # units compare in UCUM form (`mg/dl` is `mg/dL`)
        attribute, value = units.dependency_key(attribute, value)
        values.setdefault(attribute, set()).add(value)
    for dep in e.depends_on:
        needed, wanted = _depends_on(dep)
        if needed is None or wanted is None:
            continue
        needed, wanted = units.dependency_key(needed, wanted)
        if needed in values and wanted not in values[needed]:
            return False
    return True


def _depends_on(dep: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(attribute, value) of a dependsOn entry, R5 (attribute, value[x]) or R4 (property,
    value)."""
    attribute = dep.get("attribute") or dep.get("property")
    value: Any = dep.get("value")
    for key, v in dep.items():
        if key.startswith("value") and key != "valueSet":
            value = v.get("code") if isinstance(v, dict) else v
    return (None if attribute is None else str(attribute),
            None if value is None else str(value))


def _canonical(row: _Row) -> str | None:
    if row.url is None:
        return None
    return f"{row.url}|{row.version}" if row.version else row.url


def _unique(matches: Iterable[TranslateMatch]) -> list[TranslateMatch]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for m in matches:
        key = (m.relationship, m.concept, m.source, m.origin_map)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def _no_match_message(request: TranslateRequest) -> str:
    parts = []
    for c in request.codings:
        where = f" in the system '{c.system}'" if c.system else ""
        parts.append(f"'{c.code}'{where}")
    direction = " (reverse)" if request.reverse else ""
    return f"No translations found{direction} for {', '.join(parts)}"


# -- chained translation across versions (ICD-10-GM/OPS Überleitungen) --------------------------

#: How many maps a chain may pass through, and how many codes it may carry at once.
MAX_CHAIN_STEPS = 50
MAX_CHAIN_CODES = 1000

#: R5 relationship → R4 equivalence, for the relationship a chain composes.
_EQUIVALENCE = {"equivalent": "equivalent", "source-is-broader-than-target": "narrower",
                "source-is-narrower-than-target": "wider", "related-to": "relatedto",
                "not-related-to": "unmatched"}


@dataclass(frozen=True, slots=True)
class _Path:
    """One code reached by a chain: how it relates to the start, and through which maps."""

    code: str
    display: str | None
    relationship: str
    maps: tuple[str, ...]
    product: tuple[Mapping[str, Any], ...]


def _chains(request: TranslateRequest, maps: Sequence[ConceptMapContent],
            coding: CodingInput) -> bool:
    """A same-system translation from one version into another (`targetSystem=url|version`)
    over stored maps only: answered by chaining the maps between the versions."""
    return (not request.reverse and request.url is None and request.concept_map is None
            and not maps and request.target_version is not None and coding.code is not None
            and coding.version is not None and coding.version != request.target_version
            and coding.system is not None and coding.system == request.other_system)


def translate_chain(ctx: TxContext, request: TranslateRequest,
                    coding: CodingInput) -> tuple[list[TranslateMatch], str]:
    """Translate `coding` into `request.target_version` of its own system by chaining stored
    maps version by version (e.g. the yearly ICD-10-GM Überleitungen 2016→2017→2018), always
    taking the map that gets nearest to the target version. Relationships compose along the
    way (a split then a merge is `related-to`); a code deleted on the way ends as an unmatched
    match. Returns the matches and a message naming the maps used and any ambiguity."""
    assert coding.code is not None and coding.system is not None
    assert coding.version is not None and request.target_version is not None
    system, version, goal = coding.system, coding.version, request.target_version
    paths = [_Path(coding.code, coding.display, "equivalent", (), ())]
    ended: list[TranslateMatch] = []
    steps: list[str] = []
    lost: list[str] = []
    while version != goal and paths and len(steps) < MAX_CHAIN_STEPS:
        rows = {p.code: [r for r in _stored_rows(ctx, system, p.code)
                         if r.element.source_version == version] for p in paths}
        step = _next_step(version, goal, [r for found in rows.values() for r in found])
        if step is None:
            break
        key, next_version = step
        reached: list[_Path] = []
        for p in paths:
            here = [r for r in rows[p.code] if r.key == key]
            if not here:
                lost.append(p.code)
            for r in here:
                e = r.element
                if e.target_code is None or e.relationship == "not-related-to":
                    ended.append(TranslateMatch("not-related-to", "unmatched", None,
                                                origin_map=_canonical(r), product=e.product))
                    continue
                reached.append(_Path(e.target_code, e.target_display,
                                     _compose(p.relationship, e.relationship),
                                     (*p.maps, _canonical(r) or ""),
                                     _and_product(p.product, e.product) if p.maps else e.product))
        steps.append(f"{version}→{next_version} ({_canonical(_map_row(rows, key))})")
        paths, version = _merge(reached)[:MAX_CHAIN_CODES], next_version
    matches = [_chain_match(system, goal, p) for p in paths] if version == goal else []
    return matches + ended, _chain_message(coding, goal, steps, matches, ended, lost, version)


def _map_row(rows: Mapping[str, list[_Row]], key: tuple[str, int]) -> _Row:
    """A row of the map `key` (to name the map in the message)."""
    return next(r for found in rows.values() for r in found if r.key == key)


def _stored_rows(ctx: TxContext, system: str, code: str) -> list[_Row]:
    return [_Row(("stored", pk), url, version, e)
            for pk, url, version, e in stored_rows(ctx, RowKey(code, system, False, system,
                                                                None, None))
            if e.source_code == code and e.target_version is not None]


def _next_step(version: str, goal: str, rows: list[_Row]) -> tuple[tuple[str, int], str] | None:
    """The map (key, target version) that gets nearest to `goal` without passing it; the
    first one (by url) when several do."""
    here, there = _version_key(version), _version_key(goal)
    forward = there > here
    candidates: list[tuple[tuple[str, int], str]] = []
    for r in rows:
        to = r.element.target_version
        assert to is not None
        key = _version_key(to)
        if (here < key <= there) if forward else (there <= key < here):
            candidates.append((r.key, to))
    if not candidates:
        return None
    pick = max if forward else min
    return pick(candidates, key=lambda c: _version_key(c[1]))


def _version_key(version: str) -> tuple[int | str, ...]:
    """Years and dotted numbers compare as numbers, anything else as text after them."""
    parts = version.split(".")
    if all(p.isdigit() for p in parts):
        return (0, *(int(p) for p in parts))
    return (1, version)


def _compose(first: str, then: str) -> str:
    """The relationship of start → end when start → middle is `first` and middle → end
    `then` (R5 codes): equivalence is neutral, the same direction stays, anything else is
    only `related-to`."""
    if first == "equivalent":
        return then
    if then == "equivalent" or then == first:
        return first
    return "related-to"


def _and_product(first: tuple[Mapping[str, Any], ...],
                 then: tuple[Mapping[str, Any], ...]) -> tuple[Mapping[str, Any], ...]:
    """Flags ("true"/"false" values) that hold for every map of the chain; other attributes
    only when every map gives the same value."""
    later = {str(p.get("attribute")): p for p in then}
    out: list[Mapping[str, Any]] = []
    for p in first:
        q = later.get(str(p.get("attribute")))
        if q is None:
            continue
        if p.get("value") in ("true", "false") and q.get("value") in ("true", "false"):
            both = p.get("value") == "true" and q.get("value") == "true"
            out.append({**p, "value": "true" if both else "false"})
        elif p == q:
            out.append(p)
    return tuple(out)


def _merge(paths: list[_Path]) -> list[_Path]:
    """One path per code: codes reached on several ways relate to the start in several ways
    at once, so unless those agree the relationship becomes `related-to`."""
    merged: dict[str, _Path] = {}
    for p in paths:
        seen = merged.get(p.code)
        if seen is None:
            merged[p.code] = p
        elif seen.relationship != p.relationship:
            merged[p.code] = replace(seen, relationship="related-to",
                                     product=_and_product(seen.product, p.product))
    return list(merged.values())


def _chain_match(system: str, version: str, p: _Path) -> TranslateMatch:
    return TranslateMatch(p.relationship, _EQUIVALENCE.get(p.relationship, "relatedto"),
                          CodingInput(system, p.code, version, p.display),
                          origin_map=p.maps[-1] if p.maps else None, product=p.product)


def _chain_message(coding: CodingInput, goal: str, steps: list[str],
                   matches: list[TranslateMatch], ended: list[TranslateMatch],
                   lost: list[str], reached: str) -> str:
    start = f"'{coding.code}' ({coding.system}|{coding.version})"
    if not steps:
        return (f"{start}: no stored map from version {coding.version} towards {goal} has "
                "this code")
    text = f"{start} to version {goal} via {', '.join(steps)}"
    if reached != goal and not ended:
        text += f"; no stored map leads on from version {reached}"
    if len(matches) > 1:
        codes = ", ".join(m.concept.code or "" for m in matches if m.concept is not None)
        text += f"; ambiguous: {len(matches)} candidate codes in {goal} ({codes})"
    if ended:
        text += (f"; {len(ended)} way(s) end at a code without counterpart in the next "
                 "version (deleted, or new when going back)")
    if lost:
        text += f"; not in the map: {', '.join(sorted(set(lost)))}"
    return text
