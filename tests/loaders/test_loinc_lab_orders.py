"""The Universal Lab Orders value set as term property ORDER_OBS (format `loinc-lab-orders`):
onto the loaded LOINC version, replaced (not doubled) when loaded again, codes that version
lacks dropped, a bad row named by line; through the CLI with auto-detection. Rows are real
LOINC content (tests/fixtures/loinc/LOINC_NOTICE.txt)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from loaders import detect, get_loader
from loaders.base import CodeSystemAddition, LoadOptions
from loaders.loinc import LoincLoader
from loaders.loinc_lab_orders import LoincLabOrdersLoader
from termserver.cli import main
from termserver.errors import LoadError
from termserver.ingest import load_path
from termserver.store import Store

CORE = Path(__file__).resolve().parent.parent / "fixtures" / "loinc" / "LoincTableCore_2.78.csv"
ORDERS = ('"LOINC_NUM","LONG_COMMON_NAME","ORDER_OBS"\n'
          '"2160-0","Creatinine [Mass/volume] in Serum or Plasma","Both"\n'
          '"6298-4","Potassium [Moles/volume] in Blood","Observation"\n'
          '"2345-7","Glucose [Mass/volume] in Serum or Plasma","Both"\n')


def _orders(tmp_path: Path, text: str = ORDERS, gz: bool = False) -> Path:
    path = tmp_path / ("LoincUniversalLabOrdersValueSet.csv" + (".gz" if gz else ""))
    data = text.encode("utf-8-sig")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _order_obs(store: Store, code: str) -> list[str]:
    cs = store.resolve_code_system("http://loinc.org")
    assert cs is not None
    detail = store.concept_detail(cs.pk, code)
    assert detail is not None
    return [str(p.value) for p in detail.properties if p.property == "ORDER_OBS"]


def test_the_file_is_an_addition_of_order_obs(tmp_path: Path) -> None:
    path = _orders(tmp_path, gz=True)
    assert isinstance(detect(path), LoincLabOrdersLoader)
    assert isinstance(get_loader("loinc-lab-orders"), LoincLabOrdersLoader)
    (item,) = LoincLabOrdersLoader().read(path, LoadOptions(version="2.78"))
    assert isinstance(item, CodeSystemAddition)
    assert (item.url, item.version, item.replace_properties) == \
        ("http://loinc.org", "2.78", ("ORDER_OBS",))
    assert [(r.code, r.value) for r in item.records] == [  # type: ignore[attr-defined]
        ("2160-0", "Both"), ("6298-4", "Observation"), ("2345-7", "Both")]


def test_loaded_onto_loinc_and_replaced_when_loaded_again(store: Store, tmp_path: Path) -> None:
    load_path(store, LoincLoader(), CORE, LoadOptions(version="2.78"))
    report = load_path(store, LoincLabOrdersLoader(), _orders(tmp_path), LoadOptions())
    assert any("dropped 1 for codes not in that version" in s for s in report.skipped)  # 2345-7
    assert _order_obs(store, "2160-0") == ["Both"]
    assert _order_obs(store, "6298-4") == ["Observation"]
    again = ORDERS.replace('"6298-4","Potassium [Moles/volume] in Blood","Observation"\n', "")
    load_path(store, LoincLabOrdersLoader(), _orders(tmp_path, again), LoadOptions())
    assert _order_obs(store, "2160-0") == ["Both"]  # not doubled
    assert _order_obs(store, "6298-4") == []  # no longer in the value set


def test_a_bad_row_is_named_by_line(store: Store, tmp_path: Path) -> None:
    load_path(store, LoincLoader(), CORE, LoadOptions(version="2.78"))
    bad = _orders(tmp_path, ORDERS.replace('"6298-4"', '"6298_4"'))
    with pytest.raises(LoadError, match=":3: LOINC_NUM '6298_4'"):
        load_path(store, LoincLabOrdersLoader(), bad, LoadOptions())
    assert _order_obs(store, "2160-0") == []  # nothing of the failed load stays
    with pytest.raises(LoadError, match="no LoincUniversalLabOrdersValueSet"):
        list(LoincLabOrdersLoader().read(CORE, LoadOptions()))


def test_a_core_release_folder_takes_order_obs_from_other(store: Store, tmp_path: Path) -> None:
    """The full `loinc` load of a folder with LoincTableCore (no ORDER_OBS column) and
    Other/LoincUniversalLabOrdersValueSet.csv: ORDER_OBS for the table's codes only."""
    release = tmp_path / "Loinc_2.78"
    (release / "LoincTableCore").mkdir(parents=True)
    (release / "LoincTableCore" / "LoincTableCore.csv").write_bytes(CORE.read_bytes())
    (release / "Other").mkdir()
    _orders(release / "Other")
    report = load_path(store, LoincLoader(), release, LoadOptions())
    assert not any("dropped" in s for s in report.skipped)
    assert _order_obs(store, "2160-0") == ["Both"]
    assert _order_obs(store, "6298-4") == ["Observation"]
    cs = store.resolve_code_system("http://loinc.org")
    assert cs is not None and cs.version == "2.78"
    assert store.concept_detail(cs.pk, "2345-7") is None  # in the value set, not the table


def test_the_cli_loads_it_after_loinc(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["load", "--format", "loinc", "--version", "2.78", str(CORE), "--db", db]) == 0
    assert main(["load", str(_orders(tmp_path)), "--db", db]) == 0
    out, err = capsys.readouterr()
    assert "1 CodeSystem updated" in out
    assert "ORDER_OBS from LoincUniversalLabOrdersValueSet.csv" in err
    store = Store(db)
    try:
        assert _order_obs(store, "2160-0") == ["Both"]
    finally:
        store.close()
