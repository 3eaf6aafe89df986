"""Publish a map project's decisions as a stored ConceptMap, so $translate answers at once.

What is published (FHIR R5 ConceptMap semantics, https://hl7.org/fhir/R5/conceptmap.html):

* the project's main decisions (reviewer MAIN) with status `accepted`: one row per target,
  with the curator's relationship and the R4 equivalence the FHIR R5→R4 conversion gives
  (equivalent→equivalent, source-is-narrower-than-target→wider,
  source-is-broader-than-target→narrower, related-to→relatedto). `not-related-to` with a target
  code becomes R4 `disjoint` (an explicit "not this one"; the conversion's `unmatched` is for
  an element without target, which R4 says has no code);
* `rejected` decisions only with targets marked `not-related-to` (explicit negative
  assertions); a rejected code without target, and every other status, is not published.

Identity: the url is `project.map_url`, else derived from the source code system's url
(`…/CodeSystem/x` → `…/ConceptMap/<project id>`, otherwise `<source url>/ConceptMap/<project
id>`); the version is the caller's. Publishing the same version again replaces it (or reports
"unchanged" when nothing differs); a new version is stored beside the old ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from loaders.base import ConceptMapContent
from mappings.model import MAIN, RELATIONSHIPS, Decision, Project, SourceCode, Target
from termserver.errors import InvalidRequest
from termserver.fhir.conceptmap import RELATIONSHIP_TO_EQUIVALENCE, concept_map_header
from termserver.ingest import save_concept_map_content
from termserver.model import ConceptMapInfo, MapElement
from termserver.store import Store

__all__ = ["PUBLISH_STATUSES", "PublishResult", "concept_map_content", "concept_map_info",
           "equivalence", "map_url", "publish", "published_decisions", "published_elements",
           "published_targets", "source_display"]

PublishStatus = Literal["draft", "active"]
PUBLISH_STATUSES: tuple[str, ...] = ("draft", "active")
Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class PublishResult:
    url: str
    version: str
    id: str  # the stored ConceptMap's resource id
    outcome: Outcome
    elements: int  # rows published (one per source code and target)


def equivalence(relationship: str, has_target: bool = True) -> str:
    """The R4 ConceptMapEquivalence for an R5 relationship (see the module docstring)."""
    if not has_target:
        return "unmatched"
    return RELATIONSHIP_TO_EQUIVALENCE.get(relationship, "relatedto")


def map_url(project: Project) -> str:
    """The canonical url of the project's ConceptMap."""
    if project.map_url:
        return project.map_url
    base, sep, _ = project.source_system.rstrip("/").rpartition("/CodeSystem/")
    if sep:
        return f"{base}/ConceptMap/{project.id}"
    return f"{project.source_system.rstrip('/')}/ConceptMap/{project.id}"


def _name(project: Project) -> str:
    """A computable name (FHIR: `[A-Z]([A-Za-z0-9_]){0,254}`) from the project id."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", project.id) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "ConceptMap"
    return name if name[0].isalpha() else f"Map{name}"


def _resource_id(project: Project, version: str | None) -> str:
    raw = f"{project.id}-{version}" if version else project.id
    return re.sub(r"[^A-Za-z0-9\-.]", "-", raw)[:64]


def concept_map_info(project: Project, *, version: str | None, status: str = "draft",
                     source_version: str | None = None,
                     target_version: str | None = None) -> ConceptMapInfo:
    """The ConceptMap header of a project (scopes from the project's value sets)."""
    if status not in PUBLISH_STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(PUBLISH_STATUSES)}, "
                             f"not {status!r}")
    return ConceptMapInfo(
        url=map_url(project), version=version, name=_name(project), title=project.title,
        status=status, source_system=project.source_system,
        source_version=source_version or project.source_version,
        target_system=project.target_system,
        target_version=target_version or project.target_version,
        source_scope=project.source_valueset, target_scope=project.target_valueset,
        description=project.description, id=_resource_id(project, version))


def published_targets(decision: Decision) -> tuple[Target, ...]:
    """The targets of a decision that a published map carries: all of an accepted main
    decision, the `not-related-to` ones of a rejected one, none otherwise."""
    if decision.reviewer != MAIN:
        return ()
    if decision.status == "accepted":
        return decision.targets
    if decision.status == "rejected":
        return tuple(t for t in decision.targets if t.relationship == "not-related-to")
    return ()


