"""Store: migrations, version resolution and atomic writes, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from termserver import ingest
from termserver.errors import BusinessRule
from termserver.store import Store, migrations, version_key
from tests.helpers import code_system, set_legacy_version


def test_fresh_database_is_stamped_and_reopening_is_idempotent(db_url: str) -> None:
    """(Upgrades from each older schema: tests/test_migrations.py.)"""
    s = Store(db_url)
    s.close()
    again = Store(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    again.close()
    assert versions == [migrations.head()]


def test_version_key_orders_numerically() -> None:
    versions = ["2025", None, "2024", "1.10", "1.9", "2.0.0-beta"]
    assert sorted(versions, key=version_key) == [None, "1.9", "1.10", "2.0.0-beta", "2024",
                                                 "2025"]


def test_unversioned_request_picks_latest_real_content(store: Store) -> None:
    url = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
    with store.writer() as w:
        ingest.save_resource(w, code_system(url, "2024", codes=("A00",)), mode="canonical")
        ingest.save_resource(w, code_system(url, "2025", codes=("A01",)), mode="canonical")
        ingest.save_resource(w, code_system(url, None, content="not-present", codes=()),
                             mode="canonical")
        ingest.save_resource(w, code_system(url, "2026", content="not-present", codes=()),
                             mode="canonical")
    chosen = store.resolve_code_system(url)
    assert chosen is not None and chosen.version == "2025" and chosen.content == "complete"
    assert store.resolve_code_system(url, "2024") is not None
    assert store.resolve_code_system(url, "1999") is None


def test_stub_never_replaces_complete_content_of_same_canonical(store: Store) -> None:
    url = "http://example.org/stubbed"
    with store.writer() as w:
        ingest.save_resource(w, code_system(url, "1", codes=("a", "b", "c")), mode="canonical")
        result = ingest.save_resource(w, code_system(url, "1", content="not-present", codes=()),
                                      mode="canonical")
    assert result.outcome == "kept"
    cs = store.resolve_code_system(url, "1")
    assert cs is not None and cs.content == "complete" and cs.concept_count == 3
    with store.writer() as w:  # the richer copy does replace a stub
        ingest.save_resource(w, code_system(url, "2", content="fragment", codes=("a",)),
                             mode="canonical")
        ingest.save_resource(w, code_system(url, "2", codes=("a", "b")), mode="canonical")
    cs2 = store.resolve_code_system(url, "2")
    assert cs2 is not None and cs2.content == "complete" and cs2.concept_count == 2


def test_a_failed_write_leaves_everything_as_it_was(store: Store) -> None:
    with store.writer() as w:
        ingest.save_resource(w, code_system("http://example.org/keep", "1"), mode="canonical")
    before = store.count_rows()
    with pytest.raises(BusinessRule), store.writer() as w:
        ingest.save_resource(w, code_system("http://example.org/new", "1", codes=("x", "y")),
                             mode="canonical")
        ingest.save_resource(w, code_system("http://example.org/bad", "1", codes=("z", "z")),
                             mode="canonical")
    assert store.count_rows() == before


def test_concept_detail_has_hierarchy_designations_and_properties(store: Store) -> None:
    cs = code_system("http://example.org/h", "1", codes=())
    cs["concept"] = [{"code": "root", "display": "Root", "concept": [
        {"code": "leaf", "display": "Leaf",
         "designation": [{"language": "de-DE", "use": {"system": "http://snomed.info/sct",
                                                      "code": "900000000000013009"},
                          "value": "Blatt"}],
         "property": [{"code": "status", "valueCode": "retired"},
                      {"code": "notSelectable", "valueBoolean": True}]}]}]
    with store.writer() as w:
        ingest.save_resource(w, cs, mode="canonical")
    found = store.resolve_code_system("http://example.org/h")
    assert found is not None
    leaf = store.concept_detail(found.pk, "leaf")
    assert leaf is not None
    assert leaf.parents == ("root",) and leaf.concept.inactive and leaf.concept.abstract
    assert leaf.designations[0].value == "Blatt"
    assert leaf.designations[0].use_code == "900000000000013009"
    root = store.concept_detail(found.pk, "root")
    assert root is not None and root.children == ("leaf",)
    assert store.concept_detail(found.pk, "nope") is None


def _owners(db_url: str) -> dict[str, str | None]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT url, owner FROM resource")).all()
    engine.dispose()
    return {r.url: r.owner for r in rows}


def test_every_resource_records_who_wrote_it(store: Store, db_url: str) -> None:
    with store.writer() as w:
        ingest.save_resource(w, code_system("http://example.org/api"), mode="create")
        ingest.save_resource(w, code_system("http://example.org/pkg"), mode="canonical",
                             origin="some.package#1.0:package/CodeSystem-x.json")
        ingest.save_resource(w, code_system("http://example.org/list"), mode="canonical",
                             origin="workbench")
    assert _owners(db_url) == {"http://example.org/api": "api",
                               "http://example.org/pkg": "loader",
                               "http://example.org/list": "workbench"}


def test_a_version_5_database_gets_owners_inferred_from_the_origin(db_url: str) -> None:
    s = Store(db_url)
    with s.writer() as w:
        ingest.save_resource(w, code_system("http://example.org/api"), mode="create")
        ingest.save_resource(w, code_system("http://example.org/pkg"), mode="canonical",
                             origin="/data/release.zip")
        ingest.save_resource(w, code_system("http://example.org/list"), mode="canonical",
                             origin="workbench")
        ingest.save_resource(w, {"resourceType": "ConceptMap", "url": "http://example.org/cm",
                                 "status": "draft"}, mode="canonical", origin="workbench:lab")
    s.close()
    engine = create_engine(db_url)
    with engine.begin() as conn:  # back to schema 5: no owner column
        conn.execute(text("ALTER TABLE resource DROP COLUMN owner"))
        set_legacy_version(conn, 5)
    engine.dispose()
    Store(db_url).close()
    assert _owners(db_url) == {"http://example.org/api": "api",
                               "http://example.org/pkg": "loader",
                               "http://example.org/list": "workbench",
                               "http://example.org/cm": "workbench"}
