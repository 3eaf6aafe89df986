"""Normalisation and suggestion ranking over a small hand-made LOINC-like index."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.hints import axes, category_hint
from mappings.lexicon import Lexicon
from mappings.normalize import fold, normalize, query_tokens, tokens
from mappings.suggest import (
    TargetIndex,
    TargetTerm,
    rank_candidates,
    read_lab_orders,
    specimen_hint,
    suggest,
    unit_hint,
    with_lab_orders,
)
from termserver.model import Concept, ConceptDetail, ConceptProperty, Designation


@pytest.mark.parametrize(("a", "b"), [
    ("Hämoglobin", "Haemoglobin"),
    ("HÄMOGLOBIN", "haemoglobin"),
    ("Fußball", "FUSSBALL"),
    ("Glukose  (nüchtern)", "glukose nuechtern"),
])
def test_umlauts_case_and_punctuation_meet(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_fold_drops_other_accents() -> None:
    assert fold("Protéine Ä") == "proteine ae"


def test_abbreviations_expand_after_the_token() -> None:
    assert tokens("Hb") == ["hb", "haemoglobin", "hemoglobin"]
    assert "aspartate" in tokens("GOT") and "alanine" in tokens("GPT")
    assert tokens("Krea i.S.") == ["krea", "kreatinin", "creatinine", "im", "serum"]
    assert "chlorid" in tokens("Cl-") and "natrium" in tokens("Na")


def test_unit_and_specimen_hints() -> None:
    assert unit_hint("mmol/L") == ({"SCnc"}, "Qn")
    assert unit_hint("mg/dL") == ({"MCnc"}, "Qn")
    assert unit_hint("g/dl") == ({"MCnc"}, "Qn")
    assert unit_hint("U/l")[0] == {"CCnc"}
    assert unit_hint(None) == (set(), None)
    assert specimen_hint("Serum")["Ser/Plas"] == 1.0
    assert "Urine" in specimen_hint("Urin") and "CSF" in specimen_hint("Liquor")
    assert specimen_hint("something else") == {}


def _term(code: str, display: str, german: str, system: str, prop: str,
          scale: str = "Qn") -> ConceptDetail:
    props = tuple(ConceptProperty(code, name, value, "string") for name, value in (
        ("COMPONENT", display.split(" [")[0]), ("SYSTEM", system), ("PROPERTY", prop),
        ("SCALE_TYP", scale)))
    return ConceptDetail(Concept(code, display), (Designation(code, german, "de-DE"),), props)


@pytest.fixture(scope="module")
def index() -> TargetIndex:
    return TargetIndex.from_details([
        _term("59260-0", "Hemoglobin [Moles/volume] in Blood", "Hämoglobin [Mol/Volumen] in Blut",
              "Bld", "SCnc"),
        _term("718-7", "Hemoglobin [Mass/volume] in Blood", "Hämoglobin [Masse/Volumen] in Blut",
              "Bld", "MCnc"),
        _term("30350-3", "Hemoglobin [Mass/volume] in Venous blood",
              "Hämoglobin [Masse/Volumen] in Venösem Blut", "BldV", "MCnc"),
        _term("725-2", "Hemoglobin [Presence] in Urine", "Hämoglobin [Nachweis] in Urin",
              "Urine", "PrThr", "Ord"),
        _term("2345-7", "Glucose [Mass/volume] in Serum or Plasma",
              "Glukose [Masse/Volumen] in Serum oder Plasma", "Ser/Plas", "MCnc"),
        _term("2339-0", "Glucose [Mass/volume] in Blood", "Glukose [Masse/Volumen] in Blut",
              "Bld", "MCnc"),
        _term("2160-0", "Creatinine [Mass/volume] in Serum or Plasma",
              "Kreatinin [Masse/Volumen] in Serum oder Plasma", "Ser/Plas", "MCnc"),
    ])


def test_german_name_with_unit_ranks_the_right_code_first(index: TargetIndex) -> None:
    got = suggest(index, "Hämoglobin im Blut", unit="g/dl")
    assert got[0].code == "718-7"
    assert {s.code for s in got[:3]} >= {"59260-0", "30350-3"}
    assert all(0.0 <= s.score <= 1.0 for s in got)
    assert got[0].score > got[1].score


def test_unit_decides_between_mass_and_moles(index: TargetIndex) -> None:
    assert suggest(index, "Hb", unit="mmol/L", specimen="Blut")[0].code == "59260-0"
    assert suggest(index, "Hb", unit="g/dL", specimen="Blut")[0].code == "718-7"


def test_specimen_hint_picks_the_system(index: TargetIndex) -> None:
    assert suggest(index, "BZ", specimen="Serum")[0].code == "2345-7"
    assert suggest(index, "BZ", specimen="Vollblut")[0].code == "2339-0"
    assert suggest(index, "Hämoglobin", specimen="Urin")[0].code == "725-2"
    assert suggest(index, "Krea i.S.")[0].code == "2160-0"


def test_why_explains_the_evidence(index: TargetIndex) -> None:
    best = suggest(index, "Haemoglobin im Blut", unit="g/dl", specimen="Blut")[0]
    assert best.code == "718-7"
    assert "of the name's words found" in best.why
    assert "unit g/dl fits Mass concentration (MCnc)" in best.why
    assert "fits Bld" in best.why
    assert "de-DE" in best.why or "display" in best.why or "COMPONENT" in best.why


def test_nothing_matching_gives_nothing(index: TargetIndex) -> None:
    assert suggest(index, "zzzz qqqq") == []
    assert suggest(index, "   ") == []
    assert suggest(TargetIndex([TargetTerm("1", "x")]), "Hb") == []
    assert len(suggest(index, "Hämoglobin", limit=2)) == 2


def test_category_moves_blood_to_the_right_part(index: TargetIndex) -> None:
    """Chemistry on blood means serum/plasma; Hematology means whole blood."""
    assert suggest(index, "Glucose", specimen="Blood", category="Chemistry")[0].code == "2345-7"
    assert suggest(index, "Glucose", specimen="Blood", category="Hematology")[0].code == "2339-0"
    assert category_hint("Blood Gas", {"Bld": 1.0})["BldA"] > 0.5
    assert category_hint("Chemistry", {"Urine": 1.0}) == {"Urine": 1.0}


def test_axes_read_german_report_abbreviations() -> None:
    a = axes("Kalium /U", unit="mmol/L")
    assert a.systems["Urine"] == 1.0 and a.system_from_text and a.properties == {"SCnc"}
    assert max(axes("pO2 art.").systems.items(), key=lambda kv: kv[1])[0] == "BldA"
    assert axes("Lymphozyten abs.").properties == {"NCnc"}
    assert axes("Lymphozyten rel. mikr.").properties == {"NFr"}
    assert "manual count" in axes("Lymphozyten rel. mikr.").methods
    assert axes("Basophils").properties == {"NFr"}  # a differential count without a unit
    assert "PPP" in axes("INR").systems
    assert axes("Kreatinin /SU").timed


def test_rank_candidates_scores_an_explicit_list(index: TargetIndex) -> None:
    terms = [t for t in index.terms if t.code in {"2339-0", "2345-7", "2160-0"}]
    got = rank_candidates(terms, "Glukose", specimen="Serum", limit=3)
    assert [s.code for s in got][:2] == ["2345-7", "2339-0"]
    assert rank_candidates(terms, "Glukose", specimen="Blut")[0].code == "2339-0"
    assert rank_candidates([], "Glukose") == []
    # the caller's idf: a token rare in the whole scope weighs more than among candidates
    calls: list[str] = []

    def idf(token: str) -> float:
        calls.append(token)
        return 5.0

    assert rank_candidates(terms, "Glukose", idf=idf, limit=1)[0].code in {"2345-7", "2339-0"}
    assert calls


def test_translated_component_reaches_untranslated_terms() -> None:
    de = TargetTerm("1", "Lymphocytes [#/volume] in Blood",
                    (("Lymphocytes [#/volume] in Blood", "display"), ("Lymphocytes", "COMPONENT"),
                     ("Lymphozyten [#/Volumen] in Blut", "de-DE LONG_COMMON_NAME")),
                    {"SYSTEM": "Bld", "PROPERTY": "NCnc"})
    en = TargetTerm("2", "Lymphocytes [#/volume] in Cord blood",
                    (("Lymphocytes [#/volume] in Cord blood", "display"),
                     ("Lymphocytes", "COMPONENT")), {"SYSTEM": "BldCo", "PROPERTY": "NCnc"})
    index = TargetIndex([de, en])
    assert ("Lymphozyten", "de COMPONENT") in index.terms[1].texts
    assert suggest(index, "Lymphozyten abs. /Nabelschnurblut")[0].code == "2"


def test_lab_orders_prior_breaks_ties(tmp_path: Path) -> None:
    """Of two equally matching terms, the one in the Universal Lab Orders value set wins."""
    csv_path = tmp_path / "LoincUniversalLabOrdersValueSet.csv"
    csv_path.write_text('"LOINC_NUM","LONG_COMMON_NAME","ORDER_OBS"\n'
                        '"2","Ferritin [Mass/volume] in Serum","Both"\n', encoding="utf-8")
    orders = read_lab_orders(csv_path)
    assert orders == {"2": "Both"}
    terms = [TargetTerm(code, "Ferritin [Mass/volume] in Serum",
                        (("Ferritin [Mass/volume] in Serum", "display"), ("Ferritin", "COMPONENT")),
                        {"SYSTEM": "Ser", "PROPERTY": "MCnc"}) for code in ("1", "2")]
    assert suggest(TargetIndex(terms), "Ferritin")[0].code == "1"  # equal: lower index first
    with_orders = with_lab_orders(terms, orders)
    assert with_orders[1].properties["ORDER_OBS"] == "Both"
    got = suggest(TargetIndex(with_orders), "Ferritin")
    assert got[0].code == "2" and got[0].score > got[1].score


def test_a_german_ending_still_finds_the_term() -> None:
    from mappings.suggest import TargetTerm

    terms = [TargetTerm("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma",
                        (("Cholesterol [Mass/volume] in Serum or Plasma", "display"),
                         ("Cholesterol", "COMPONENT"))),
             TargetTerm("2345-7", "Glucose [Mass/volume] in Serum or Plasma",
                        (("Glucose [Mass/volume] in Serum or Plasma", "display"),
                         ("Glucose", "COMPONENT")))]
    found = TargetIndex(terms).suggest("Cholesterin", unit="mg/dl", specimen="Serum")
    assert [s.code for s in found][:1] == ["2093-3"]


def _plain(code: str, display: str, **props: str) -> TargetTerm:
    component = display.split(" [")[0].split(" in ")[0]
    return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT")), props)


def test_german_compounds_split_into_words_the_targets_hold() -> None:
    """"Thrombozytenaggregation" reaches the term that has its parts as separate words; a
    known word splits only into long parts (antithrombin stays whole)."""
    aggregation = "Platelet aggregation ADP induced in Platelet rich plasma"
    terms = [
        TargetTerm("1", aggregation, ((aggregation, "display"),
                                      ("Thrombozyten Aggregation ADP-induziert", "de-DE")),
                   {"SYSTEM": "PRP"}),
        _plain("2", "Platelet factor 4 [Units/volume] in Platelet poor plasma", SYSTEM="PPP"),
        TargetTerm("3", "Platelets [#/volume] in Blood",
                   (("Platelets [#/volume] in Blood", "display"),
                    ("Thrombozyten [#/Volumen] in Blut", "de-DE LONG_COMMON_NAME")),
                   {"SYSTEM": "Bld"}),
        _plain("4", "Antithrombin [Units/volume] in Platelet poor plasma", SYSTEM="PPP"),
        _plain("5", "Thrombin time", SYSTEM="PPP"),
    ]
    index = TargetIndex(terms)
    assert index.split_compound("thrombozytenaggregation") == ["thrombozyten", "aggregation"]
    assert index.split_compound("antithrombin") is None
    assert index.split_compound("kurz") is None
    found = suggest(index, "Thrombozytenaggregation ADP-induziert")
    assert found[0].code == "1"
    assert suggest(index, "Antithrombin")[0].code == "4"


def test_a_lab_section_names_the_specimen_and_the_loinc_class() -> None:
    urine = axes("Natrium", unit="mmol/L", category="Urinchemie / Urindiagnostik")
    assert max(urine.systems, key=lambda k: urine.systems[k]) == "Urine"
    assert urine.system_from_category and not urine.system_from_text
    # the name's own specimen wins over the section's
    assert axes("Natrium /S", category="Urinchemie").systems["Ser/Plas"] == 1.0
    assert axes("Birke IgE", category="Inhalationsallergene IgE / Allergiediagnostik"
                ).classes == {"ALLERGY": 1.0}
    assert axes("pO2", category="Blutgasanalyse venös / Blutgasanalytik").systems["BldV"] == 1.0
    assert axes("Kalium", category="Klinische Chemie").classes == {}  # CHEM terms are spread
    terms = [_plain("1", "Sodium [Moles/volume] in Serum or Plasma", SYSTEM="Ser/Plas",
                    PROPERTY="SCnc"),
             _plain("2", "Sodium [Moles/volume] in Urine", SYSTEM="Urine", PROPERTY="SCnc")]
    index = TargetIndex(terms)
    assert suggest(index, "Sodium", unit="mmol/L")[0].code == "1"
    assert suggest(index, "Sodium", unit="mmol/L", category="Urinchemie")[0].code == "2"


def test_cells_after_a_slash_are_the_specimen() -> None:
    assert specimen_hint("Alpha-Fucosidase /Leukozyten") == {"WBC": 1.0}
    assert "WBC" not in specimen_hint("Leukozyten /U")
    assert specimen_hint("Osmolalität /SW Osmolalität /Schweiß")["Sweat"] == 1.0
    assert specimen_hint("H2 15 min (Lactose-Atemtest)")["Exhl gas"] == 1.0


def test_vitamins_are_named_as_loinc_names_them() -> None:
    from mappings.normalize import query_tokens

    assert query_tokens("Vitamin A") == ["retinol"]
    assert query_tokens("Vit. B12") == ["cobalamin"]
    assert query_tokens("Folsäure") == ["folate"]
    assert query_tokens("Vitamine") == ["vitamine"]  # a plural, not vitamin E
    assert "RelCCnc" in unit_hint("%")[0]  # an activity in % of normal


def _screen_terms() -> list[TargetTerm]:
    def term(code: str, display: str, method: str = "") -> TargetTerm:
        props = {"SYSTEM": "Urine", "PROPERTY": "PrThr", "SCALE_TYP": "Ord", "TIME_ASPCT": "Pt"}
        if method:
            props["METHOD_TYP"] = method
        return TargetTerm(code, display, ((display, "display"),
                                          (display.split(" [")[0], "COMPONENT")), props)

    return [term("3390-2", "Benzodiazepines [Presence] in Urine"),
            term("14316-4", "Benzodiazepines [Presence] in Urine by Screen method", "Screen"),
            term("19343-3", "Amphetamine [Presence] in Urine by Screen method", "Screen"),
            term("731-0", "Lymphocytes [#/volume] in Blood by Automated count",
                 "Automated count"),
            term("50000-1", "Drug screen panel [Presence] in Urine")]


def test_method_words_are_learnt_from_the_targets() -> None:
    """'screen' and 'count' name LOINC methods more often than components here, so they are
    property words of a local name, not analyte words; 'panel' is no property word."""
    index = TargetIndex(_screen_terms(), glossary=False)
    assert index._method_words == frozenset({"screen", "count"})
    groups = index._groups("Benzodiazepine Screen, Urine")
    assert [g[0] for g in groups] == ["benzodiazepine"]
    assert [g[0] for g in index._groups("Screen")] == ["screen"]  # nothing else is left


def test_a_screen_is_the_plain_presence_term_not_the_screen_method() -> None:
    index = TargetIndex(_screen_terms(), glossary=False)
    found = index.suggest("Benzodiazepine Screen, Urine", specimen="Urine")
    assert found[0].code == "3390-2"


def test_a_name_that_is_only_a_specimen_word_names_the_analyte() -> None:
    """'Plasma' in a list of ascites cells is plasma cells: the specimen given apart says
    the SYSTEM; 'Blood' measured in urine is blood in urine."""
    plasma = axes("Plasma", specimen="Ascites", category="Hematology")
    assert "Periton fld" in plasma.systems and not plasma.system_from_text
    assert axes("Blood", specimen="Urine").systems == {"Urine": 1.0, "Urine sed": 0.9}
    assert axes("Plasma").system_from_text  # no specimen given: the word says it


def test_differential_cells_in_the_singular_and_polys_are_a_differential() -> None:
    assert axes("Macrophage", specimen="Ascites").properties == {"NFr"}
    assert axes("Polys", specimen="Pleural").properties == {"NFr"}


def test_a_24_hour_collection_without_a_unit_is_an_amount_per_day() -> None:
    hint = axes("24 hr Calcium", specimen="Urine")
    assert hint.timed and hint.properties == {"MRat", "SRat"}
    assert axes("24 hr Calcium", unit="mmol/l", specimen="Urine").properties == {"SCnc"}


def test_a_urine_specimen_fits_its_sediment() -> None:
    assert specimen_hint("Urine") == {"Urine": 1.0, "Urine sed": 0.6}
    assert specimen_hint("Erythrozyten /U")["Urine"] == 1.0


def test_an_abbreviation_finds_its_expansion_as_fully_as_itself() -> None:
    """"PTT" is rarer in LOINC's names than "aPTT": its expansion still names the test."""
    def term(code: str, display: str, component: str) -> TargetTerm:
        return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT")),
                          {"SYSTEM": "PPP", "PROPERTY": "Time", "SCALE_TYP": "Qn"})

    terms = [term("14979-9", "aPTT in Platelet poor plasma by Coagulation assay",
                  "Coagulation surface induced"),
             term("50391-2", "PTT circulating inhibitor [Presence] in Platelet poor plasma",
                  "Coagulation surface induced circulating inhibitor")]
    terms += [term(f"9{i}", f"aPTT {w}", "Coagulation surface induced")
              for i, w in enumerate(("lupus sensitive", "post heparin", "factor sensitive"))]
    got = suggest(TargetIndex(terms, lexicon=Lexicon()), "PTT")
    assert got[0].code != "50391-2" and got[0].display.startswith("aPTT")


