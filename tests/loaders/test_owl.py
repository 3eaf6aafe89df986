"""OwlLoader: classes, labels, synonyms and subClassOf of a small OWL fixture; the --system
rule; and, through the API, $lookup and $subsumes on the loaded ontology."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders import detect
from loaders.base import CodeSystemContent, LoadOptions
from loaders.owl import OwlLoader
from termserver.cli import main
from termserver.errors import LoadError
from termserver.ingest import load_path
from termserver.model import Concept, Designation, ParentLink, Record
from termserver.store import Store

OWL_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "owl" / "anatomy-mini.owl"
SYSTEM = "http://example.org/fhir/CodeSystem/anatomy"


def _read(**options: str) -> tuple[CodeSystemContent, list[Record]]:
    items = list(OwlLoader().read(OWL_FILE, LoadOptions(**options)))
    assert len(items) == 1 and isinstance(items[0], CodeSystemContent)
    return items[0], list(items[0].records)


def test_classes_become_concepts_with_labels_synonyms_and_parents() -> None:
    content, records = _read(system=SYSTEM)
    assert (content.info.url, content.info.version, content.info.title) == \
        (SYSTEM, "2024-05", "Mini anatomy")
    concepts = {r.code: r for r in records if isinstance(r, Concept)}
    assert set(concepts) == {"AnatomicalEntity", "Organ", "Heart", "Liver", "Spleen_old"}
    assert concepts["AnatomicalEntity"].display == "anatomical entity"  # rdfs:label, English
    assert concepts["Heart"].display == "heart"  # skos:prefLabel
    assert concepts["Organ"].definition == "A part of the body with a special function."
    assert concepts["Spleen_old"].inactive and not concepts["Heart"].inactive
    designations = {(r.code, r.value, r.language, r.use_code) for r in records
                    if isinstance(r, Designation)}
    assert ("AnatomicalEntity", "anatomische Struktur", "de", None) in designations
    assert ("Heart", "Herz", "de", None) in designations
    assert ("Heart", "cardiac organ", "en", "900000000000013009") in designations
    assert ("Liver", "hepar", None, "900000000000013009") in designations
    links = {(r.child, r.parent) for r in records if isinstance(r, ParentLink)}
    assert links == {("Organ", "AnatomicalEntity"), ("Heart", "Organ"), ("Liver", "Organ"),
                     ("Spleen_old", "Organ")}  # the partOf restriction is no parent


def test_code_from_an_annotation_with_fragment_fallback() -> None:
    _, records = _read(system=SYSTEM, code_annotation="skos:notation", version="7")
    codes = {r.code for r in records if isinstance(r, Concept)}
    assert codes == {"A0", "A1", "A2", "A3", "Spleen_old"}
    assert ParentLink("A2", "A1") in records


def test_system_is_required() -> None:
    with pytest.raises(LoadError, match="pass --system URL"):
        list(OwlLoader().read(OWL_FILE, LoadOptions()))


def test_cli_without_system_is_one_clear_line(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    code = main(["load", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--format", "owl",
                 str(OWL_FILE)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0
    assert err == f"termserver: error: {OWL_FILE}: an OWL ontology has no FHIR canonical URL; " \
        "pass --system URL"


def test_malformed_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.owl"
    bad.write_text("<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><oops",
                   encoding="utf-8")
    with pytest.raises(LoadError, match=r"broken\.owl: not a readable OWL ontology"):
        list(OwlLoader().read(bad, LoadOptions(system=SYSTEM)))


def test_detected_by_suffix() -> None:
    assert isinstance(detect(OWL_FILE), OwlLoader)


# -- through the API -----------------------------------------------------------------------------


def _params(body: dict[str, Any]) -> dict[str, Any]:
    assert body["resourceType"] == "Parameters", body
    return {p["name"]: p for p in body["parameter"]}


def test_lookup_and_subsumes_over_http(client: TestClient, store: Store) -> None:
    load_path(store, OwlLoader(), OWL_FILE, LoadOptions(system=SYSTEM))
    r = client.get("/fhir/CodeSystem/$lookup", params={
        "system": SYSTEM, "code": "Heart", "displayLanguage": "de", "property": "parent"})
    assert r.status_code == 200, r.text
    out = _params(r.json())
    assert out["display"]["valueString"] == "Herz"
    assert out["version"]["valueString"] == "2024-05"
    assert out["property"]["part"][1]["valueCode"] == "Organ"

    def subsumes(a: str, b: str) -> str:
        r = client.get("/fhir/CodeSystem/$subsumes", params={
            "system": SYSTEM, "codeA": a, "codeB": b})
        assert r.status_code == 200, r.text
        return str(_params(r.json())["outcome"]["valueCode"])

    assert subsumes("AnatomicalEntity", "Heart") == "subsumes"
    assert subsumes("Liver", "Organ") == "subsumed-by"
    assert subsumes("Heart", "Liver") == "not-subsumed"
    assert subsumes("Heart", "Heart") == "equivalent"
