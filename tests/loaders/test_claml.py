"""ClaML loader on hand-written fixtures in the ICD-10-GM and OPS shapes: modifier expansion
by the ICD-10-GM rules, displays, usage and Meta properties, header, input forms, and the
refusal of entity declarations (XXE, expansion bombs) with the database left untouched."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

from loaders import detect
from loaders.base import CodeSystemContent, LoadOptions
from loaders.claml import ClamlLoader
from termserver.cli import main
from termserver.errors import LoadError
from termserver.model import Concept, ConceptProperty, Designation, ParentLink, Record
from termserver.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claml"
GM = FIXTURES / "icd10gm_modifiers.xml"
OPS = FIXTURES / "ops_modifiers.xml"
E10_01 = "Diabetes mellitus, Typ 1: Mit Koma: Als entgleist bezeichnet"


class Loaded:
    """Everything one ClaML file yields, indexed by code."""

    def __init__(self, path: Path, options: LoadOptions | None = None) -> None:
        items = list(ClamlLoader().read(path, options or LoadOptions()))
        assert len(items) == 1 and isinstance(items[0], CodeSystemContent)
        self.info = items[0].info
        self.records: list[Record] = list(items[0].records)
        self.display: dict[str, str | None] = {}
        self.props: dict[str, dict[str, str]] = defaultdict(dict)
        self.designations: dict[str, list[Designation]] = defaultdict(list)
        self.parents: dict[str, list[str]] = defaultdict(list)
        for r in self.records:
            if isinstance(r, Concept):
                assert r.code not in self.display, f"duplicate concept {r.code}"
                self.display[r.code] = r.display
            elif isinstance(r, ConceptProperty):
                self.props[r.code][r.property] = r.value
            elif isinstance(r, Designation):
                self.designations[r.code].append(r)
            elif isinstance(r, ParentLink):
                self.parents[r.child].append(r.parent)

    def codes(self) -> list[str]:
        return list(self.display)

    def children(self, code: str) -> list[str]:
        return [c for c, ps in self.parents.items() if code in ps]


@pytest.fixture(scope="module")
def gm() -> Loaded:
    return Loaded(GM)


# -- modifiers: the ICD-10-GM rules ------------------------------------------------------------


def test_two_modifiers_with_exclude_on_preceding_modifier(gm: Loaded) -> None:
    """E10 has S04E10_4 (4th digit) then S04E10_5 (5th digit); 5th digits excluded after some
    4th digits, as in the real E10.0 (only .01) and E10.7 (only .72-.75)."""
    assert gm.children("E10") == ["E10.0", "E10.1", "E10.2", "E10.7", "E10.9"]
    assert gm.children("E10.0") == ["E10.01"]
    assert gm.children("E10.1") == ["E10.11"]
    assert gm.children("E10.2") == ["E10.20", "E10.21"]
    assert gm.children("E10.7") == ["E10.72", "E10.73"]
    assert gm.children("E10.9") == ["E10.90", "E10.91"]


def test_generated_display_is_the_bfarm_composite_title(gm: Loaded) -> None:
    assert gm.display["E10"] == "Diabetes mellitus, Typ 1"  # &#160; became a space
    assert gm.display["E10.0"] == "Diabetes mellitus, Typ 1: Mit Koma"
    assert gm.display["E10.01"] == E10_01
    assert gm.display["M00.05"] == ("Arthritis und Polyarthritis durch Staphylokokken: "
                                    "Beckenregion und Oberschenkel")
    long_ = [d.value for d in gm.designations["M00.01"] if d.use_code == "preferredLong"]
    assert long_ == ["Arthritis und Polyarthritis durch Staphylokokken: Schulterregion "
                     "[Klavikula, Skapula, Akromioklavikular-, Schulter-, Sternoklavikulargelenk]"]


def test_inherited_modifier_applies_at_the_explicit_leaves(gm: Loaded) -> None:
    """M00 names the site modifier; its explicit subclasses get the 5th digit, M00 itself
    gets nothing, and M00.9 opts out with ExcludeModifier."""
    assert gm.children("M00") == ["M00.0", "M00.2", "M00.9"]
    assert gm.children("M00.0") == ["M00.00", "M00.01", "M00.05", "M00.09"]
    assert gm.children("M00.2") == ["M00.20", "M00.21", "M00.25", "M00.29"]
    assert gm.children("M00.9") == []
    assert not any(c.startswith("M000") for c in gm.codes())


def test_valid_modifier_class_limits_the_codes(gm: Loaded) -> None:
    assert gm.children("M54.1") == ["M54.12", "M54.16"]
    assert gm.display["M54.16"] == "Radikulopathie: Lumbalbereich"


def test_subclass_references_without_a_class_do_not_stop_expansion(gm: Loaded) -> None:
    """E10 lists SubClass E10.0… that exist only through the modifier."""
    assert gm.parents["E10.0"] == ["E10"]
    assert gm.props["E10.0"]["kind"] == "category"


def test_generated_codes_come_right_after_their_class(gm: Loaded) -> None:
    codes = gm.codes()
    assert codes[codes.index("E10") + 1: codes.index("E10") + 4] == ["E10.0", "E10.01", "E10.1"]


def test_dagger_modifier_makes_dagger_codes(gm: Loaded) -> None:
    assert gm.props["E10.2"]["usage"] == "dagger"
    assert gm.props["E10.20"]["usage"] == "dagger"
    assert "usage" not in gm.props["E10.0"] and "usage" not in gm.props["E10.01"]


def test_meta_inherited_except_the_codability_flags(gm: Loaded) -> None:
    assert gm.props["E10"]["Para295"] == "V"
    assert gm.props["E10.01"]["SexCode"] == "9"
    assert gm.props["E10.01"]["AgeLow"] == "9999"
    assert "Para295" not in gm.props["E10.01"] and "Para301" not in gm.props["M00.05"]


def test_ops_modifier_with_letters_and_valid_classes() -> None:
    ops = Loaded(OPS)
    assert ops.info.url == "http://fhir.de/CodeSystem/bfarm/ops"
    assert ops.children("5-433.2") == ["5-433.20", "5-433.21", "5-433.22", "5-433.2x"]
    assert ops.children("5-433.5") == ["5-433.50", "5-433.51"]
    assert ops.display["5-433.2x"] == "Destruktion, offen chirurgisch: Sonstige"
    assert ops.props["5-433.2x"]["ZusatzK"] == "N"
    assert ops.props["5"]["kind"] == "chapter" and ops.display["5"] == "Operationen"
    assert ops.children("9-984") == ["9-984.7", "9-984.b"]
    assert ops.props["5-433.0"]["P17b-d"] == "2"


# -- classes, rubrics, header ------------------------------------------------------------------


def test_kinds_usage_and_meta(gm: Loaded) -> None:
    assert (gm.props["IV"]["kind"], gm.props["E10-E14"]["kind"], gm.props["E10"]["kind"]) == \
        ("chapter", "block", "category")
    assert gm.props["A17.0"]["usage"] == "dagger"
    assert gm.props["N08.3"]["usage"] == "aster"
    assert gm.props["U69.10"]["usage"] == "optional"
    assert gm.props["N08.3"]["Para295"] == "O" and gm.props["U69.10"]["Para301"] == "Z"
    assert gm.parents["E10-E14"] == ["IV"] and gm.parents["U69.10"] == ["U69.1"]


def test_references_stay_out_of_displays(gm: Loaded) -> None:
    assert gm.display["N08.3"] == "Glomeruläre Krankheiten bei Diabetes mellitus"
    assert gm.display["A17.0"] == "Tuberkulöse Meningitis"
    assert gm.display["A01.0"] == "Typhus abdominalis"  # &nbsp; (declared only in the DTD)


def test_rubrics_become_designations_and_properties(gm: Loaded) -> None:
    assert [(d.value, d.language, d.use_code) for d in gm.designations["A01.0"]] == \
        [("Infektion durch Salmonella typhi", "de", "inclusion")]
    assert gm.props["E10"]["exclusion"] == \
        "Diabetes mellitus bei Fehl- oder Mangelernährung (E12.-)"
    assert gm.props["U69.10"]["coding-hint"] == \
        "Diese Schlüsselnummer ist zusätzlich zu J12-J18 anzugeben."
    assert "modifierlink" not in gm.props["E10"]
    assert gm.designations["E10.2"][0].value == "Diabetische Nephropathie"


def test_header(gm: Loaded) -> None:
    info = gm.info
    assert (info.url, info.version, info.language, info.name) == \
        ("http://fhir.de/CodeSystem/bfarm/icd-10-gm", "2025", "de", "ICD10GM")
    assert info.case_sensitive is True and info.hierarchy_meaning == "is-a"
    assert info.resource is not None
    assert "maschinenlesbaren Fassung" in info.resource["copyright"]
    props = {p["code"]: p["type"] for p in info.resource["property"]}
    assert props["kind"] == "code" and props["Para295"] == "string"
    assert props["exclusion"] == "string" and "excludeOnPrecedingModifier" not in props


def test_system_and_version_options(tmp_path: Path) -> None:
    loaded = Loaded(GM, LoadOptions(version="2025-test", system="http://example.org/icd"))
    assert (loaded.info.url, loaded.info.version) == ("http://example.org/icd", "2025-test")


def test_unknown_classification_needs_system(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text(GM.read_text(encoding="utf-8").replace('name="ICD-10-GM"', 'name="XYZ"'),
                    encoding="utf-8")
    with pytest.raises(LoadError, match="--system"):
        Loaded(path)


@pytest.mark.parametrize("form", ["gz", "zip", "folder"])
def test_packed_inputs(tmp_path: Path, form: str) -> None:
    if form == "gz":
        path = tmp_path / "icd10gm2025syst_claml.xml.gz"
        path.write_bytes(gzip.compress(GM.read_bytes()))
    elif form == "zip":
        path = tmp_path / "icd10gm2025syst-claml.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("Klassifikationsdateien/ClaML.dtd", "<!-- dtd -->")
            z.write(GM, "Klassifikationsdateien/icd10gm2025syst_claml_20240913.xml")
    else:
        path = tmp_path / "Klassifikationsdateien"
        path.mkdir()
        shutil.copy(GM, path / "icd10gm2025syst_claml_20240913.xml")
    assert isinstance(detect(path), ClamlLoader)
    assert Loaded(path).display["E10.01"] == E10_01


def test_not_claml(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<?xml version='1.0'?><icd_10_v2019><item/></icd_10_v2019>")
    assert not ClamlLoader().detect(path)
    with pytest.raises(LoadError, match="root element is <icd_10_v2019>"):
        Loaded(path)


# -- security ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "what"), [
    ("xxe_external_entity.xml", "external entity 'secret'"),
    ("xxe_parameter_entity.xml", "external parameter entity 'remote'"),
    ("entity_bomb.xml", "entity 'lol'"),
])
def test_entity_declarations_are_refused(name: str, what: str) -> None:
    with pytest.raises(LoadError) as err:
        Loaded(FIXTURES / name)
    assert str(FIXTURES / name) in err.value.message
    assert f"refused: the document declares the {what}" in err.value.message


def test_external_dtd_is_never_read(tmp_path: Path) -> None:
    """A DOCTYPE pointing at a DTD that declares an entity: the DTD is not fetched, so the
    entity stays unknown instead of being expanded from an outside file."""
    (tmp_path / "evil.dtd").write_text('<!ENTITY payload "from the outside">')
    path = tmp_path / "doc.xml"
    path.write_text(GM.read_text(encoding="utf-8")
                    .replace('SYSTEM "ClaML.dtd"', f'SYSTEM "{tmp_path / "evil.dtd"}"')
                    .replace("Typhus und Paratyphus", "&payload;"), encoding="utf-8")
    with pytest.raises(LoadError, match=r"undefined entity &payload;"):
        Loaded(path)


def test_cli_refuses_in_one_line_and_leaves_the_database_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/t.db"
    assert main(["load", str(GM), "--db", db]) == 0
    before = _rows(db)
    capsys.readouterr()
    for name in ("entity_bomb.xml", "xxe_external_entity.xml"):
        code = main(["load", "--format", "claml", str(FIXTURES / name), "--db", db])
        err = capsys.readouterr().err
        assert code != 0
        assert err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith("termserver: error: ") and name in err and "refused" in err
    assert _rows(db) == before


def _rows(db: str) -> dict[str, int]:
    store = Store(db)
    try:
        return store.count_rows()
    finally:
        store.close()
