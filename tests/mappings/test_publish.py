"""Publishing a map project: which decisions become ConceptMap rows, R5→R4 equivalence,
url/version identity (replace, unchanged, side by side), and $translate answering at once
(service layer and HTTP API). The other workbench map tests import the fixtures below."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import CodeSystemContent
from mappings.model import Decision, Project, SourceCode, Target
from mappings.publish import (
    concept_map_content,
    equivalence,
    map_url,
    publish,
    published_elements,
)
from termserver.errors import InvalidRequest
from termserver.ingest import save_code_system_content
from termserver.model import CodeSystemInfo, CodingInput, Concept, Record, TranslateRequest
from termserver.service.context import TxContext
from termserver.service.translate import translate
from termserver.store import Store
from tests.helpers import shared

LAB = "http://hospital.example/fhir/CodeSystem/lab"
LOINC = "http://loinc.org"
PROJECT = Project(id="lab-loinc", title="Lab to LOINC", source_system=LAB, source_version="1",
                  target_system=LOINC, description="Local lab codes to LOINC")
SOURCES = {c.code: c for c in (
    SourceCode("NA", "Natrium"), SourceCode("K", "Kalium"), SourceCode("GLU", "Glucose"),
    SourceCode("X", "Unklar"), SourceCode("Y", "Harnstoff"), SourceCode("M", "Multi"))}
TARGETS = {"2951-2": "Sodium [Moles/volume] in Serum or Plasma",
           "2823-3": "Potassium [Moles/volume] in Serum or Plasma",
           "2345-7": "Glucose [Mass/volume] in Serum or Plasma",
           "3094-0": "Urea nitrogen [Mass/volume] in Serum or Plasma"}


def decisions() -> list[Decision]:
    """One decision of each kind the publisher must tell apart."""
    return [
        Decision("NA", "accepted", (Target("2951-2", TARGETS["2951-2"]),), author="anna",
                 updated="2026-11-20T10:00:00Z"),
        Decision("K", "accepted", (Target("2823-3", TARGETS["2823-3"],
                                          "source-is-broader-than-target"),),
                 comment="Kalium without specimen", author="ben",
                 updated="2026-11-20T11:00:00Z"),
        Decision("GLU", "rejected", (), comment="no LOINC term", author="anna",
                 updated="2026-11-20T12:00:00Z"),
        Decision("X", "needs-review", (Target("2345-7", TARGETS["2345-7"]),), author="anna"),
        Decision("Y", "rejected", (Target("2345-7", TARGETS["2345-7"], "not-related-to"),),
                 comment="looks like glucose, is not", author="0000-0002-1825-0097",
                 updated="2026-11-21T09:00:00Z"),
        Decision("M", "accepted", (Target("3094-0", TARGETS["3094-0"], "related-to"),
                                   Target("2345-7", TARGETS["2345-7"],
                                          "source-is-narrower-than-target",
                                          comment="panel member")),
                 author="ben", updated="2026-11-21T10:00:00Z"),
        Decision("GLU", "accepted", (Target("2345-7", TARGETS["2345-7"]),), reviewer="anna"),
    ]


def load_code_system(store: Store, url: str, version: str, records: list[Record]) -> None:
    with store.writer() as w:
        save_code_system_content(w, CodeSystemContent(CodeSystemInfo(url, version),
                                                      iter(records)))


@pytest.fixture
def loaded(store: Store) -> Store:
    """The project's local code system and a tiny LOINC."""
    load_code_system(store, LAB, "1", [Concept(c.code, c.display) for c in SOURCES.values()])
    load_code_system(store, LOINC, "2.78", [Concept(c, d) for c, d in TARGETS.items()])
    return store


def _translate(store: Store, code: str, **kw: Any) -> list[tuple[str | None, str]]:
    request = TranslateRequest(codings=(CodingInput(LAB, code),), **kw)
    return [(m.concept.code if m.concept else None, m.relationship)
            for m in translate(TxContext(store), request).matches]


