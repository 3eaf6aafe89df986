"""Loads never drop data silently (issue 16), on real LOINC files from ../shared/data: a
replacement of a LOINC version that carries a German variant and the lab-orders flags is
refused without `replace` (naming what it would drop) and says what it dropped with it; a
2.74 accessory file added onto 2.78 warns; renamed LOINC files are recognised by their header.
Each case prints what the load said."""

from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import pytest

from loaders.base import LoadOptions
from loaders.loinc import LoincLoader
from loaders.loinc_files import sniff
from loaders.loinc_lab_orders import LoincLabOrdersLoader
from loaders.loinc_variant import LoincVariantLoader
from termserver.errors import LoadError
from termserver.ingest import load_path
from termserver.load_safety import AdditionsDropped, choose_loader
from termserver.model import LoadReport
from termserver.store import Store
from tests.helpers import shared

CORE = "loinc/LoincTableCore_2.78.csv.gz"
GERMAN = "loinc/loinc-2.74-accessory/LinguisticVariants/deDE15LinguisticVariant.csv.gz"
ORDERS = "loinc/loinc-2.74-accessory/Other/LoincUniversalLabOrdersValueSet.csv"
LOINC = "http://loinc.org"


def _core_slice(path: Path, rows: int, also: frozenset[str] | set[str] = frozenset()) -> Path:
    """The header and the first `rows` rows (plus the rows of codes in `also`) of the real
    2.78 core table, gzipped at `path`."""
    lines: list[str] = []
    with gzip.open(shared(CORE), "rt", encoding="utf-8-sig", newline="") as f:
        header = f.readline()
        for n, line in enumerate(f):
            if n < rows or next(csv.reader([line]))[0] in also:
                lines.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write(header + "".join(lines))
    return path


def _order_codes() -> set[str]:
    with shared(ORDERS).open(encoding="utf-8-sig", newline="") as f:
        return {row["LOINC_NUM"] for row in csv.DictReader(f)}


def _said(report: LoadReport) -> str:
    text = f"{report.written} | " + " | ".join(report.skipped)
    print(text)
    return text


def _profile(store: Store) -> dict[str, int]:
    """Concepts, designations per language and properties per name of LOINC 2.78."""
    with store.writer() as w:
        existing = w.find("CodeSystem", LOINC, "2.78")
        assert existing is not None
        return w.content_profile(existing.pk)


def _subset_with_additions(store: Store, tmp_path: Path) -> dict[str, int]:
    """The demo's situation: a 2.78 subset, then the German variant and the lab orders."""
    subset = _core_slice(tmp_path / "subset" / "LoincTableCore_2.78.csv.gz", 500,
                         _order_codes())
    _said(load_path(store, LoincLoader(), subset, LoadOptions()))
    _said(load_path(store, LoincVariantLoader(), shared(GERMAN), LoadOptions()))
    _said(load_path(store, LoincLabOrdersLoader(), shared(ORDERS), LoadOptions()))
    profile = _profile(store)
    assert profile["designation:de-DE"] > 1000 and profile["property:ORDER_OBS"] > 1000
    return profile


def test_replacing_over_additions_is_refused_without_replace(store: Store,
                                                              tmp_path: Path) -> None:
    before = _subset_with_additions(store, tmp_path)
    full = _core_slice(tmp_path / "full" / "LoincTableCore_2.78.csv.gz", 6000, _order_codes())
    with pytest.raises(AdditionsDropped) as refused:
        load_path(store, LoincLoader(), full, LoadOptions())
    message = refused.value.message
    print(message)
    assert f"{before['designation:de-DE']:,} de-DE designations" in message
    assert f"{before['property:ORDER_OBS']:,} ORDER_OBS properties" in message
    assert "--replace" in message
    assert _profile(store) == before  # nothing was changed


def test_replacing_with_replace_lists_what_was_dropped(store: Store, tmp_path: Path) -> None:
    before = _subset_with_additions(store, tmp_path)
    full = _core_slice(tmp_path / "full" / "LoincTableCore_2.78.csv.gz", 6000, _order_codes())
    said = _said(load_path(store, LoincLoader(), full, LoadOptions(), replace=True))
    after = _profile(store)
    assert after["concept"] > before["concept"]
    assert f"replaced {before['concept']:,} → {after['concept']:,} concepts" in said
    assert f"dropped {before['designation:de-DE']:,} de-DE designations, " \
           f"{before['property:ORDER_OBS']:,} ORDER_OBS properties" in said
    assert "designation:de-DE" not in after and "property:ORDER_OBS" not in after