@pytest.mark.parametrize(("unit", "prop"), [
    ("mL/dL", "VFr"), ("L/L", "VFr"),  # oxygen content, hematocrit: volume per volume
    ("U/g{Hb}", "CCnt"), ("[iU]/g{Hb}", "CCnt"),  # enzyme units per gram of hemoglobin
])
def test_units_of_volume_fractions_and_catalytic_contents(unit: str, prop: str) -> None:
    """A volume per volume is LOINC's volume fraction (not a count per litre); enzyme units
    per mass are its catalytic content ("[Enzymatic activity/mass]"), not a concentration."""
    assert unit_hint(unit) == ({prop}, "Qn")


def test_a_specimen_suffix_followed_by_the_method_or_scale() -> None:
    """"Adenovirus-DNA /NP PCR", "ETG /U ql.": the report's specimen suffix is followed by
    method or scale words; "Influenza A/B" names two types, no blood specimen."""
    assert specimen_hint("Adenovirus-DNA ql. /NP PCR") == {"Nph": 1.0, "Nose": 0.5}
    assert max((w, s) for s, w in specimen_hint("ETG /U ql.").items())[1] == "Urine"
    assert specimen_hint("Influenza A/B") == {}
    assert specimen_hint("K/L-Ratio") == {}
    assert "Bld" in specimen_hint("Troponin T /B")


