"""The HL7 validator's requests over the MII KDS 2025 examples, replayed against a live server
with the MII packages, THO, ICD-10-GM 2025 (BfArM TXT) and the LOINC 2.78 core table (+ German
variant) loaded: no answer may fall into a server-defect class (tests/validator/classify.py).

The loaded database is built once per content of the loaders and the data (about 3 minutes)
and kept in pytest's cache directory; the replay itself (about 1,300 distinct requests) is
bounded by BUDGET seconds. `TERMSERVER_WRITE_REPLAY_DOC=1` writes docs/VALIDATOR-REPLAY.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from termserver.api.app import create_app
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import DATA, ROOT, serve_app
from tests.validator import replay
from tests.validator.classify import DEFECTS, NOTES, Classifier, parent_map
from tests.validator.mii_examples import Packages, Walker

pytestmark = pytest.mark.shared_data

PACKAGES = DATA / "fhir-packages"
MII = PACKAGES / "mii"
THO = PACKAGES / "hl7.terminology.r4-7.0.1.tgz"
ICD = DATA / "icd10gm" / "bfarm-metadaten-txt" / "icd10gm2025syst_kodes.txt.gz"
LOINC = DATA / "loinc" / "LoincTableCore_2.78.csv.gz"
LOINC_DE = DATA / "loinc" / "loinc-2.74-accessory" / "LinguisticVariants" / \
    "deDE15LinguisticVariant.csv.gz"
#: Seconds the replay may spend sending (a bound, not a timed assertion: a typical run needs
#: 15–25 s); what is left unsent is counted in docs/VALIDATOR-REPLAY.md, never hidden.
BUDGET = 240.0
#: Code that decides what a load writes: a change rebuilds the cached database.
LOAD_SOURCES = ("loaders", "termserver/ingest.py", "termserver/store", "termserver/model.py",
                "termserver/fhir/codesystem.py", "termserver/fhir/valueset.py")


def _inputs() -> list[Path]:
    paths = [*sorted(MII.glob("*.tgz")), THO, ICD, LOINC, LOINC_DE]
    missing = [p for p in paths if not p.exists()] or ([] if list(MII.glob("*.tgz")) else [MII])
    if missing:
        pytest.skip(f"needs {missing[0]} (real release data from ../shared/data; absent here)")
    return paths


def _key(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for src in LOAD_SOURCES:
        base = ROOT / src
        for f in sorted(base.rglob("*.py")) if base.is_dir() else [base]:
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _load(db: Path, paths: list[Path]) -> None:
    import loaders
    from loaders.base import LoadOptions
    from termserver.ingest import load_path

    store = Store(f"sqlite:///{db}")
    try:
        for path in paths:
            loader = loaders.detect(path)
            assert loader is not None, path
            load_path(store, loader, path, LoadOptions())
        store.checkpoint()  # everything in the .db file before it is renamed
    finally:
        store.close()


@pytest.fixture(scope="module")
def replay_db(request: pytest.FixtureRequest) -> Path:
    paths = _inputs()
    folder = Path(request.config.cache.mkdir("mii-replay"))
    db = folder / f"{_key(paths)}.db"
    if not db.exists():
        for old in folder.glob("*.db*"):
            old.unlink()
        building = folder / f"building-{os.getpid()}.db"
        _load(building, paths)
        building.rename(db)
    return db


@contextmanager
def _server(db: Path) -> Iterator[str]:
    url = f"sqlite:///{db}"
    store = Store(url)
    app = create_app(Settings(db=url, base_url="http://127.0.0.1/fhir"), store)
    port = os.environ.get("TERMSERVER_REPLAY_PORT")  # a fixed port where ports are assigned
    try:
        with serve_app(app, int(port or 0)) as base:
            yield base
    finally:
        store.close()


def test_the_validator_replay_finds_no_server_defect(replay_db: Path) -> None:
    mii = Packages.read(sorted(MII.glob("*.tgz")))
    tho = Packages.read([THO], examples_from=set())
    items = list(Walker(mii).coded())
    requests, sent_by = replay.requests_for(items, [mii, tho])
    requests += replay.probe_requests()
    kinds = {r.kind for r in requests}
    assert kinds == {"coding", "vs-url", "vs-inline", "probe"} and len(items) > 4000
    started = time.monotonic()
    with _server(replay_db) as base:
        answers, unsent = replay.run(base, requests, sent_by, budget=BUDGET)
        facts = replay.ServerFacts(base)
        try:
            classifier = Classifier([mii, tho], facts.displays, facts.stubbed)
            classes = [(a, classifier.classify(a)) for a in answers]
        finally:
            facts.close()
    if os.environ.get("TERMSERVER_WRITE_REPLAY_DOC"):
        replay.write_markdown(ROOT / "docs" / "VALIDATOR-REPLAY.md", classes, len(items),
                              unsent, DEFECTS, NOTES, time.monotonic() - started)
    defects = [(c, a) for a, c in classes if c in DEFECTS]
    shown = "\n".join(f"{c}: {a.request.kind} {a.request.system}#{a.request.code} "
                      f"{a.request.value_set or ''} {json.dumps(a.issues())[:300]}"
                      for c, a in defects[:20])
    assert not defects, (f"{len(defects)} answers show server defects ({unsent} requests "
                         f"left unsent by the time budget):\n{shown}")
    assert sum(1 for _, c in classes if c == "true") > 300  # the replay did reach the server


# -- the classifier on its own: each defect class is recognised -------------------------------


def _answer(kind: str, pairs: tuple[tuple[str, Any], ...], status: int, body: Any,
            value_set: str | None = None) -> replay.Answer:
    coding = dict(pairs).get("coding") or dict(pairs).get("codeableConcept", {}).get(
        "coding", [{}])[0]
    req = replay.Request(kind, "/ValueSet/$validate-code" if value_set else
                         "/CodeSystem/$validate-code", replay._params(*pairs),
                         coding.get("system"), coding.get("code"), coding.get("display"),
                         value_set)
    return replay.Answer(req, status, body, 0.0)


def _outcome(result: bool | None, *issues: tuple[str, str, str, str]) -> dict[str, Any]:
    oo = {"resourceType": "OperationOutcome", "issue": [
        {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/"
                        "operationoutcome-message-id", "valueString": mid}],
         "severity": sev, "code": "invalid",
         "details": {"coding": [{"system": "http://hl7.org/fhir/tools/CodeSystem/"
                                           "tx-issue-type", "code": tx}], "text": text}}
        for sev, tx, mid, text in issues]}
    if result is None:
        return oo
    return {"resourceType": "Parameters", "parameter": [
        {"name": "result", "valueBoolean": result}, {"name": "issues", "resource": oo}]}


V3 = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_VS = "http://example.org/vs/personal"
LOINC_VS = "http://example.org/vs/loinc-parts"


@pytest.fixture
def classifier() -> Classifier:
    pk = Packages()
    pk.code_systems[V3] = {"url": V3, "property": [
        {"code": "subsumedBy", "uri": "http://hl7.org/fhir/concept-properties#parent"}],
        "concept": [{"code": "_PersonalRelationshipRoleType"},
                    {"code": "FAMMEMB", "property": [
                        {"code": "subsumedBy", "valueCode": "_PersonalRelationshipRoleType"}]},
                    {"code": "MTH", "property": [{"code": "subsumedBy", "valueCode": "FAMMEMB"}]}]}
    pk.value_sets[V3_VS] = {"url": V3_VS, "compose": {"include": [{"system": V3, "filter": [
        {"property": "concept", "op": "is-a", "value": "_PersonalRelationshipRoleType"}]}]}}
    pk.value_sets[LOINC_VS] = {"url": LOINC_VS, "compose": {"include": [
        {"system": "http://loinc.org", "filter": [
            {"property": "PROPERTY", "op": "=", "value": "LP6870-2"}]}]}}
    displays = {("http://loinc.org", "9279-1"): ["Respiratory rate", "Atemfrequenz"]}
    return Classifier([pk], lambda s, c, v: displays.get((s, c)),
                      lambda s: s == "http://fhir.de/CodeSystem/bfarm/ops")


NOT_IN_VS = ("error", "not-in-vs", "None_of_the_provided_codes_are_in_the_value_set_one",
             "The provided code was not found in the value set")


def test_parent_map_reads_subsumed_by_declared_as_parent(classifier: Classifier) -> None:
    assert classifier.ancestors(V3, "MTH") == {"FAMMEMB", "_PersonalRelationshipRoleType"}
    assert parent_map({"concept": [{"code": "a", "concept": [{"code": "b"}]}]}) == {"b": {"a"}}


@pytest.mark.parametrize("answer, expected", [
    (_answer("coding", (("coding", {"system": "http://fhir.de/CodeSystem/bfarm/ops",
                                    "code": "5-470.11"}),), 200,
             _outcome(False, ("error", "invalid-code", "Unknown_Code_in_Version",
                              "Unknown code '5-470.11'"))), "stub-as-unknown"),
    (_answer("vs-url", (("url", V3_VS), ("coding", {"system": V3, "code": "MTH"})), 200,
             _outcome(False, NOT_IN_VS), V3_VS), "hierarchy-ignored"),
    (_answer("coding", (("coding", {"system": "http://loinc.org", "code": "9279-1",
                                    "display": "Respiratory Rate"}),), 200,
             _outcome(False, ("error", "invalid-display",
                              "Display_Name_for__should_be_one_of__instead_of", "Wrong"))),
     "case-only-display"),
    (_answer("vs-url", (("url", "http://fhir.de/ValueSet/bfarm/icd-10-gm"),
                        ("coding", {"system": "http://fhir.de/CodeSystem/bfarm/icd-10-gm",
                                    "code": "A54.4", "version": "2020"})), 200,
             _outcome(False, ("error", "invalid-data", "VALUESET_VALUE_MISMATCH",
                              "The code system version '*' in the value set include is "
                              "different to the one in the value ('2020')")), "x"),
     "version-wildcard"),
    (_answer("vs-url", (("url", LOINC_VS), ("coding", {"system": "http://loinc.org",
                                                       "code": "18868-0"})), 200,
             _outcome(False, NOT_IN_VS), LOINC_VS), "empty-part-filter"),
    (_answer("vs-url", (("url", LOINC_VS), ("coding", {"system": "http://loinc.org",
                                                       "code": "18868-0"})), 200,
             _outcome(False, NOT_IN_VS, ("warning", "not-found", "X",
                                         "the LOINC part data is not loaded")), LOINC_VS),
     "part-data-unavailable"),
    (_answer("coding", (("coding", {"system": "http://loinc.org", "code": "1-8"}),), 500,
             None), "server-error"),
    (_answer("coding", (("coding", {"system": "http://fhir.de/CodeSystem/bfarm/ops",
                                    "code": "5-470.11"}),), 200,
             _outcome(True, ("warning", "vs-invalid", "X", "found but (mode = not-present)"))),
     "true"),
    (_answer("coding", (("coding", {"system": "http://loinc.org", "code": "9279-1",
                                    "display": "Pulse"}),), 200,
             _outcome(False, ("error", "invalid-display", "Display_Name", "Wrong"))),
     "data-error:display"),
    (_answer("coding", (("coding", {"system": "http://snomed.info/sct", "code": "1"}),), 200,
             _outcome(False, ("error", "not-found", "UNKNOWN_CODESYSTEM", "not found"))),
     "cs-unavailable:licensed"),
    (_answer("coding", (("coding", {"system": "http://loinc.org", "code": "1-8"}),), 200,
             _outcome(False, ("error", "business-rule", "SOMETHING_NEW", "?"))), "other"),
])
def test_each_class_is_recognised(classifier: Classifier, answer: replay.Answer,
                                  expected: str) -> None:
    assert classifier.classify(answer) == expected