def test_replacing_without_additions_reports_the_counts(store: Store, tmp_path: Path) -> None:
    subset = _core_slice(tmp_path / "a" / "LoincTableCore_2.78.csv.gz", 300)
    full = _core_slice(tmp_path / "b" / "LoincTableCore_2.78.csv.gz", 900)
    _said(load_path(store, LoincLoader(), subset, LoadOptions()))
    said = _said(load_path(store, LoincLoader(), full, LoadOptions()))
    assert f"{LOINC}|2.78: replaced 300 → 900 concepts" in said
    assert "dropped" not in said


def test_accessory_files_from_2_74_onto_2_78_warn(store: Store, tmp_path: Path) -> None:
    core = _core_slice(tmp_path / "core" / "LoincTableCore_2.78.csv.gz", 500, _order_codes())
    _said(load_path(store, LoincLoader(), core, LoadOptions()))
    said = _said(load_path(store, LoincVariantLoader(), shared(GERMAN), LoadOptions()))
    assert "warning: de-DE designations from deDE15LinguisticVariant.csv is from release " \
           "2.74 (from the name loinc-2.74-accessory) but was added to version 2.78" in said
    said = _said(load_path(store, LoincLabOrdersLoader(), shared(ORDERS), LoadOptions()))
    assert "is from release 2.74" in said and "added to version 2.78" in said
    # copied where no name or read-me tells its release: said, not guessed
    bare = tmp_path / "x" / "deDE15LinguisticVariant.csv.gz"
    bare.parent.mkdir()
    shutil.copyfile(shared(GERMAN), bare)
    said = _said(load_path(store, LoincVariantLoader(), bare, LoadOptions()))
    assert "release of de-DE designations from deDE15LinguisticVariant.csv cannot be known" \
        in said


def test_renamed_loinc_files_are_recognised_by_their_header(store: Store,
                                                            tmp_path: Path) -> None:
    table = _core_slice(tmp_path / "table.csv.gz", 700)
    loader = choose_loader(table, None)
    print(f"{table.name}: {sniff(table)} → {type(loader).__name__}")
    assert isinstance(loader, LoincLoader)
    said = _said(load_path(store, loader, table, LoadOptions(version="2.78")))
    assert "'CodeSystem created': 1" in said
    assert _profile(store)["concept"] == 700
    orders = tmp_path / "orders.csv"
    shutil.copyfile(shared(ORDERS), orders)
    loader = choose_loader(orders, None)
    print(f"{orders.name}: {sniff(orders)} → {type(loader).__name__}")
    assert isinstance(loader, LoincLabOrdersLoader)
    said = _said(load_path(store, loader, orders, LoadOptions()))
    assert "ORDER_OBS" in said
    german = tmp_path / "german.csv.gz"
    shutil.copyfile(shared(GERMAN), german)
    loader = choose_loader(german, None)
    print(f"{german.name}: {sniff(german)} → {type(loader).__name__}")
    assert isinstance(loader, LoincVariantLoader)
    with pytest.raises(LoadError, match="its language cannot be told") as refused:
        load_path(store, loader, german, LoadOptions())
    print(refused.value.message)
    # not LOINC: left to the other loaders
    other = tmp_path / "codes.csv"
    other.write_text("code,display\nA,Alpha\n", encoding="utf-8")
    assert sniff(other) is None


def _cli_has_replace() -> bool:
    import inspect

    from termserver import cli

    return "replace" in inspect.signature(cli._load_paths).parameters


@pytest.mark.skipif(not _cli_has_replace(), reason="termserver/cli.py does not route loads "
                    "through termserver.load_safety yet (load --replace)")
def test_cli_refuses_names_and_replaces(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from termserver.cli import main

    db = str(tmp_path / "t.db")
    subset = _core_slice(tmp_path / "subset" / "table.csv.gz", 500, _order_codes())
    full = _core_slice(tmp_path / "full" / "LoincTableCore_2.78.csv.gz", 3000)

    def run(*args: str) -> tuple[int, str]:
        rc = main(["load", "--db", db, *args])
        out, err = capsys.readouterr()
        with capsys.disabled():
            print(f"$ termserver load {' '.join(args)}  → exit {rc}\n{out}{err}")
        return rc, out + err

    rc, said = run("--version", "2.78", str(subset))  # renamed table: known by its header
    assert rc == 0 and "CodeSystem created" in said
    rc, said = run(str(shared(GERMAN)))
    assert rc == 0 and "is from release 2.74" in said
    rc, said = run(str(shared(ORDERS)))
    assert rc == 0 and "ORDER_OBS" in said
    rc, said = run(str(full))
    assert rc == 1 and "not replaced" in said and "de-DE designations" in said \
        and "ORDER_OBS properties" in said and "--replace" in said
    rc, said = run("--replace", str(full))
    assert rc == 0 and "→ 3,000 concepts" in said and "de-DE designations" in said \
        and "dropped" in said