def test_the_short_names_specimen_suffix_counts_before_the_long_name() -> None:
    """"Alpha-Iduronidase /BT Alpha-Iduronidase /Blut trocken": the long name's specimen
    words say blood; the short name's "/BT" says the dried blood spot."""
    assert specimen_hint("Alpha-Iduronidase /BT Alpha-Iduronidase /Blut trocken") == {
        "Bld.dot": 1.0}
    assert specimen_hint("Cortisol basal (2mg/d Dexa Langtest)") == {}  # a unit, no " /"


def test_a_clearance_compares_urine_with_serum_per_body_surface() -> None:
    """A renal clearance is LOINC's Urine+Ser/Plas; "/1.73m2 KO" and the unit
    mL/min/{1.73'm2} are its per-body-surface form ("/1.73 sq M", ArVRat)."""
    assert axes("Kreatinin Clearance", unit="mL/min").systems["Urine+Ser/Plas"] == 1.0
    assert axes("Kreatinin /D Clearance").systems.get("Urine+Ser/Plas") is None
    assert unit_hint("mL/min/{1.73'm2}") == ({"ArVRat"}, "Qn")
    assert query_tokens("Harnstoff-Clearance /1.7m2 KO")[-4:] == ["1", "73", "sq", "m"]


def test_a_named_fluid_prefers_its_own_term_to_body_fluid() -> None:
    """"/Aszites" says peritoneal fluid: LOINC's Body fld term only stands in for it, so it
    does not win on a closer-looking component."""
    hint = axes("AFP /ASZ AFP /Aszites")
    assert hint.systems["Periton fld"] == 1.0 and hint.systems["Body fld"] < 0.5
    terms = [_plain("1", "Granulocytes/100 leukocytes in Body fluid", SYSTEM="Body fld",
                    PROPERTY="NFr"),
             _plain("2", "Neutrophils/100 leukocytes in Peritoneal fluid", SYSTEM="Periton fld",
                    PROPERTY="NFr")]
    found = suggest(TargetIndex(terms), "Neutrophile Granulozyten rel. /ASZ", unit="%")
    assert found[0].code == "2"


