"""The ranked text index of $expand's filter (termserver/store/search.py, termserver/textfold.py):
folding, built with the content in the same transaction, dropped with it, never rebuilt on
open, rebuilt after a format upgrade."""

from __future__ import annotations

from typing import Any

import pytest

from termserver.ingest import save_resource
from termserver.store import Store, search
from termserver.store.pages import Cond, Selection
from termserver.textfold import EXACT, PREFIX, WHOLE, code_query, fold, parse, tier, words

URL = "http://example.org/cs/search"


def test_folding() -> None:
    assert fold("Hämoglobin") == fold("Haemoglobin") == fold("HAMOGLOBIN") == "hamoglobin"
    assert fold("Straße, groß") == fold("Strasse gross")
    assert fold("Blut/Serum [Masse]") == "blut serum mase"
    assert fold("Müller-Lyer") == fold("Mueller Lyer")
    assert fold("Kreatinin") == fold("Creatinin") and fold("Glukose") == fold("Glucose")
    assert fold("Leukozyten") == fold("Leukocyten") and fold("Phosphat") == fold("Fosfat")
    assert fold("E11.9 2160-0 HbA1c") == "e11 9 2160 0 hba1k"  # numbers kept as they are
    assert words("diab  mell diab") == ["diab", "mel"]


def test_tiers() -> None:
    assert tier(parse("diabetes mellitus"), fold("Diabetes mellitus")) == EXACT
    assert tier(parse("mellitus diabetes"), fold("Diabetes mellitus Typ 2")) == WHOLE
    assert tier(parse("diab mell"), fold("Diabetes mellitus")) == PREFIX
    assert tier(parse("diab typ"), fold("Diabetes mellitus")) is None
    assert tier(parse("Leukoc"), fold("Leukocytes")) == PREFIX  # typed up to a soft c
    assert tier(parse(""), "x") is None
    assert code_query(" E11 ") == "E11" and code_query("E11 9") is None


def _cs(n: int, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    concepts = [{"code": f"C{i}", "display": f"Filler concept {i}"} for i in range(n)]
    return {"resourceType": "CodeSystem", "id": "search-cs", "url": URL, "version": "1",
            "status": "active", "content": "complete", "concept": [*(extra or []), *concepts]}


def _pk(store: Store) -> int:
    cs = store.resolve_code_system(URL)
    assert cs is not None
    return cs.pk


def test_built_with_the_content_and_dropped_with_it(store: Store,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SEARCH_MIN", 10)
    with store.writer() as w:
        save_resource(w, _cs(5), mode="canonical")
    assert not search.ready(store, _pk(store))  # below SEARCH_MIN: no index
    extra: list[dict[str, Any]] = [{"code": "N1", "display": "Natrium im Serum",
              "designation": [{"language": "en", "value": "Sodium serum"}]},
             {"code": "H1", "display": "Hämoglobin"}]
    with store.writer() as w:
        save_resource(w, _cs(20, extra), mode="canonical")
    pk = _pk(store)
    assert search.ready(store, pk)
    sel = Selection(pk)
    assert search.search_page(store, sel, "natr ser", 0, 10) == (["N1"], 1)
    assert search.search_page(store, sel, "sodium", 0, 10) == (["N1"], 1)
    assert search.search_page(store, sel, "haemoglobin", 0, 10) == (["H1"], 1)
    found, total = search.search_page(store, sel, "filler", 0, 3)
    assert found == ["C0", "C1", "C2"] and total == 20  # shorter text first
    codes, _ = search.search_page(store, Selection(pk, (Cond("code-in", values=("C1", "C2")),)),
                                  "filler", 0, 10)
    assert codes == ["C1", "C2"]
    assert search.missing(store) == []
    reopened = Store(store.url)  # opening never rebuilds
    try:
        assert search.ready(reopened, pk) and search.build_missing(reopened) == []
    finally:
        reopened.close()
    with store.writer() as w:
        w.delete_resource(w.get("CodeSystem", "search-cs"))  # type: ignore[arg-type]
    assert not search.ready(store, pk)


def test_an_older_format_is_rebuilt_with_progress(store: Store,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SEARCH_MIN", 10)
    with store.writer() as w:
        save_resource(w, _cs(30), mode="canonical")
    pk = _pk(store)
    monkeypatch.setattr(search, "FORMAT", search.FORMAT + 1)
    monkeypatch.setattr(search, "PG_FORMAT", search.PG_FORMAT + 1)
    assert not search.ready(store, pk) and search.missing(store) == [pk]
    seen: list[tuple[str, int, int | None]] = []
    assert search.build_missing(store, lambda label, done, total: seen.append(
        (label, done, total))) == [pk]
    assert search.ready(store, pk)
    assert seen and seen[-1] == (f"{URL}|1", 30, 30)


def test_reindex_command_builds_what_an_upgrade_left_missing(
        store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from termserver.cli import main

    monkeypatch.setattr(search, "SEARCH_MIN", 10)
    with store.writer() as w:
        save_resource(w, _cs(30), mode="canonical")
    pk = _pk(store)
    monkeypatch.setattr(search, "FORMAT", search.FORMAT + 1)
    monkeypatch.setattr(search, "PG_FORMAT", search.PG_FORMAT + 1)
    assert main(["reindex", "--db", store.url]) == 0
    assert search.ready(store, pk)
    assert f"text index of code system {pk} built" in capsys.readouterr().err
    assert main(["reindex", "--db", store.url]) == 0  # nothing left to do
    assert "built" not in capsys.readouterr().err


def test_property_conditions_probe_by_code(store: Store) -> None:
    """A property condition looks up each concept's properties (ix_property_code), never every
    row of the property per concept (that took minutes for CLASS=CHEM over LOINC)."""
    from termserver.store.pages import cond_sql

    sql, _ = cond_sql(Cond("prop-in", "CLASS", ("CHEM",)), "c.code", 1,
                      store.dialect == "sqlite")
    if store.dialect == "sqlite":
        assert "INDEXED BY ix_property_code" in sql
    with store.engine.connect() as conn:  # the hint names an index that exists
        params = (1, 1, "CLASS", "CHEM", "CHEM")
        marked = sql if store.dialect == "sqlite" else sql.replace("?", "%s")
        conn.exec_driver_sql(f"SELECT c.code FROM concept c WHERE c.cs_pk = "
                             f"{'?' if store.dialect == 'sqlite' else '%s'} AND {marked}", params)
