"""ConceptMap $translate (https://hl7.org/fhir/R5/conceptmap-operation-translate.html, and the
R4 form https://hl7.org/fhir/R4/conceptmap-operation-translate.html).

Maps sent with the request are searched in memory; stored maps with one indexed query per code
(`Store.map_rows`), never by loading a map. A group's `unmapped` rule applies when the code has
no element in that group: `fixed` gives its code, `use-source-code` (R4 `provided`) the code
itself, `other-map` the answer of the other map.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
from termserver.service.context import TxContext

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
    matches: list[TranslateMatch] = []
    for coding in request.codings:
        matches.extend(_translate_one(ctx, request, maps, coding, 0))
    result = any(m.concept is not None and m.relationship != "not-related-to" for m in matches)
    message = None if result else _no_match_message(request)
    return TranslateResult(result, tuple(_unique(matches)), message)


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
    if url is not None and not ctx.store.concept_map_exists(url, version):
        where = f"{url}|{version}" if version else url
        raise NotFound(f"A definition for the ConceptMap '{where}' could not be found",
                       expression=("url",))
    for pk, map_url, map_version, e in ctx.store.map_rows(
            coding.code, coding.system, reverse=request.reverse,
            other_system=request.other_system, url=url, version=version):
        if _version_fits(e, coding, request.reverse):
            rows.append(_Row(("stored", pk), map_url, map_version, e))
    return rows


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
            and _version_fits(e, coding, request.reverse))


def _version_fits(e: MapElement, coding: CodingInput, reverse: bool) -> bool:
    mapped = e.target_version if reverse else e.source_version
    return coding.version is None or mapped is None or mapped == coding.version


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
    for attribute, value in given:
        values.setdefault(attribute, set()).add(value)
    for dep in e.depends_on:
        needed, wanted = _depends_on(dep)
        if needed in values and wanted is not None and wanted not in values[needed]:
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