def test_a_fluid_compared_with_serum_has_both_specimens() -> None:
    """"Pleurapunktat/Serum-Ratio" is LOINC's two-specimen SYSTEM, whichever order LOINC
    writes; a ratio naming serum alone stays serum."""
    assert axes("LDH Plp./Ser-Rto LDH Pleurapunktat/Serum-Ratio").systems[
        "Ser/Plas+Plr fld"] == 1.0
    assert axes("Albumin Serum/Aszites-Differenz").systems["Periton fld+Ser/Plas"] == 1.0
    assert "Plr fld+Ser/Plas" not in axes("LDH /PP LDH /Pleurapunktat").systems
    assert axes("Cholesterin/HDL-Ratio /S").systems["Ser/Plas"] == 1.0
    terms = [_plain("1", "Protein [Mass/volume] in Pleural fluid", SYSTEM="Plr fld",
                    PROPERTY="MCnc"),
             _plain("2", "Protein [Mass Ratio] in Serum or Plasma and Pleural fluid",
                    SYSTEM="Ser/Plas+Plr fld", PROPERTY="MRto")]
    found = suggest(TargetIndex(terms), "TP Plp./Ser-Rto Totalprotein Pleurapunktat/Serum-Ratio",
                    unit="1")
    assert found[0].code == "2"