def published_decisions(decisions: Iterable[Decision], sources: Mapping[str, SourceCode]
                        ) -> list[tuple[Decision, tuple[Target, ...]]]:
    """(decision, its published targets) in source list order (then by code), skipping
    decisions that publish nothing."""
    order = {code: i for i, code in enumerate(sources)}
    chosen = [(d, published_targets(d)) for d in decisions]
    return sorted(((d, ts) for d, ts in chosen if ts),
                  key=lambda p: (order.get(p[0].source_code, len(order)), p[0].source_code))


def source_display(decision: Decision, sources: Mapping[str, SourceCode]) -> str | None:
    """The source code's display from the stored list, else the one kept on the decision."""
    source = sources.get(decision.source_code)
    return source.display if source is not None and source.display else \
        decision.source_display


def published_elements(project: Project, decisions: Iterable[Decision],
                       sources: Mapping[str, SourceCode], *, source_version: str | None = None,
                       target_version: str | None = None) -> list[MapElement]:
    """The rows the project publishes, in source list order (then by code). Targets in the
    project's target system form group 0; targets in other systems one group per system."""
    src_version = source_version or project.source_version
    groups = {project.target_system: 0}
    out: list[MapElement] = []
    for d, targets in published_decisions(decisions, sources):
        display = source_display(d, sources)
        for t in targets:
            if t.relationship not in RELATIONSHIPS:
                raise InvalidRequest(f"{d.source_code}: unknown relationship "
                                     f"{t.relationship!r}")
            system = t.system or project.target_system
            group = groups.setdefault(system, len(groups))
            version = t.version or (target_version or project.target_version
                                    if system == project.target_system else None)
            out.append(MapElement(
                group=group, source_system=project.source_system, source_version=src_version,
                source_code=d.source_code, source_display=display, target_system=system,
                target_version=version, target_code=t.code, target_display=t.display,
                relationship=t.relationship, equivalence=equivalence(t.relationship),
                comment=t.comment or d.comment))
    return out


def concept_map_content(project: Project, decisions: Sequence[Decision],
                        sources: Mapping[str, SourceCode], *, version: str | None,
                        status: str = "draft", source_version: str | None = None,
                        target_version: str | None = None) -> ConceptMapContent:
    """The ConceptMap the project publishes, as a release loader would hand it to ingest."""
    info = concept_map_info(project, version=version, status=status,
                            source_version=source_version, target_version=target_version)
    elements = published_elements(project, decisions, sources,
                                  source_version=info.source_version,
                                  target_version=info.target_version)
    return ConceptMapContent(info, iter(elements))


def _row_key(e: MapElement) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in (
        e.group, e.source_system, e.source_version, e.source_code, e.source_display,
        e.target_system, e.target_version, e.target_code, e.target_display, e.relationship,
        e.equivalence, e.comment, e.depends_on, e.product))


def _unchanged(store: Store, info: ConceptMapInfo, elements: list[MapElement]
               ) -> str | None:
    """The stored map's id when url|version holds exactly this header and these rows."""
    found = store.canonical_exists("ConceptMap", info.url, info.version)
    if found is None:
        return None
    stored = {k: v for k, v in store.read_resource("ConceptMap", found).resource.items()
              if k not in ("id", "meta")}
    header = {k: v for k, v in concept_map_header(info).items() if k != "id"}
    if stored != header:
        return None
    rows = store.concept_map_elements(info.url, info.version)
    return found if sorted(map(_row_key, rows)) == sorted(map(_row_key, elements)) else None


def publish(store: Store, project: Project, decisions: Sequence[Decision],
            sources: Mapping[str, SourceCode], *, version: str,
            status: str = "draft") -> PublishResult:
    """Store the project's ConceptMap url|version in one transaction (replacing that version
    when it exists). Unpinned source/target versions are pinned to the newest stored ones."""
    if not version or not version.strip():
        raise InvalidRequest("a ConceptMap version is required to publish")
    source_version = project.source_version or _newest(store, project.source_system)
    target_version = project.target_version or _newest(store, project.target_system)
    content = concept_map_content(project, decisions, sources, version=version.strip(),
                                  status=status, source_version=source_version,
                                  target_version=target_version)
    elements = list(content.elements)
    info = content.info
    same = _unchanged(store, info, elements)
    if same is not None:
        return PublishResult(info.url, version.strip(), same, "unchanged", len(elements))
    with store.writer() as w:
        saved = save_concept_map_content(w, ConceptMapContent(info, iter(elements)),
                                         origin=f"workbench:{project.id}")
    outcome: Outcome = "created" if saved.outcome == "created" else "updated"
    return PublishResult(info.url, version.strip(), saved.id, outcome, len(elements))


def _newest(store: Store, url: str) -> str | None:
    found = store.resolve_code_system(url, None)
    return found.version if found is not None else None
