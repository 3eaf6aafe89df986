"""Store pieces of $translate/$subsumes/$closure: the 1 → 2 migration and the named queries."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from termserver import ingest
from termserver.store import Store, migrations
from tests.helpers import code_system, set_legacy_version


def test_version_1_database_gains_the_closure_tables(db_url: str) -> None:
    Store(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:  # back to what schema version 1 had
        for table in ("closure_relation", "closure_concept", "closure_table",
                      "concept_closure", "concept_ancestor", "concept_relationship",
                      "refset_member"):
            conn.execute(text(f"DROP TABLE {table}"))
        set_legacy_version(conn, 1)
    store = Store(db_url)
    with engine.connect() as conn:
        assert inspect(conn).has_table("closure_relation")
        top = migrations.current(conn).revision
    engine.dispose()
    assert top == migrations.head()
    with store.writer() as w:
        pk = w.create_closure_table("t")
        w.add_closure_version(pk, 1, [("s", "a"), ("s", "b")], [("s", "b", "a")])
    assert store.closure_table("t") == (pk, 1)
    assert store.closure_concepts(pk) == [("s", "a"), ("s", "b")]
    assert store.closure_relations(pk, 0) == [("s", "b", "a")]
    assert store.closure_relations(pk, 1) == []
    store.close()


def test_ancestors_and_map_rows(store: Store) -> None:
    cs = code_system("http://example.org/anc", codes=())
    cs["concept"] = [{"code": "r", "concept": [{"code": "m", "concept": [{"code": "l"}]}]}]
    cm = {"resourceType": "ConceptMap", "url": "http://example.org/cm", "version": "2",
          "group": [{"source": "http://s", "target": "http://t", "element": [
              {"code": "x", "target": [{"code": "X", "equivalence": "equal"}]}],
              "unmapped": {"mode": "fixed", "code": "?"}}]}
    with store.writer() as w:
        ingest.save_resource(w, cs, mode="canonical")
        ingest.save_resource(w, cm, mode="canonical")
    found = store.resolve_code_system("http://example.org/anc")
    assert found is not None
    assert store.ancestors(found.pk, "l") == {"m", "r"}
    assert store.ancestors(found.pk, "r") == set()
    rows = store.map_rows("x", "http://s")  # the element and the group's unmapped rule
    assert {(r[1], r[2]) for r in rows} == {("http://example.org/cm", "2")}
    assert sorted(str(r[3].target_code) for r in rows) == ["?", "X"]
    assert [r[3].source_code for r in store.map_rows("X", "http://t", reverse=True)] == ["x"]
    assert store.map_rows("x", "http://s", other_system="http://elsewhere") == []
    assert store.concept_map_exists("http://example.org/cm", "2")
    assert not store.concept_map_exists("http://example.org/cm", "3")
