"""Importing existing maps as decisions: our CSV export round-trips, the minimal CSV form,
bad rows by line, R4 and R5 ConceptMaps."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mappings.exports import export_text
from mappings.mapimport import MapImport, decisions_from_concept_map, decisions_from_csv
from mappings.model import Decision, Target
from termserver.errors import InvalidRequest, NotFound
from tests.mappings.test_publish import LAB, LOINC, PROJECT, SOURCES, decisions


def _key(d: Decision) -> tuple[Any, ...]:
    return (d.source_code, d.reviewer, d.status, d.comment, d.updated, d.targets)


def test_csv_export_round_trips() -> None:
    original = decisions()
    _, text = export_text("csv", PROJECT, original, SOURCES)
    imported = decisions_from_csv(text, project=PROJECT)
    assert isinstance(imported, MapImport) and imported.bad_rows == ()
    assert sorted(map(_key, imported)) == sorted(map(_key, original))
    by_code = {(d.source_code, d.reviewer): d for d in imported}
    assert by_code[("NA", "")].source_display == "Natrium"
    assert by_code[("M", "")].targets[1] == Target(
        "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "source-is-narrower-than-target",
        comment="panel member")


def test_csv_from_a_file_with_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_bytes("\ufeffsource_code;target_code;equivalence;comment\n"
                     "NA;2951-2;equivalent;Natrium Serum\n".encode())
    [d] = decisions_from_csv(path)
    assert (d.source_code, d.status, d.comment, d.targets) == \
        ("NA", "accepted", "Natrium Serum", (Target("2951-2", None, "equivalent"),))
    [same] = decisions_from_csv(str(path))
    assert same == d
    for missing in (tmp_path / "nope.csv", str(tmp_path / "nope.csv")):
        with pytest.raises(NotFound):
            decisions_from_csv(missing)


def test_minimal_csv_without_header_and_bad_rows_by_line() -> None:
    text = ("NA,2951-2\n"  # line 1
            "K,2823-3,narrower,\"Kalium,\nohne Material\"\n"  # lines 2-3
            "GLU,2345-7,kind-of\n"  # line 4: unknown relationship
            ",2345-7\n"  # line 5: no source code
            "\n"  # line 6: blank
            "NA,2951-2\n"  # line 7: duplicate of line 1
            "M,3094-0,related-to\n"
            "M,2345-7,wider,x\n"
            "Z,\n")  # line 10: no target: reviewed, no map
    result = decisions_from_csv(text)
    assert [(b.line, b.reason.split(" ")[0], b.code) for b in result.bad_rows] == [
        (4, "unknown", "GLU"), (5, "no", None), (7, "duplicate", "NA")]
    assert "line 1" in result.bad_rows[2].reason
    got = {d.source_code: d for d in result}
    assert set(got) == {"NA", "K", "M", "Z"}
    k = got["K"]
    assert (k.status, k.comment, k.targets[0].relationship) == \
        ("accepted", "Kalium,\nohne Material", "source-is-broader-than-target")
    assert [(t.code, t.relationship, t.comment) for t in got["M"].targets] == \
        [("3094-0", "related-to", None), ("2345-7", "source-is-narrower-than-target", "x")]
    assert (got["Z"].status, got["Z"].targets) == ("rejected", ())


def test_csv_status_conflicts_and_unknown_status() -> None:
    text = ("source_code,target_code,status\n"
            "A,1,accepted\n"
            "A,2,rejected\n"
            "B,3,done\n")
    result = decisions_from_csv(text)
    assert [(b.line, b.code) for b in result.bad_rows] == [(3, "A"), (4, "B")]
    assert "differs" in result.bad_rows[0].reason and "status" in result.bad_rows[1].reason
    assert [(d.source_code, [t.code for t in d.targets]) for d in result] == [("A", ["1"])]
    with pytest.raises(InvalidRequest):
        decisions_from_csv("source_code,comment\nA,x\n")


def test_r4_concept_map_from_our_export() -> None:
    _, text = export_text("fhir-r4", PROJECT, decisions(), SOURCES, version="1.0")
    result = decisions_from_concept_map(json.loads(text), PROJECT)
    assert result.bad_rows == ()
    got = {d.source_code: d for d in result}
    assert set(got) == {"NA", "K", "Y", "M"}
    assert got["NA"].targets == (Target("2951-2", "Sodium [Moles/volume] in Serum or Plasma",
                                        "equivalent"),)
    assert (got["K"].targets[0].relationship, got["K"].comment) == \
        ("source-is-broader-than-target", "Kalium without specimen")
    assert got["Y"].status == "rejected" and got["Y"].targets[0].relationship == "not-related-to"
    assert [t.comment for t in got["M"].targets] == [None, "panel member"]
    assert all(d.status == "accepted" for c, d in got.items() if c != "Y")
    assert got["NA"].source_display == "Natrium"


def test_r5_concept_map_with_nomap_other_groups_and_unmapped_rule() -> None:
    cm = {"resourceType": "ConceptMap", "url": "http://example.org/cm", "status": "active",
          "group": [
              {"source": f"{LAB}|1", "target": f"{LOINC}|2.78",
               "element": [
                   {"code": "NA", "target": [{"code": "2951-2", "relationship": "equivalent",
                                              "comment": "checked"}]},
                   {"code": "GLU", "noMap": True},
                   {"display": "no code"}],
               "unmapped": {"mode": "fixed", "code": "UNK", "relationship": "related-to"}},
              {"source": LAB, "target": "http://snomed.info/sct",
               "element": [{"code": "NA", "target": [{"code": "39972003",
                                                      "relationship": "related-to"}]}]},
              {"source": "http://elsewhere.example/cs",
               "element": [{"code": "Q", "target": [{"code": "1", "relationship": "equivalent"}]}]},
          ]}
    result = decisions_from_concept_map(cm, PROJECT)
    assert [(b.line, b.code) for b in result.bad_rows] == [(3, None), (5, "Q")]
    got = {d.source_code: d for d in result}
    assert set(got) == {"NA", "GLU"}
    assert got["NA"].targets == (
        Target("2951-2", None, "equivalent", comment="checked"),
        Target("39972003", None, "related-to", "http://snomed.info/sct"))
    assert (got["GLU"].status, got["GLU"].targets) == ("rejected", ())
    with pytest.raises(InvalidRequest):
        decisions_from_concept_map({"resourceType": "ValueSet"}, PROJECT)


def test_concept_map_systems_compare_by_canonical_alias() -> None:
    icd = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
    project = replace(PROJECT, source_system=icd, target_system=icd)
    cm = {"resourceType": "ConceptMap", "group": [
        {"source": "http://fhir.de/CodeSystem/dimdi/icd-10-gm", "sourceVersion": "2016",
         "target": "http://fhir.de/CodeSystem/dimdi/icd-10-gm",
         "element": [{"code": "U06.9", "target": [{"code": "U07.1", "equivalence": "wider"}]}]}]}
    result = decisions_from_concept_map(cm, project)
    assert result.bad_rows == ()
    assert [d.targets for d in result] == \
        [(Target("U07.1", None, "source-is-narrower-than-target"),)]
