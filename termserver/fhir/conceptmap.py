"""ConceptMap JSON (R4 or R5) → flat MapElement rows, with the R4/R5 relationship tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from termserver.model import JSON, UNMAPPED_SOURCE, ConceptMapContent, ConceptMapInfo, MapElement

# R4 ConceptMapEquivalence → R5 ConceptMapRelationship (FHIR R5 "R4 to R5" conversion map).
EQUIVALENCE_TO_RELATIONSHIP = {
    "relatedto": "related-to", "equivalent": "equivalent", "equal": "equivalent",
    "wider": "source-is-narrower-than-target", "subsumes": "source-is-narrower-than-target",
    "narrower": "source-is-broader-than-target", "specializes": "source-is-broader-than-target",
    "inexact": "related-to", "unmatched": "not-related-to", "disjoint": "not-related-to",
}
RELATIONSHIP_TO_EQUIVALENCE = {
    "related-to": "relatedto", "equivalent": "equivalent",
    "source-is-narrower-than-target": "wider", "source-is-broader-than-target": "narrower",
    "not-related-to": "disjoint",
}


#: R4 unmapped modes → R5 names (`provided` became `use-source-code`).
_UNMAPPED_MODES = {"provided": "use-source-code", "use-source-code": "use-source-code",
                   "fixed": "fixed", "other-map": "other-map"}


def concept_map_content(data: JSON) -> ConceptMapContent:
    """A ConceptMap from a request (inline or tx-resource), flattened as the store keeps one."""
    return ConceptMapContent(
        url=_text(data.get("url")), version=_text(data.get("version")),
        source_scope=_scope(data, "source"), target_scope=_scope(data, "target"),
        elements=tuple(map_elements(data)))


def concept_map_header(info: ConceptMapInfo) -> JSON:
    """The stored ConceptMap resource (R4) for a map a release loader built: the header only;
    its rows live in the store's element table, where $translate reads them."""
    out: JSON = {"resourceType": "ConceptMap", "url": info.url}
    for key, value in (("version", info.version), ("name", info.name), ("title", info.title),
                       ("status", info.status), ("description", info.description),
                       ("copyright", info.copyright), ("sourceCanonical", info.source_scope),
                       ("targetCanonical", info.target_scope)):
        if value is not None:
            out[key] = value
    return out


def _scope(data: JSON, side: str) -> str | None:
    """sourceScope[x] (R5) or source[x] (R4), without a `|version`."""
    for key in (f"{side}ScopeUri", f"{side}ScopeCanonical", f"{side}Uri", f"{side}Canonical"):
        if data.get(key):
            return str(data[key]).partition("|")[0]
    return None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def map_elements(data: JSON) -> Iterator[MapElement]:
    """One MapElement per (source element, target); unmapped elements give one row with no
    target and relationship `not-related-to` / equivalence `unmatched`. A group's `unmapped`
    rule becomes one row with source code UNMAPPED_SOURCE (see termserver.model)."""
    for g, group in enumerate(data.get("group") or []):
        src_sys, src_ver = _split(group.get("source"), group.get("sourceVersion"))
        tgt_sys, tgt_ver = _split(group.get("target"), group.get("targetVersion"))
        unmapped = _unmapped(g, group.get("unmapped"), src_sys, src_ver, tgt_sys, tgt_ver)
        if unmapped is not None:
            yield unmapped
        for element in group.get("element") or []:
            code = element.get("code")
            if not code:
                continue
            targets = element.get("target") or []
            base = {"group": g, "source_system": src_sys, "source_version": src_ver,
                    "source_code": str(code), "source_display": element.get("display")}
            if element.get("noMap") or not targets:
                yield MapElement(**base, target_system=tgt_sys, target_version=tgt_ver,
                                 target_code=None, target_display=None,
                                 relationship="not-related-to", equivalence="unmatched")
                continue
            for t in targets:
                relationship, equivalence = _relationship(t)
                yield MapElement(
                    **base, target_system=tgt_sys, target_version=tgt_ver,
                    target_code=t.get("code"), target_display=t.get("display"),
                    relationship=relationship, equivalence=equivalence,
                    comment=t.get("comment"),
                    depends_on=tuple(t.get("dependsOn") or ()),
                    product=tuple(t.get("product") or ()))


def _unmapped(g: int, rule: Any, src_sys: str | None, src_ver: str | None,
              tgt_sys: str | None, tgt_ver: str | None) -> MapElement | None:
    if not isinstance(rule, dict):
        return None
    mode = _UNMAPPED_MODES.get(str(rule.get("mode") or ""))
    if mode is None:
        return None
    if "relationship" in rule:
        relationship = str(rule["relationship"])
    else:
        relationship = "equivalent" if mode == "use-source-code" else "related-to"
    target = rule.get("otherMap") or rule.get("url") if mode == "other-map" else rule.get("code")
    return MapElement(group=g, source_system=src_sys, source_version=src_ver,
                      source_code=UNMAPPED_SOURCE, source_display=None, target_system=tgt_sys,
                      target_version=tgt_ver, target_code=_text(target),
                      target_display=_text(rule.get("display")), relationship=relationship,
                      equivalence=RELATIONSHIP_TO_EQUIVALENCE.get(relationship, "relatedto"),
                      comment=mode)


def _relationship(target: JSON) -> tuple[str, str]:
    if "relationship" in target:
        rel = str(target["relationship"])
        return rel, RELATIONSHIP_TO_EQUIVALENCE.get(rel, "relatedto")
    eq = str(target.get("equivalence") or "equivalent")
    return EQUIVALENCE_TO_RELATIONSHIP.get(eq, "related-to"), eq


def _split(canonical: Any, version: Any) -> tuple[str | None, str | None]:
    """`system|version` canonicals (R5 style) and separate version elements (R4) alike."""
    if not canonical:
        return None, version
    system, _, ver = str(canonical).partition("|")
    return system, (ver or version or None)