def test_only_accepted_and_explicit_negative_decisions_are_published() -> None:
    rows = published_elements(PROJECT, decisions(), SOURCES)
    got = [(e.source_code, e.target_code, e.relationship, e.equivalence) for e in rows]
    assert got == [
        ("NA", "2951-2", "equivalent", "equivalent"),
        ("K", "2823-3", "source-is-broader-than-target", "narrower"),
        ("Y", "2345-7", "not-related-to", "disjoint"),
        ("M", "3094-0", "related-to", "relatedto"),
        ("M", "2345-7", "source-is-narrower-than-target", "wider"),
    ]
    by_code = {(e.source_code, e.target_code): e for e in rows}
    assert by_code[("K", "2823-3")].comment == "Kalium without specimen"  # decision comment
    assert by_code[("M", "2345-7")].comment == "panel member"  # target's own comment
    assert by_code[("NA", "2951-2")].source_display == "Natrium"
    assert {e.source_system for e in rows} == {LAB} and {e.group for e in rows} == {0}


def test_r5_to_r4_equivalence_follows_the_fhir_conversion() -> None:
    assert [equivalence(r) for r in ("equivalent", "source-is-narrower-than-target",
                                     "source-is-broader-than-target", "related-to",
                                     "not-related-to")] == \
        ["equivalent", "wider", "narrower", "relatedto", "disjoint"]
    assert equivalence("equivalent", has_target=False) == "unmatched"


def test_header_url_name_and_scopes() -> None:
    assert map_url(PROJECT) == "http://hospital.example/fhir/ConceptMap/lab-loinc"
    other = Project(id="x", title="X", source_system="urn:oid:1.2.3", source_version=None,
                    target_system=LOINC)
    assert map_url(other) == "urn:oid:1.2.3/ConceptMap/x"
    pinned = Project(id="y", title="Y", source_system=LAB, source_version=None,
                     target_system=LOINC, map_url="http://example.org/cm/y",
                     source_valueset="http://example.org/vs/src",
                     target_valueset="http://loinc.org/vs")
    info = concept_map_content(pinned, decisions(), SOURCES, version="2", status="active").info
    assert (info.url, info.version, info.status, info.title) == \
        ("http://example.org/cm/y", "2", "active", "Y")
    assert (info.source_scope, info.target_scope) == ("http://example.org/vs/src",
                                                      "http://loinc.org/vs")
    assert concept_map_content(PROJECT, [], SOURCES, version="1").info.name == "LabLoinc"
    with pytest.raises(InvalidRequest):
        concept_map_content(PROJECT, [], SOURCES, version="1", status="retired")


def test_targets_in_another_system_get_their_own_group() -> None:
    d = Decision("NA", "accepted",
                 (Target("2951-2"), Target("39972003", system="http://snomed.info/sct")))
    rows = published_elements(PROJECT, [d], SOURCES, target_version="2.78")
    assert [(e.group, e.target_system, e.target_version) for e in rows] == \
        [(0, LOINC, "2.78"), (1, "http://snomed.info/sct", None)]


def test_publish_stores_a_map_translate_answers_at_once(loaded: Store) -> None:
    result = publish(loaded, PROJECT, decisions(), SOURCES, version="1.0", status="draft")
    assert (result.url, result.version, result.outcome, result.elements) == \
        (map_url(PROJECT), "1.0", "created", 5)
    assert _translate(loaded, "NA") == [("2951-2", "equivalent")]
    assert _translate(loaded, "K") == [("2823-3", "source-is-broader-than-target")]
    assert _translate(loaded, "GLU") == []  # rejected without target: not published
    assert _translate(loaded, "X") == []  # still under review
    stored = loaded.read_resource("ConceptMap", result.id).resource
    assert (stored["status"], stored["title"], stored["version"]) == ("draft", "Lab to LOINC",
                                                                      "1.0")
    rows = loaded.concept_map_elements(result.url, "1.0")
    assert {(e.source_version, e.target_version) for e in rows} == {("1", "2.78")}