def test_a_coagulation_section_refines_by_what_loinc_measures_in() -> None:
    """In a coagulation section a gene variant is read in blood or tissue, platelet
    aggregation in platelet-rich plasma, an antibody in serum; clotting times stay PPP."""
    section = "Thrombophilie Tests / Gerinnung/Hämostaseologie"
    variant = axes("Faktor V Leiden Mutation", category=section).systems
    assert variant["Bld/Tiss"] == 1.0 and "PPP" not in variant
    aggregation = axes("Thrombozytenaggregation Thrombin-induziert", category=section).systems
    assert aggregation["PRP"] == 1.0 and aggregation["PRP"] > aggregation["PPP"]
    antibody = axes("Heparin-PF4-induzierte AK", category=section).systems
    assert antibody["Ser/Plas"] == 1.0 and antibody["PPP"] < 1.0
    assert axes("aPTT", category=section).systems["PPP"] == 1.0
    # a specimen the name gives stays
    assert axes("Thr.aggr.ADP-ind./B", category=section).systems["Bld"] == 1.0


def test_inhaled_gas_and_the_newborn_are_read_as_loinc_systems() -> None:
    """"O2 inhaliert" in a blood gas section is the inhaled gas, not blood; a test said of
    the newborn is LOINC's Bld^Newborn ahead of the section's blood or serum."""
    gas = axes("O2 Konz. inhaliert", category="Blutgasanalyse").systems
    assert max(gas, key=gas.__getitem__) == "Inhl gas"
    assert axes("Inhalationsallergene Screen", category="Allergie").systems == {}
    newborn = axes("Blutgruppe AB0 Neug. Blutgruppe AB0 Neugeborene",
                   category="Blutgruppenserologie").systems
    assert newborn["Bld^Newborn"] == 1.0 and max(newborn.values()) == 1.0
    assert "Bld^Newborn" not in axes("Blutgruppe AB0", category="Blutgruppenserologie").systems


