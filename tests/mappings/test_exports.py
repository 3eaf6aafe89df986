"""Exports of a map project: FHIR ConceptMap R4/R5 shapes, CSV work file, SSSOM TSV with its
metadata block, OMOP source_to_concept_map."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from mappings.exports import CSV_COLUMNS, OMOP_COLUMNS, SSSOM_COLUMNS, cell, export_text
from mappings.model import Decision, Project, SourceCode, Target
from mappings.publish import map_url, published_elements
from termserver.errors import InvalidRequest
from termserver.fhir.conceptmap import map_elements
from termserver.fhir.conceptmap_out import BROADER_COMMENT
from tests.helpers import shared
from tests.mappings.test_publish import LAB, LOINC, PROJECT, SOURCES, TARGETS, decisions

DAY = date(2026, 11, 22)


def _fhir(fmt: str, **kw: Any) -> dict[str, Any]:
    media, text = export_text(fmt, PROJECT, decisions(), SOURCES, version="1.0", published=DAY,
                              **kw)
    assert media.startswith("application/fhir+json")
    data: dict[str, Any] = json.loads(text)
    return data


def _targets(cm: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(e["code"], t.get("code")): t for g in cm["group"] for e in g["element"]
            for t in e.get("target", [])}


def test_fhir_r4_shape() -> None:
    cm = _fhir("fhir-r4")
    assert cm["resourceType"] == "ConceptMap" and cm["url"] == map_url(PROJECT)
    assert (cm["version"], cm["status"], cm["date"], cm["name"]) == \
        ("1.0", "draft", "2026-11-22", "LabLoinc")
    [group] = cm["group"]
    assert (group["source"], group["sourceVersion"], group["target"]) == (LAB, "1", LOINC)
    targets = _targets(cm)
    assert all("equivalence" in t and "relationship" not in t for t in targets.values())
    assert targets[("K", "2823-3")]["equivalence"] == "narrower"
    assert targets[("K", "2823-3")]["comment"]  # R4 cmd-1: narrower needs a comment
    assert targets[("Y", "2345-7")]["equivalence"] == "disjoint"
    assert targets[("M", "2345-7")] == {"code": "2345-7", "display": TARGETS["2345-7"],
                                        "equivalence": "wider", "comment": "panel member"}
    assert [e["code"] for e in group["element"]] == ["NA", "K", "Y", "M"]
    assert group["element"][0]["display"] == "Natrium"


def test_fhir_r5_shape_and_scopes() -> None:
    project = replace(PROJECT, source_valueset="http://example.org/vs/lab",
                      target_valueset="http://loinc.org/vs")
    _, text = export_text("fhir-r5", project, decisions(), SOURCES, version="1.0")
    cm = json.loads(text)
    assert cm["sourceScopeCanonical"] == "http://example.org/vs/lab"
    assert cm["targetScopeCanonical"] == "http://loinc.org/vs"
    [group] = cm["group"]
    assert group["source"] == f"{LAB}|1" and group["target"] == LOINC
    targets = _targets(cm)
    assert all("relationship" in t and "equivalence" not in t for t in targets.values())
    assert targets[("Y", "2345-7")]["relationship"] == "not-related-to"
    assert targets[("K", "2823-3")]["comment"] == "Kalium without specimen"


@pytest.mark.parametrize("fmt", ["fhir-r4", "fhir-r5"])
def test_fhir_export_reads_back_as_the_published_rows(fmt: str) -> None:
    cm = _fhir(fmt)
    got = sorted((e.source_code, e.target_code, e.relationship) for e in map_elements(cm))
    want = sorted((e.source_code, e.target_code, e.relationship)
                  for e in published_elements(PROJECT, decisions(), SOURCES))
    assert got == want and len(got) == 5


def test_broader_without_comment_gets_the_generic_one() -> None:
    d = Decision("K", "accepted",
                 (Target("2823-3", relationship="source-is-broader-than-target"),))
    for fmt in ("fhir-r4", "fhir-r5"):
        cm = json.loads(export_text(fmt, PROJECT, [d], SOURCES)[1])
        assert _targets(cm)[("K", "2823-3")]["comment"] == BROADER_COMMENT


def test_csv_is_the_work_file() -> None:
    media, text = export_text("csv", PROJECT, decisions(), SOURCES)
    assert media.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert [(r["source_code"], r["target_code"], r["status"], r["reviewer"]) for r in body] == [
        ("NA", "2951-2", "accepted", ""), ("K", "2823-3", "accepted", ""),
        ("GLU", "", "rejected", ""), ("GLU", "2345-7", "accepted", "anna"),
        ("X", "2345-7", "needs-review", ""), ("Y", "2345-7", "rejected", ""),
        ("M", "3094-0", "accepted", ""), ("M", "2345-7", "accepted", "")]
    glu = body[2]
    assert (glu["comment"], glu["target_system"], glu["relationship"]) == ("no LOINC term", "", "")
    k = body[1]
    assert (k["target_system"], k["relationship"], k["equivalence"], k["source_display"]) == \
        (LOINC, "source-is-broader-than-target", "narrower", "Kalium")
    assert k["updated"] == "2026-11-20T11:00:00Z"


def _sssom(text: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    meta_lines = [line[1:] for line in text.splitlines() if line.startswith("#")]
    meta: dict[str, Any] = {}
    curies: dict[str, str] = {}
    for line in meta_lines:
        if line.startswith("  "):
            key, _, value = line.strip().partition(": ")
            curies[key] = json.loads(value) if value.startswith('"') else value
        else:
            key, _, value = line.partition(":")
            meta[key] = json.loads(value.strip()) if value.strip().startswith('"') \
                else value.strip()
    meta["curie_map"] = curies
    table = [line for line in text.splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(table)), delimiter="\t"))
    return meta, rows


def test_sssom_tsv() -> None:
    media, text = export_text("sssom", PROJECT, decisions(), SOURCES, version="1.0",
                              published=DAY)
    assert media.startswith("text/tab-separated-values")
    assert text.startswith("#curie_map:\n")
    meta, rows = _sssom(text)
    assert meta["mapping_set_id"] == map_url(PROJECT)
    assert meta["license"] == "https://w3id.org/sssom/license/all-rights-reserved"
    assert (meta["mapping_set_version"], meta["mapping_date"]) == ("1.0", "2026-11-22")
    assert "#mapping_set_version: \"1.0\"\n" in text  # a string in YAML, not a float
    assert meta["mapping_set_title"] == "Lab to LOINC"
    assert meta["curie_map"]["loinc"] == "https://loinc.org/"
    assert meta["curie_map"]["lab_loinc"] == f"{LAB}/"
    assert meta["curie_map"]["skos"] == "http://www.w3.org/2004/02/skos/core#"
    assert meta["curie_map"]["orcid"] == "https://orcid.org/"
    header = text.splitlines()[len([ln for ln in text.splitlines() if ln.startswith("#")])]
    assert tuple(header.split("\t")) == SSSOM_COLUMNS
    by = {(r["subject_id"], r["object_id"]): r for r in rows}
    assert len(rows) == 5
    assert by[("lab_loinc:NA", "loinc:2951-2")]["predicate_id"] == "skos:exactMatch"
    assert by[("lab_loinc:K", "loinc:2823-3")]["predicate_id"] == "skos:narrowMatch"
    assert by[("lab_loinc:M", "loinc:2345-7")]["predicate_id"] == "skos:broadMatch"
    assert by[("lab_loinc:M", "loinc:3094-0")]["predicate_id"] == "skos:relatedMatch"
    neg = by[("lab_loinc:Y", "loinc:2345-7")]
    assert (neg["predicate_modifier"], neg["author_id"], neg["mapping_date"]) == \
        ("Not", "orcid:0000-0002-1825-0097", "2026-11-21")
    na = by[("lab_loinc:NA", "loinc:2951-2")]
    assert (na["subject_label"], na["object_label"], na["author_label"]) == \
        ("Natrium", "Sodium [Moles/volume] in Serum or Plasma", "anna")
    assert {r["mapping_justification"] for r in rows} == {"semapv:ManualMappingCuration"}
    _, licensed = export_text("sssom", PROJECT, [], SOURCES,
                              license="https://creativecommons.org/publicdomain/zero/1.0/")
    assert "#license: https://creativecommons.org/publicdomain/zero/1.0/" in licensed


def test_sssom_snomed_curie() -> None:
    project = Project(id="dx", title="Dx", source_system=LAB, source_version=None,
                      target_system="http://snomed.info/sct")
    text = export_text("sssom", project, [Decision("A", "accepted", (Target("73211009"),))],
                       {})[1]
    meta, rows = _sssom(text)
    assert rows[0]["object_id"] == "sctid:73211009"
    assert meta["curie_map"]["sctid"] == "http://snomed.info/id/"


def test_omop_source_to_concept_map() -> None:
    omop = {("LOINC", "2951-2"): 3019550}
    media, text = export_text("omop", PROJECT, decisions(), SOURCES, published=DAY,
                              omop_concepts=omop)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == OMOP_COLUMNS
    body = [dict(zip(OMOP_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert [(r["source_code"], r["target_concept_id"]) for r in body] == \
        [("NA", "3019550"), ("K", "0"), ("M", "0"), ("M", "0")]  # negative Y left out
    first = body[0]
    assert (first["target_vocabulary_id"], first["valid_start_date"], first["valid_end_date"],
            first["source_concept_id"], first["source_code_description"],
            first["invalid_reason"]) == ("LOINC", "2026-11-22", "2099-12-31", "0", "Natrium", "")
    assert first["source_vocabulary_id"] == "lab_loinc"


def test_unknown_format_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        export_text("xlsx", PROJECT, decisions(), SOURCES)


def test_real_mimic_map_to_omop_and_sssom() -> None:
    """MIMIC-IV lab items → LOINC (../shared/data) with its real OMOP concept ids."""
    path = shared("local-codes/mimic-iv-concept-maps/d_labitems_to_loinc.csv")
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["omop_vocabulary_id"] == "LOINC"
                and r["omop_concept_code"]]
    item = "itemid (omop_source_code)"
    project = Project(id="mimic-lab", title="MIMIC-IV lab items", source_version="2.2",
                      source_system="http://mimic.mit.edu/fhir/mimic/CodeSystem/d-labitems",
                      target_system=LOINC)
    chosen = [Decision(r[item], "accepted", (Target(r["omop_concept_code"],
                                                    r["omop_concept_name"]),)) for r in rows]
    concepts = {("LOINC", r["omop_concept_code"]): int(r["omop_concept_id"]) for r in rows
                if r["omop_concept_id"].isdigit()}
    _, text = export_text("omop", project, chosen, {}, omop_concepts=concepts)
    out = list(csv.DictReader(io.StringIO(text)))
    assert len(out) == len(rows) > 1000
    want = {(r[item], r["omop_concept_id"] if r["omop_concept_id"].isdigit() else "0")
            for r in rows}  # 0: no (valid) OMOP id given; a few upstream rows are malformed
    assert {(r["source_code"], r["target_concept_id"]) for r in out} == want
    meta, mappings = _sssom(export_text("sssom", project, chosen, {})[1])
    assert len(mappings) == len(rows)
    assert {m["object_id"].partition(":")[0] for m in mappings} == {"loinc"}
    assert set(meta["curie_map"]) >= {"loinc", "mimic_lab", "skos", "semapv"}


HOSTILE = ("=HYPERLINK(\"http://evil.example\")", "+1+cmd|' /C calc'!A0", "-2+3",
           "@SUM(A1:A9)", "\tlead tab", "\r=1")


@pytest.mark.parametrize("fmt", ["csv", "sssom", "omop"])
def test_no_cell_of_a_table_export_starts_a_formula(fmt: str) -> None:
    """OWASP CSV injection: displays, comments, authors and codes from an imported list."""
    sources = {f"{h}c": SourceCode(f"{h}c", h) for h in HOSTILE}
    found = [Decision(code, "accepted", (Target("2951-2", HOSTILE[i], comment=HOSTILE[-i]),),
                      comment=HOSTILE[i - 1], author=HOSTILE[i], updated="2026-11-20T10:00:00Z")
             for i, code in enumerate(sources)]
    text = export_text(fmt, PROJECT, found, sources, published=DAY)[1]
    table = [line for line in text.split("\n") if not line.startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(table)),
                           delimiter="\t" if fmt == "sssom" else ","))
    cells = [c for r in rows[1:] for c in r]
    assert len(rows) == len(HOSTILE) + 1
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert sum(c.startswith("'") for c in cells) >= len(HOSTILE) * 2  # code and display


def test_a_cell_is_quoted_only_when_a_spreadsheet_would_run_it() -> None:
    assert cell("=1+1") == "'=1+1" and cell("-A01") == "'-A01" and cell("@x") == "'@x"
    assert cell("\tx") == "'\tx" and cell("\rx") == "'\nx"  # a bare CR would break a row
    assert cell("-5") == "-5" and cell("+1.5") == "+1.5" and cell("2345-7") == "2345-7"
    assert cell(None) == "" and cell(0) == "0" and cell("Natrium") == "Natrium"
