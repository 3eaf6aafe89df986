"""Lab names a specimen word, a Greek letter, a short form or a flag would mislead: analyte
names holding a specimen word (mappings.analytenames), electrophoresis fractions
(mappings.globulins, mappings.variants.analyte_part), "Cr", bicarbonate as total CO2, an
analyser's flag on a cell, the RPR card test and an immunological method."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mappings.analytenames import without_analyte_names
from mappings.cellstems import cell_stems
from mappings.diversity import with_variants
from mappings.globulins import globulin_fraction
from mappings.hints import Axes, axes
from mappings.normalize import query_tokens
from mappings.suggest import TargetIndex, TargetTerm
from mappings.totalco2 import by_section
from mappings.variants import analyte_part


def _term(code: str, display: str, system: str, prop: str = "MCnc", method: str = "",
          short: str = "", scale: str = "Qn") -> TargetTerm:
    component = display.split(" [")[0].split(" in ")[0]
    props = {"PROPERTY": prop, "SYSTEM": system, "SCALE_TYP": scale, "TIME_ASPCT": "Pt"}
    if method:
        props["METHOD_TYP"] = method
    texts = ((display, "display"), (component, "COMPONENT"),
             *(((short, "en-US SHORTNAME"),) if short else ()))
    return TargetTerm(code, display, texts, props)


def _codes(index: TargetIndex, text: str, specimen: str, category: str) -> list[str]:
    return [s.code for s in index.suggest(text, specimen=specimen, category=category)]


def test_a_specimen_word_in_an_analyte_name_names_no_specimen() -> None:
    """Plasma cells are cells: counted in ascites, they are no plasma term; the sedimentation
    rate is no urine sediment; the rapid plasma reagin test is a serum test."""
    assert without_analyte_names("Plasma Cells, Ascites").split() == [",", "ascites"]
    assert without_analyte_names("Potassium, Plasma") == "Potassium, Plasma"
    got = axes("Plasma Cells", specimen="Ascites", category="Hematology").systems
    assert max(got, key=lambda k: got[k]) == "Periton fld"
    blood = axes("Plasma Cells", specimen="Blood", category="Hematology").systems
    assert max(blood, key=lambda k: blood[k]) == "Bld"
    assert "Urine sed" not in axes("Sedimentation Rate", specimen="Blood",
                                   category="Hematology").systems
    serum = axes("Rapid Plasma Reagin Test", specimen="Blood", category="Chemistry")
    assert not serum.system_from_text
    assert axes("Potassium, Plasma").systems.get("Plas") == 1.0  # a specimen still is one


def test_plasma_cells_in_a_fluid_reach_the_cell_count() -> None:
    index = TargetIndex([
        _term("32710-6", "Plasma cells/100 leukocytes in Body fluid", "Body fld", "NFr"),
        _term("31032-6", "Plasma cells [#/volume] in Body fluid", "Body fld", "NCnc"),
        _term("2223-6", "Elastase.leukocyte [Enzymatic activity/volume] in Plasma", "Plas",
              "CCnc"),
        _term("895-3", "Blood group antibody screen.cells I+II+III [Presence] in Serum or "
              "Plasma", "Ser/Plas", "PrThr", scale="Ord")])
    assert _codes(index, "Plasma Cells", "Other Body Fluid", "Hematology")[0] in {
        "32710-6", "31032-6"}


def test_a_bare_greek_letter_is_an_electrophoresis_fraction() -> None:
    assert globulin_fraction("Alpha-1") == "alpha 1 globulin"
    assert globulin_fraction("Beta") == "beta globulin"
    assert globulin_fraction("γ") == "gamma globulin"
    assert globulin_fraction("Beta-2 Microglobulin") == "Beta-2 Microglobulin"
    assert globulin_fraction("Gamma GT") == "Gamma GT"
    index = TargetIndex([
        _term("1932-3", "Beta alanine [Mass/volume] in Serum or Plasma", "Ser/Plas"),
        _term("13629-1", "Interleukin 1 beta [Mass/volume] in Serum or Plasma", "Ser/Plas"),
        _term("2871-2", "Beta globulin [Mass/volume] in Serum or Plasma by Electrophoresis",
              "Ser/Plas", method="Electrophoresis")])
    assert _codes(index, "Beta", "Blood", "Chemistry")[0] == "2871-2"


def _lookup(terms: list[TargetTerm]) -> Callable[[int], tuple[str, Mapping[str, str], str]]:
    comps = [next(t for t, label in x.texts if label == "COMPONENT") for x in terms]
    return lambda i: (terms[i].code, terms[i].properties, comps[i])


def test_a_globulin_share_of_total_protein_is_a_variant_of_the_globulin() -> None:
    """Urine and fluid electrophoresis report a fraction as its share of the total protein:
    the same measurement as the fraction's concentration, so it is shown beside it."""
    assert analyte_part("Alpha 1 globulin/Protein.total") == "Alpha 1 globulin"
    assert analyte_part("Albumin/Globulin") == "Albumin/Globulin"
    terms = [_term("22064-0", "Alpha 1 globulin [Mass/volume] in Urine", "Urine"),
             _term("27184-1", "Alpha 1 globulin [Presence] in Urine", "Urine", "PrThr"),
             _term("1825-9", "Alpha 1 antitrypsin [Mass/volume] in Urine", "Urine"),
             _term("33821-0", "Interleukin 1 alpha [Mass/volume] in Urine", "Urine"),
             _term("13990-7", "Alpha 1 globulin/Protein.total in Urine by Electrophoresis",
                   "Urine", "MFr", "Electrophoresis")]
    ranked = [(0.82, 0, ""), (0.80, 1, ""), (0.79, 2, ""), (0.78, 3, ""), (0.75, 4, "")]
    hint = Axes(systems={"Urine": 1.0})
    order = [i for _, i, _ in with_variants(ranked, _lookup(terms), hint, {0})]
    assert order.index(4) < order.index(2)


