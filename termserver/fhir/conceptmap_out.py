"""A ConceptMap resource (R4 or R5 JSON) from a map header and its flat rows: the reverse of
`termserver.fhir.conceptmap.map_elements`, used to export what the workbench publishes.

R4 (https://hl7.org/fhir/R4/conceptmap.html): `sourceCanonical`/`targetCanonical`,
group.sourceVersion/targetVersion, every target carries `equivalence` (required); an element
without a target gets one target with equivalence `unmatched` and no code.
R5 (https://hl7.org/fhir/R5/conceptmap.html): `sourceScopeCanonical`/`targetScopeCanonical`,
group.source/target as `url|version`, target.relationship, `noMap` for an element without one.
Both versions require a comment on a target that is narrower in R4 terms
(`source-is-broader-than-target`, invariant cmd-1); rows without one get a generic comment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from termserver.fhir.conceptmap import RELATIONSHIP_TO_EQUIVALENCE
from termserver.model import JSON, UNMAPPED_SOURCE, ConceptMapInfo, MapElement

FhirRelease = Literal["R4", "R5"]

#: The comment a `source-is-broader-than-target` (R4 `narrower`) target gets when it has none.
BROADER_COMMENT = "The source concept is broader in meaning than the target concept."

_GroupKey = tuple[int, str | None, str | None, str | None, str | None]


def r4_equivalence(element: MapElement) -> str:
    """The R4 equivalence of a row: `unmatched` without target code, else the stored value
    (or the one the R5→R4 conversion gives for its relationship)."""
    if element.target_code is None:
        return "unmatched"
    return element.equivalence or RELATIONSHIP_TO_EQUIVALENCE.get(element.relationship,
                                                                   "relatedto")


def concept_map_resource(info: ConceptMapInfo, elements: Iterable[MapElement],
                         fhir_version: FhirRelease = "R4", *, date: str | None = None) -> JSON:
    """The whole ConceptMap in the wire shape of `fhir_version` (`date`: its dateTime)."""
    if fhir_version not in ("R4", "R5"):
        raise ValueError(f"unknown FHIR version {fhir_version!r}")
    r5 = fhir_version == "R5"
    out: JSON = {"resourceType": "ConceptMap"}
    for name, value in (("id", info.id), ("url", info.url), ("version", info.version),
                        ("name", info.name), ("title", info.title), ("status", info.status),
                        ("date", date), ("description", info.description),
                        ("copyright", info.copyright)):
        if value is not None:
            out[name] = value
    prefix = ("sourceScope", "targetScope") if r5 else ("source", "target")
    for side, scope in zip(prefix, (info.source_scope, info.target_scope), strict=True):
        if scope:
            out[f"{side}{'Uri' if _is_urn(scope) else 'Canonical'}"] = scope
    groups: dict[_GroupKey, list[MapElement]] = {}
    for e in elements:
        key = (e.group, e.source_system, e.source_version, e.target_system, e.target_version)
        groups.setdefault(key, []).append(e)
    out["group"] = [_group(key, rows, r5) for key, rows in sorted(
        groups.items(), key=lambda kv: (kv[0][0], *(v or "" for v in kv[0][1:])))]
    if not out["group"]:
        del out["group"]
    return out


def _is_urn(value: str) -> bool:
    return value.startswith(("urn:", "oid:"))


def _group(key: _GroupKey, rows: list[MapElement], r5: bool) -> JSON:
    _, src, src_ver, tgt, tgt_ver = key
    group: JSON = {}
    if r5:
        if src:
            group["source"] = f"{src}|{src_ver}" if src_ver else src
        if tgt:
            group["target"] = f"{tgt}|{tgt_ver}" if tgt_ver else tgt
    else:
        for name, value in (("source", src), ("sourceVersion", src_ver), ("target", tgt),
                            ("targetVersion", tgt_ver)):
            if value:
                group[name] = value
    elements: dict[str, JSON] = {}
    for e in rows:
        if e.source_code == UNMAPPED_SOURCE:
            group["unmapped"] = _unmapped(e, r5)
            continue
        element = elements.get(e.source_code)
        if element is None:
            element = elements[e.source_code] = {"code": e.source_code}
            if e.source_display:
                element["display"] = e.source_display
        if e.target_code is None:
            if r5:
                element["noMap"] = True
            else:
                element.setdefault("target", []).append(
                    _without_none({"equivalence": "unmatched", "comment": e.comment}))
            continue
        element.pop("noMap", None)
        element.setdefault("target", []).append(_target(e, r5))
    group["element"] = list(elements.values())
    return group


def _target(e: MapElement, r5: bool) -> JSON:
    comment = e.comment
    if comment is None and e.relationship == "source-is-broader-than-target":
        comment = BROADER_COMMENT
    out: JSON = {"code": e.target_code}
    if e.target_display:
        out["display"] = e.target_display
    if r5:
        out["relationship"] = e.relationship
    else:
        out["equivalence"] = r4_equivalence(e)
    if comment:
        out["comment"] = comment
    if e.depends_on:
        out["dependsOn"] = [dict(d) for d in e.depends_on]
    if e.product:
        out["product"] = [dict(p) for p in e.product]
    return out


def _unmapped(e: MapElement, r5: bool) -> JSON:
    mode = e.comment or "fixed"
    out: JSON = {"mode": mode if r5 or mode != "use-source-code" else "provided"}
    if mode == "fixed" and e.target_code:
        out["code"] = e.target_code
        if e.target_display:
            out["display"] = e.target_display
    elif mode == "other-map" and e.target_code:
        out["otherMap" if r5 else "url"] = e.target_code
    if r5:
        out["relationship"] = e.relationship
    return out


def _without_none(data: dict[str, Any]) -> JSON:
    return {k: v for k, v in data.items() if v is not None}