def test_publish_same_version_replaces_new_version_sits_beside(loaded: Store) -> None:
    first = publish(loaded, PROJECT, decisions(), SOURCES, version="1.0")
    again = publish(loaded, PROJECT, decisions(), SOURCES, version="1.0")
    assert (again.outcome, again.id) == ("unchanged", first.id)
    changed = [Decision("NA", "accepted", (Target("2345-7"),))] + decisions()[1:]
    updated = publish(loaded, PROJECT, changed, SOURCES, version="1.0")
    assert (updated.outcome, updated.id) == ("updated", first.id)
    assert _translate(loaded, "NA", url=first.url) == [("2345-7", "equivalent")]
    active = publish(loaded, PROJECT, changed, SOURCES, version="1.0", status="active")
    assert active.outcome == "updated"  # the header changed
    second = publish(loaded, PROJECT, decisions(), SOURCES, version="2.0")
    assert second.outcome == "created" and second.id != first.id
    assert loaded.canonical_exists("ConceptMap", first.url, "1.0") == first.id
    assert _translate(loaded, "NA", url=first.url, map_version="1.0") == \
        [("2345-7", "equivalent")]
    assert _translate(loaded, "NA", url=first.url, map_version="2.0") == \
        [("2951-2", "equivalent")]
    with pytest.raises(InvalidRequest):
        publish(loaded, PROJECT, decisions(), SOURCES, version=" ")


def test_published_map_answers_over_http(loaded: Store, client: TestClient) -> None:
    result = publish(loaded, PROJECT, decisions(), SOURCES, version="1.0", status="active")
    r = client.get("/fhir/ConceptMap/$translate",
                   params={"url": result.url, "system": LAB, "code": "K"})
    assert r.status_code == 200, r.text
    params = r.json()["parameter"]
    assert next(p["valueBoolean"] for p in params if p["name"] == "result") is True
    match = next(p for p in params if p["name"] == "match")
    parts = {p["name"]: p for p in match["part"]}
    assert parts["concept"]["valueCoding"]["code"] == "2823-3"
    assert parts["equivalence"]["valueCode"] == "narrower"
    negative = client.get("/fhir/ConceptMap/$translate",
                          params={"url": result.url, "system": LAB, "code": "Y"}).json()
    assert next(p["valueBoolean"] for p in negative["parameter"]
                if p["name"] == "result") is False
    read = client.get(f"/fhir/ConceptMap/{result.id}")
    assert read.status_code == 200 and read.json()["url"] == result.url


def test_real_mimic_lab_map_publishes_and_translates(store: Store) -> None:
    """The MIT-LCP MIMIC-IV lab item → LOINC map (../shared/data): every mapped item
    translates to its LOINC code from the published map."""
    path = shared("local-codes/mimic-iv-concept-maps/d_labitems_to_loinc.csv")
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f)]
    item = "itemid (omop_source_code)"
    mapped = {r[item]: r["omop_concept_code"] for r in rows
              if r["omop_vocabulary_id"] == "LOINC" and r["omop_concept_code"]}
    project = Project(id="mimic-lab", title="MIMIC-IV lab items", source_version="2.2",
                      source_system="http://mimic.mit.edu/fhir/mimic/CodeSystem/d-labitems",
                      target_system=LOINC, target_version="2.71")
    sources = {r[item]: SourceCode(r[item], r["label"]) for r in rows}
    chosen = [Decision(code, "accepted", (Target(loinc),)) for code, loinc in mapped.items()]
    result = publish(store, project, chosen, sources, version="1", status="active")
    assert (result.outcome, result.elements) == ("created", len(mapped)) and len(mapped) > 1000
    ctx = TxContext(store)
    for code in list(mapped)[::50]:
        request = TranslateRequest(codings=(CodingInput(project.source_system, code),))
        [match] = translate(ctx, request).matches
        assert match.concept is not None and match.concept.code == mapped[code]
    assert publish(store, project, chosen, sources, version="1").outcome == "updated"  # status
    assert publish(store, project, chosen, sources, version="1").outcome == "unchanged"