def test_a_numbered_kind_finds_loinc_roman_numeral() -> None:
    """"Apolipoprotein A1" is LOINC's "Apolipoprotein A-I", not A-II or B; "Interleukin-1ß"
    is "Interleukin 1 beta"."""
    terms = [_plain(c, f"{name} [Mass/volume] in Serum or Plasma", SYSTEM="Ser/Plas")
             for c, name in (("1", "Apolipoprotein A-I"), ("2", "Apolipoprotein A-II"),
                             ("3", "Apolipoprotein B"), ("4", "Interleukin 1"),
                             ("5", "Interleukin 1 beta"), ("6", "Complement C3"),
                             ("7", "Apolipoprotein C-III"))]
    index = TargetIndex(terms, lexicon=Lexicon())
    assert suggest(index, "Apolipoprotein A1", unit="g/L")[0].code == "1"
    assert suggest(index, "Apolipoprotein A2", unit="g/L")[0].code == "2"
    assert suggest(index, "Apolipoprotein C3", unit="mg/L")[0].code == "7"
    assert suggest(index, "Komplement C3", unit="g/L")[0].code == "6"
    assert suggest(index, "Interleukin-1ß", unit="pg/mL")[0].code == "5"


def test_close_token_ties_never_depend_on_set_order() -> None:
    """A short form that begins many words ("metas": meta…s) keeps, among its tied close
    words, those most targets use, then alphabetically: the same in every process."""
    words = [f"meta{chr(97 + i)}{chr(97 + j)}ytes" for i in range(6) for j in range(5)]
    terms = [TargetTerm(f"{k}-0", f"{w} [#/volume] in Blood", ((f"{w} [#/volume] in Blood",
                                                              "display"),))
             for k, w in enumerate(words)]
    terms += [TargetTerm(f"{100 + k}-0", f"metazzocytes {k} in Urine",
                         ((f"metazzocytes {k} in Urine", "display"),)) for k in range(3)]
    close = TargetIndex(terms).close_tokens("metas")
    tied = [w for w, s in close if s == 0.8]
    assert tied[0] == "metazzocytes"  # used by three targets
    assert tied[1:] == sorted(tied[1:])