def test_cr_is_creatinine() -> None:
    index = TargetIndex([
        _term("5619-2", "Chromium [Mass/volume] in Blood", "Bld", short="Cr Bld-mCnc"),
        _term("15118-3", "Chromium [Moles/volume] in Blood", "Bld", "SCnc", short="Cr Bld-sCnc"),
        _term("38483-4", "Creatinine [Mass/volume] in Blood", "Bld", short="Creat Bld-mCnc")])
    assert _codes(index, "Cr", "Blood", "Hematology")[0] == "38483-4"


def test_bicarbonate_is_also_total_co2() -> None:
    """A stool or fluid bicarbonate is LOINC's total CO2 where no bicarbonate term exists;
    the bicarbonate term itself stays first where there is one."""
    index = TargetIndex([
        _term("16459-0", "Bicarbonate [Moles/volume] in Body fluid", "Body fld", "SCnc"),
        _term("1959-6", "Bicarbonate [Moles/volume] in Blood", "Bld", "SCnc"),
        _term("1963-8", "Bicarbonate [Moles/volume] in Serum or Plasma", "Ser/Plas", "SCnc"),
        _term("2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "Ser/Plas",
              "SCnc"),
        _term("14040-0", "Carbon dioxide, total [Moles/volume] in Stool", "Stool", "SCnc")])
    assert _codes(index, "Bicarbonate, Stool", "Stool", "Chemistry")[0] == "14040-0"
    assert _codes(index, "Bicarbonate", "Blood", "Chemistry")[0] == "1963-8"


def test_an_analyser_flag_on_a_cell_reports_the_cell() -> None:
    index = TargetIndex([
        _term("32154-7", "Basophils+Eosinophils+Monocytes [#/volume] in Blood by Automated "
              "count", "Bld", "NCnc", "Automated count", "Baso+Eos+Mono # Bld Auto"),
        _term("703-9", "Basophilic stippling [Presence] in Blood by Light microscopy", "Bld",
              "PrThr", "Microscopy.light", scale="Ord"),
        _term("704-7", "Basophils [#/volume] in Blood by Automated count", "Bld", "NCnc",
              "Automated count", "Basophils # Bld Auto")])
    assert _codes(index, "BasoFlg", "Blood", "Hematology")[0] == "704-7"
    assert "automated count" in axes("Baso Flg").methods  # as split by mappings.shortforms


def test_rpr_and_an_immunological_method_are_methods() -> None:
    assert query_tokens("Rapid Plasma Reagin Test") == ["reagin", "rpr"]
    assert "immunoassay" in axes("Fibrinogen, Immunologic").methods


def test_a_blood_gas_bicarbonate_is_no_total_co2() -> None:
    """A blood gas analyser calculates the bicarbonate itself: in a blood gas section the
    calculated bicarbonate stays LOINC's Bicarbonate, not the total CO2 by calculation."""
    index = TargetIndex([
        _term("1959-6", "Bicarbonate [Moles/volume] in Blood", "Bld", "SCnc"),
        _term("34728-6", "Carbon dioxide, total [Moles/volume] in Blood by calculation", "Bld",
              "SCnc", "Calculated"),
        _term("20565-8", "Carbon dioxide, total [Moles/volume] in Blood", "Bld", "SCnc")])
    assert _codes(index, "Calculated Bicarbonate, Whole Blood", "Blood", "Blood Gas")[0] \
        == "1959-6"
    assert by_section([["bicarbonate", "carbon", "dioxide", "total"]], "Chemistry") == [
        ["bicarbonate", "carbon", "dioxide", "total"]]
    assert by_section([["bicarbonate", "carbon", "dioxide", "total"]], "Blutgasanalyse") == [
        ["bicarbonate"]]


def test_a_flag_names_its_cell_by_a_stem() -> None:
    assert cell_stems("ErytFlg") == "erythrocytes Flg"
    assert cell_stems("Lym Flg") == "lymphocytes Flg"
    assert cell_stems("Mono Spot Test") == "Mono Spot Test"
    assert cell_stems("FragFlg") == "FragFlg"  # no cell's stem
    index = TargetIndex([
        _term("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "Bld", "NCnc",
              "Automated count", "RBC # Bld Auto"),
        _term("30376-8", "Blasts [#/volume] in Blood", "Bld", "NCnc"),
        _term("731-0", "Lymphocytes [#/volume] in Blood by Automated count", "Bld", "NCnc",
              "Automated count", "Lymphocytes # Bld Auto")])
    assert _codes(index, "ErytFlg", "Blood", "Hematology")[0] == "789-8"
    assert _codes(index, "LymFlg", "Blood", "Hematology")[0] == "731-0"
