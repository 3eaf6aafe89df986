"""What a local lab name, its unit, specimen and category say about the LOINC axes.

General laboratory knowledge, hand-written, not derived from any evaluation set: units imply a
LOINC PROPERTY and SCALE_TYP (mmol/L → SCnc, Qn); specimen words in English and German and the
usual German report abbreviations ("/U" Urin, "art." arteriell, "kap." kapillär, "abs."
absolute count) imply a SYSTEM, PROPERTY or METHOD; a lab section (Chemistry, Hematology,
Blood Gas) says which part of the blood is measured. Weights are 0..1 per LOINC value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mappings.analytenames import without_analyte_names
from mappings.coagactivity import relative_activity
from mappings.controls import of_control, of_newborn
from mappings.fluids import (
    field_unit,
    per_day,
    said_24h,
    said_scale,
    system_from_short_forms,
)
from mappings.hbfractions import hemoglobin_fraction
from mappings.lexicon import Lexicon
from mappings.normalize import PAIR, SPECIMEN_ABBREVIATIONS, base_tokens, fold
from mappings.toxicology import cord_tissue, drug_methods
from mappings.units import (
    catalogue_property,
    log_property,
    per_creatinine,
    said_cutoff,
    ucum_spelling,
    with_cutoff,
    without_reference,
)

_MOLAR = re.compile(r"^(p|n|u|m|k)?(mol|eq)/")
_MASS = re.compile(r"^(p|n|u|m|k)?g/")
_CATALYTIC = re.compile(r"^(p|n|u|m|k)?(u|kat)/")
# arbitrary units: (micro-, milli-, kilo-) international units, Einheiten, annotated units
# ([Beth'U]/mL, [GPL'U]/mL)
_ARBITRARY = re.compile(r"^(u|m|k)?(iu|ie|e|au)/|^[a-z]+'[a-z]+/")
# enzyme activity as amount per time per volume or mass: nmol/h/mL, umol/min/g
_ACTIVITY = re.compile(r"^(p|n|u|m)?(mol|kat|u)/(h|hr|min|s)/(?P<per>.+)$")
_COUNT = re.compile(r"^(/|10\*|10\^|g/l$|t/l$)|(/(n|p|u|m)?l$)")


def unit_hint(unit: str | None) -> tuple[set[str], str | None]:
    """(LOINC PROPERTY values, SCALE_TYP) implied by a unit; empty when not recognised or when
    the unit column says there is none ("N/A")."""
    if not unit or not ucum_spelling(unit):  # "N/A": a placeholder (mappings.units)
        return set(), None
    if logarithmic := log_property(unit):
        return logarithmic, "Qn"
    if creatinine := per_creatinine(unit):  # ug/g CRT: a ratio to creatinine
        return {creatinine}, "Qn"
    u = ucum_spelling(without_reference(unit))
    if (spelt := catalogue_property(u)) is not None:  # "IV", "N/A", "ng/mL/hr"
        return spelt
    if "titer" in u or "titre" in u:
        return {"Titr"}, "SemiQn"
    if u in {"{neg,pos}", "{pos,neg}", "neg/pos", "pos/neg", "{presence}"}:
        return {"PrThr", "ACnc"}, "Ord"
    if u.startswith("{") and u.endswith("}") and "/" not in u:
        return set(), None
    if field_unit(u):  # per microscope field: number per area
        return {"Naric"}, "Qn"
    if re.match(r"^ml/min/\{?1\.73", u):  # per 1.73 m2 body surface area
        return {"ArVRat"}, "Qn"
    u = re.sub(r"\{[^}]*\}", "", u.replace("[", "").replace("]", ""))
    if u.startswith("ph"):
        return {"LsCnc"}, "Qn"
    if u in {"mmhg", "kpa"}:
        return {"PPres"}, "Qn"
    activity = _ACTIVITY.match(u)
    if activity:
        per = activity.group("per")
        return ({"CCnt"} if _MASS.match(per + "/") or per in {"g", "mg"} else {"CCnc"}), "Qn"
    rate = re.search(r"/\(?(h|min)\)?$", u)
    head = per_day(unit) or (u[:rate.start()] if rate else None)
    if head is not None:  # amount per time: umol/(24.h) → SRat, ug/24 hr → MRat, mL/min → VRat
        if _MOLAR.match(head + "/"):
            return {"SRat"}, "Qn"
        if _MASS.match(head + "/") or head in {"g", "mg", "ug", "ng"}:
            return {"MRat"}, "Qn"
        if head in {"ml", "l"}:
            return {"VRat", "ArVRat"}, "Qn"
        if _CATALYTIC.match(head + "/") or _ARBITRARY.match(head + "/"):
            return {"CRat", "ARat"}, "Qn"
    if re.match(r"^(m|u|d|c)?l/(m|u|d|c)?l$", u):  # volume per volume: mL/dL of oxygen
        return {"VFr"}, "Qn"
    if re.search(r"/(m|k)?g$", u) and (_CATALYTIC.match(u) or _ARBITRARY.match(u)):
        return {"CCnt"}, "Qn"  # enzyme units per mass (U/g Hb): a catalytic content
    ratio = re.match(r"^(p|n|u|m|k)?(mol|g)/(p|n|u|m|k)?(mol|g)$", u)
    if ratio:
        if ratio.group(2) == ratio.group(4):
            return ({"SRto", "SCnt"} if ratio.group(2) == "mol" else {"MRto", "MCnt"}), "Qn"
        return {"Ratio", "SCnt", "MCnt"}, "Qn"
    if _MOLAR.match(u):
        return {"SCnc"}, "Qn"
    if _CATALYTIC.match(u):
        return {"CCnc"}, "Qn"
    if _ARBITRARY.match(u):
        return {"ACnc"}, "Qn"
    if _MASS.match(u):
        return ({"MCnc"} if not u.endswith("/g") else {"MCnt"}), "Qn"
    if _COUNT.search(u):
        return {"NCnc"}, "Qn"
    if u in {"%", "1", "l/l", "ratio", "{ratio}"}:
        return {"NFr", "MFr", "VFr", "SFr", "CFr", "Ratio", "MRto", "SRto", "LsCnc", "VFr.DF",
                "Type", "Prid", "PrThr", "Imp", "Score"} if u == "1" else {
                    "NFr", "MFr", "VFr", "SFr", "CFr", "VFr.DF", "RelCCnc", "RelTime",
                    "RelACnc", "RelMCnc"}, ("Qn" if u != "1" else None)
    if u in {"fl", "um3"}:
        return {"EntVol"}, "Qn"
    if u == "pg":
        return {"EntMass"}, "Qn"
    if u in {"s", "sec", "min", "h"}:
        return {"Time"}, "Qn"
    if u in {"ml", "l", "dl"}:
        return {"Vol"}, "Qn"
    if u in {"ml/min", "ml/min/1.73m2", "ml/min/{1.73_m2}", "ml/s"}:
        return {"VRat", "ArVRat"}, "Qn"
    if u in {"g", "mg", "ug"}:
        return {"Mass"}, "Qn"
    return set(), "Qn"


# a name that says which body fluid has LOINC's term of that fluid; "Body fld" only stands in
# where LOINC has none
_GENERIC_FLUID = 0.3
_BLOOD_PARTS = {"Ser/Plas": 1.0, "Ser": 0.9, "Plas": 0.85, "Ser/Plas/Bld": 0.8, "Bld": 0.6}
#: A urine specimen's SYSTEM weights (its row below; `urine_sample` reads a given one).
_URINE = {"Urine": 1.0, "Urine sed": 0.6}
# (trigger tokens, LOINC SYSTEM weights); the first matching row wins, so specific rows first
_SPECIMENS: tuple[tuple[frozenset[str], dict[str, float]], ...] = tuple(
    (frozenset(words.split()), systems) for words, systems in (
        ("nabelschnurarteriell", {"BldCoA": 1.0, "BldCo": 0.6}),
        ("nabelschnurvenoes", {"BldCoV": 1.0, "BldCo": 0.6}),
        ("nabelschnur nabelschnurblut cord bn bco", {"BldCo": 1.0, "BldCoV": 0.7,
                                                     "BldCoA": 0.7}),
        ("gemischtvenoes gev mixedvenous", {"BldMV": 1.0, "BldV": 0.5}),
        ("arteriell arterielles arteriellem arterial art", {"BldA": 1.0, "Bld": 0.4}),
        ("venoes venoesem venoeses venous ven", {"BldV": 1.0, "Bld": 0.4}),
        ("kapillaer kapillar kapillarblut kap capillary bk", {"BldC": 1.0, "Bld": 0.4}),
        ("urinsediment sediment", {"Urine sed": 1.0, "Urine": 0.5}),
        ("venoesblut", {"BldV": 1.0, "Bld": 0.6}),
        ("trockenblut dbs filterpapier", {"Bld.dot": 1.0}),
        ("sputum", {"Sputum": 1.0, "Bronchial": 0.5}),
        ("schweiss sweat", {"Sweat": 1.0}),
        ("atemtest atemgas exhaled breath", {"Exhl gas": 1.0}),
        ("inhaliert inhaled inspiratorisch inspired", {"Inhl gas": 1.0, "Ventilator": 0.6}),
        ("steinanalyse harnstein nierenstein konkrement calculus", {"Calculus": 1.0}),
        ("fibroblasten fibroblasts", {"Fibroblasts": 1.0}),
        ("nasopharyngealsekret nasopharynx nasopharyngeal", {"Nph": 1.0, "Nose": 0.5}),
        ("nasensekret nasenabstrich", {"Nose": 1.0, "Nph": 0.6}),
        ("rachenabstrich rachen throat", {"Thrt": 1.0}),
        ("respirationstrakt", {"Respiratory system specimen.upper": 1.0, "Nph": 0.7,
                               "Respiratory system": 0.6}),
        ("zervix cervix", {"Cvx": 1.0, "Cvx/Vag": 0.6}),
        ("vagina vaginal", {"Vag": 1.0, "Cvx/Vag": 0.6}),
        ("urethra", {"Urethra": 1.0}),
        ("muttermilch", {"Milk": 1.0}),
        ("gewebe tissue", {"Tiss": 1.0}),
        ("knochenmark marrow km", {"Bone mar": 1.0}),
        ("ejakulat sperma semen", {"Semen": 1.0}),
        ("aszites ascites", {"Periton fld": 1.0, "Body fld": _GENERIC_FLUID}),
        ("peritonealdialysat pd", {"Dial fld prt": 1.0, "Dial fld": 0.8, "Periton fld": 0.5}),
        ("dialysat dialysate dialysis", {"Dial fld": 1.0, "Dial fld prt": 0.8}),
        ("pleura pleural pleurapunktat", {"Plr fld": 1.0, "Body fld": _GENERIC_FLUID}),
        ("gelenk gelenkpunktat synovia synovial joint", {"Synv fld": 1.0,
                                                         "Body fld": _GENERIC_FLUID}),
        ("perikard perikardpunktat pericardial ppk", {"Pericard fld": 1.0,
                                                      "Body fld": _GENERIC_FLUID}),
        ("bal bronchial bronchiallavage bronchoalveolar", {"Bronchial": 1.0, "BAL": 0.9}),
        ("fruchtwasser amnion amniotic", {"Amnio fld": 1.0}),
        ("koerperfluessigkeit punktat body kf", {"Body fld": 1.0}),
        ("sondermaterial sondermat specimen", {"Body fld": 1.0, "XXX": 0.9}),
        ("liquor csf cerebrospinal", {"CSF": 1.0}),
        ("sammelurin 24h sammel su", {"Urine": 1.0}),
        # the sediment is spun down from the urine specimen (as for a urine section below); a
        # name says it ("Sediment"), a specimen given apart cannot: `urine_sample`
        ("urin urine harn spontanurin", _URINE),
        ("stuhl stool faeces feces fecal faecal", {"Stool": 1.0}),
        ("speichel saliva", {"Saliva": 1.0}),
        ("serum ser", {"Ser/Plas": 1.0, "Ser": 1.0, "Ser/Plas/Bld": 0.7, "Plas": 0.5}),
        ("plasma pl", {"Ser/Plas": 1.0, "Plas": 1.0, "PPP": 0.8, "Ser/Plas/Bld": 0.7}),
        ("erythrozyten rbc", {"RBC": 1.0, "Bld": 0.5}),
        ("vollblut blut blood bld edta", {"Bld": 1.0, "Ser/Plas/Bld": 0.8, "BldA": 0.5,
                                          "BldV": 0.5, "BldC": 0.5, "Ser/Plas": 0.6}),
        # a fluid no row above names ("Neut, Fluid", "Eosinophils, Serous"): a body fluid
        ("fluid serous", {"Body fld": 1.0, "XXX": 0.5}),
    ))

# German report suffixes "/U", "/S,P,B", "i.U." → specimen words
_SUFFIX = re.compile(r"(?:/|\bi\.\s?)([a-z]{1,3}(?:\s?,\s?[a-z]{1,3})*)\.?\s*$")
_SUFFIX_WORDS = {**SPECIMEN_ABBREVIATIONS, "d": "dialysat", "asz": "aszites"}
# a report abbreviation after " /" anywhere in the name ("… /BT Alpha-Iduronidase /Blut trocken")
_SPACED_SLASH = re.compile(r"\s/\s?([a-z]{1,3})(?![a-z])")
# words that follow the specimen suffix in a report name ("/NP PCR", "/U ql.", "/BN ven.")
_TRAILING = re.compile(r"(?:\s+(?:pcr|naa|ql|qn|qual|quant|qualitativ|quantitativ|mikr|mi|abs|"
                       r"rel|ven|art|kap|teststr)\.?)+\s*$")

_CATEGORY_BLOOD: tuple[tuple[str, dict[str, float]], ...] = (
    ("gas", {"Bld": 1.0, "BldA": 0.95, "BldV": 0.8, "BldC": 0.75, "BldMV": 0.7,
             "Ser/Plas/Bld": 0.6, "Ser/Plas": 0.4}),
    ("hemat", {"Bld": 1.0, "PPP": 0.9, "Plas": 0.85, "RBC": 0.7, "Ser/Plas/Bld": 0.7,
               "Ser/Plas": 0.5}),
    ("haemat", {"Bld": 1.0, "PPP": 0.9, "Plas": 0.85, "RBC": 0.7, "Ser/Plas/Bld": 0.7,
                "Ser/Plas": 0.5}),
    ("gerinn", {"PPP": 1.0, "Plas": 0.9, "Bld": 0.5}),
    ("coag", {"PPP": 1.0, "Plas": 0.9, "Bld": 0.5}),
    ("chem", _BLOOD_PARTS),
    ("immunolog", _BLOOD_PARTS),
    ("sero", _BLOOD_PARTS),
)


# cells named after a slash are the specimen ("Alpha-Fucosidase /Leukozyten"), elsewhere the
# analyte ("Leukozyten /U")
_SLASH_CELLS = re.compile(r"/\s*(leukozyten|leukocytes|erythrozyten|erythrocytes|prp)\b")
_CELL_SYSTEMS = {"leukozyten": "WBC", "leukocytes": "WBC", "erythrozyten": "RBC",
                 "erythrocytes": "RBC", "prp": "PRP"}


# a fluid compared with serum ("LDH Pleurapunktat/Serum-Ratio", "Albumin Serum/Aszites-
# Differenz") is LOINC's two-specimen SYSTEM "<fluid>+Ser/Plas" (the order varies by fluid)
_COMPARED = frozenset("ratio rto quotient qt differenz diff gradient".split())
_COMPARED_FLUIDS = frozenset({"Plr fld", "Periton fld", "Pericard fld", "Synv fld", "Body fld",
                              "CSF", "Dial fld", "Dial fld prt", "Urine"})


def compared_with_serum(words: set[str], systems: dict[str, float]) -> dict[str, float]:
    """SYSTEM weights for a name comparing a fluid with serum: the two-specimen systems
    ("Periton fld+Ser/Plas", "Ser/Plas+Plr fld", "Ser+CSF") first, the fluid alone next;
    `systems` unchanged when the name compares nothing or names no such fluid."""
    if not systems or not words & {"serum", "ser"} or not words & _COMPARED:
        return systems
    fluid = max(systems, key=lambda k: systems[k])
    if fluid not in _COMPARED_FLUIDS:
        return systems
    return {f"{fluid}+Ser/Plas": 1.0, f"Ser/Plas+{fluid}": 1.0, f"Ser+{fluid}": 0.9,
            f"{fluid}+Ser": 0.9, fluid: 0.4, "Ser/Plas": 0.3}


def urine_sample(given: dict[str, float]) -> dict[str, float]:
    """SYSTEM weights of a specimen given apart: a urine sample is also its sediment (0.9).
    A local name says "Sediment" when it counts there; a specimen field is the sample the
    whole urinalysis is run on, test strip and microscopy alike, so the formed elements it
    reports (cells, casts, crystals, yeast) are LOINC's Urine sed terms nearly as often as
    Urine ones (0.6 kept them behind every method variant of the urine term)."""
    return {"Urine": 1.0, "Urine sed": 0.9} if given == _URINE else given


def specimen_hint(specimen: str | None) -> dict[str, float]:
    """LOINC SYSTEM values (with weight 0..1) implied by a specimen name or a local name."""
    if not specimen:
        return {}
    folded = fold(specimen)
    cells = _SLASH_CELLS.search(folded)
    if cells:
        return {_CELL_SYSTEMS[cells.group(1)]: 1.0}
    words = base_tokens(specimen)
    m = _SUFFIX.search(_TRAILING.sub("", folded))
    if m and PAIR.search(folded[:m.start()]):  # "Influenza A/B": two types, no specimen
        m = None
    if m:
        words += [_SUFFIX_WORDS.get(p.strip(), p.strip()) for p in m.group(1).split(",")]
    # a short name's suffix before the long name ("Alpha-Iduronidase /BT … /Blut trocken")
    words += [_SUFFIX_WORDS[a] for a in _SPACED_SLASH.findall(folded) if a in _SUFFIX_WORDS]
    toks = set(words)
    joined = {a + b for a, b in zip(words, words[1:], strict=False)}
    if "nabelschnur" in toks or "nabelschnurblut" in toks or "cord" in toks:
        joined |= {"nabelschnur" + w for w in ("arteriell", "venoes")
                   if w in toks or w[:3] in toks}
    toks |= joined
    multi = [m2 for m2 in ("serum", "plasma", "blut", "blood") if m2 in toks]
    if len(multi) >= 3 or {"serum", "plasma"} <= toks and len(multi) == 2 and (
            "blut" in toks or "blood" in toks):
        return {"Ser/Plas/Bld": 1.0, "Ser/Plas": 0.4, "Bld": 0.4}
    if {"serum", "plasma"} <= toks:
        return {"Ser/Plas": 1.0, "Ser": 0.8, "Plas": 0.8}
    for names, systems in _SPECIMENS:
        if names & toks or any(t.startswith(n) for n in names if len(n) >= 5 for t in toks):
            return systems
    return {}


_SPECIMEN_TRIGGERS = frozenset(w for names, _ in _SPECIMENS for w in names)
# a Latin species epithet ("Trichomonas vaginalis", "Streptococcus pneumoniae", "Neisseria
# meningitidis") may begin like a specimen word; it names the organism, not the specimen
_EPITHET = re.compile(r"\b[a-z]{4,}(?:is|ae|ii)\b", re.IGNORECASE)


def without_epithets(text: str) -> str:
    """A name without the Latin species epithets that are no specimen word themselves."""
    return _EPITHET.sub(lambda m: m.group(0) if fold(m.group(0)) in _SPECIMEN_TRIGGERS
                        else " ", text)

# specimen words: said by SYSTEM, so not counted as analyte words of a query
SPECIMEN_WORDS = frozenset(
    "serum ser blut blood bld vollblut urin urine harn spontanurin sammelurin liquor csf "
    "cerebrospinal stuhl stool faeces feces nabelschnur nabelschnurblut cord arteriell "
    "arterielles arteriellem arterial venoes venoesem venous kapillaer kapillar kapillarblut "
    "capillary gemischt mixed punktat koerperfluessigkeit body fluid aszites ascites pleura "
    "pleural pleurapunktat gelenkspunktat gelenkpunktat synovia synovial knochenmark marrow "
    "dialysat peritonealdialysat sondermaterial specimen other perikardpunktat perikard "
    "fruchtwasser edta liquoriquor venoesblut trockenblut sputum schweiss atemtest "
    "steinanalyse fibroblasten nasopharyngealsekret nasensekret rachenabstrich "
    "respirationstrakt gewebe joint gelenk peritoneal dialysis dialysate pericardial "
    "amniotic urinsediment harnsediment".split())


# lab sections (German and English, folded, matched as word parts) that name a specimen;
# the first matching row wins, so specific rows first
_SECTION_SYSTEMS: tuple[tuple[tuple[str, ...], dict[str, float]], ...] = (
    (("sediment",), {"Urine sed": 1.0, "Urine": 0.8}),  # Urin-, Harnsediment
    (("urin", "harn"), {"Urine": 1.0, "Urine sed": 0.6}),
    (("liquor", "csf"), {"CSF": 1.0}),
    (("stuhl", "stool", "faeces"), {"Stool": 1.0}),
    (("knochenmark", "marrow"), {"Bone mar": 1.0, "Bld": 0.5}),
    (("gemischtvenoes", "mixed venous"), {"BldMV": 1.0, "BldV": 0.5, "Bld": 0.4}),
    (("arteriell", "arterial"), {"BldA": 1.0, "Bld": 0.6}),
    (("kapillaer", "capillary"), {"BldC": 1.0, "Bld": 0.6}),
    (("venoes", "venous"), {"BldV": 1.0, "Bld": 0.6}),
    (("sondermaterial", "punktat", "body fluid"), {"Body fld": 1.0, "XXX": 0.9}),
)

# lab sections → LOINC CLASS (weights 0..1); every matching row counts, the best weight wins.
# Only sections whose terms LOINC keeps in one CLASS: chemistry and haematology terms are
# spread over CHEM, HEM/BC, DRUG/TOX and CHAL, so those sections say nothing here.
_SECTION_CLASSES: tuple[tuple[tuple[str, ...], dict[str, float]], ...] = (
    (("allerg",), {"ALLERGY": 1.0}),
    (("bakterio", "mykolog", "virolog", "parasit", "infekt", "mikrobio", "microbio"),
     {"MICRO": 1.0, "SERO": 0.5, "ABXBACT": 0.5}),
    (("haemostas", "hemostas", "gerinn", "thrombophil", "einzelfaktor", "coag"),
     {"COAG": 1.0, "HEM/BC": 0.4}),
    (("immunphaenotyp", "durchfluss", "flow cyto"), {"CELLMARK": 1.0, "HEM/BC": 0.4}),
    (("medikament", "psychopharmak", "antiepilept", "virostatik", "immunsuppress", "kardiak",
      "toxikolog", "drug", "tox"), {"DRUG/TOX": 1.0}),
    (("sediment", "streifen", "urinalysis"), {"UA": 1.0, "CHEM": 0.4}),
    (("autoantik", "autoimmun", "serolog"), {"SERO": 1.0, "MICRO": 0.3}),
    (("genetik", "genetic", "molekular", "molecular"), {"MOLPATH": 1.0}),
    (("blutgruppe", "transfusion", "blood bank"), {"BLDBK": 1.0}),
    (("hla",), {"HLA": 1.0, "BLDBK": 0.4}),
    (("zytolog", "cytolog"), {"CYTO": 1.0, "PATH": 0.6}),
)


def _section_rows(category: str, rows: tuple[tuple[tuple[str, ...], dict[str, float]], ...],
                  first: bool) -> dict[str, float]:
    cat = fold(category)
    out: dict[str, float] = {}
    for keys, weights in rows:
        if any(k in cat for k in keys):
            if first:
                return dict(weights)
            for value, w in weights.items():
                out[value] = max(out.get(value, 0.0), w)
    return out


def section_classes(category: str | None) -> dict[str, float]:
    """LOINC CLASS values (weight 0..1) a lab section implies ("Allergiediagnostik" →
    ALLERGY, "Gerinnung/Hämostaseologie" → COAG); empty when it says nothing."""
    return _section_rows(category, _SECTION_CLASSES, first=False) if category else {}


def category_hint(category: str | None, systems: dict[str, float]) -> dict[str, float]:
    """Refine SYSTEM weights by a lab section: a section naming a specimen ("Urinchemie",
    "Blutgasanalyse arteriell") gives it when nothing else did; Blood Gas → (arterial) blood,
    Hematology → whole blood, Chemistry → serum or plasma refine a blood specimen. Other
    specimens stay."""
    if not category:
        return systems
    if not systems:
        named = _section_rows(category, _SECTION_SYSTEMS, first=True)
        if named:
            return named
    cat = fold(category)
    if systems and max(systems, key=lambda k: systems[k]) != "Bld":
        return systems
    for key, weights in _CATEGORY_BLOOD:
        if key in cat:
            return weights
    return systems


# white cell types of a differential count (English and German)
_DIFFERENTIAL = frozenset(
    "neutrophils neutrophile basophils basophile eosinophils eosinophile lymphocytes lymphozyten "
    "monocytes monozyten bands band stabkernige segmentkernige blasts blasten metamyelocytes "
    "metamyelozyten myelocytes myelozyten promyelocytes promyelozyten macrophages makrophagen "
    "mesothelial promonocytes prolymphocytes granulozyten granulocytes polys "
    "polymorphonuclear".split())

# coagulation tests are measured in (platelet poor) plasma; thrombin, reptilase, dRVVT,
# kininogen, prekallikrein: 73-100 % of LOINC 2.78's terms naming them are of PPP
_COAGULATION = frozenset(
    "inr aptt ptt quick gerinnung gerinnungsfaktor faktor factor fibrinogen antithrombin "
    "thrombinzeit plasminogen dimer willebrand lupus koagulation coagulation "
    "prothrombin thromboplastinzeit thrombin reptilase reptilasezeit drvvt kininogen "
    "prekallikrein".split())

# "Factor VIII", "Faktor V Leiden", "factor 2": a coagulation factor is numbered
_FACTOR = re.compile(r"\bfa[ck]tor[\s-]*(?:[ivx]+|\d+)\b")


def coagulation(text: str, toks: set[str]) -> bool:
    """Whether a name says a coagulation test: a coagulation word, "factor" only with the
    number of a coagulation factor (not "Rheumatoid factor", "Intrinsic factor")."""
    said = toks & _COAGULATION
    return bool(said - {"factor", "faktor"}) or bool(said and _FACTOR.search(fold(text)))


_GENE_VARIANT = frozenset("mut mutation mutationen genotyp genotypisierung".split())
_ANTIBODY = frozenset("ak antikoerper antibody antibodies".split())


def coagulation_specimen(toks: set[str], systems: dict[str, float]) -> dict[str, float]:
    """Refine the platelet-poor plasma a coagulation section or word implies, by what LOINC
    measures the test in: a gene variant in blood or tissue (Bld/Tiss, nearly all LOINC
    mutation terms), platelet aggregation in platelet-rich plasma (PRP, else Bld), an
    antibody in serum or plasma. Other tests keep `systems`."""
    if not systems or max(systems, key=lambda k: systems[k]) != "PPP":
        return systems
    if toks & _GENE_VARIANT:
        return {"Bld/Tiss": 1.0, "Bld": 0.6}
    if toks & _ANTIBODY:
        return {"Ser/Plas": 1.0, "Ser": 1.0, "Plas": 0.7, "PPP": 0.5}
    if any("aggr" in t or "reaktivit" in t for t in toks) and any(
            t.startswith(("thromboz", "thr", "plaettchen", "platelet")) for t in toks):
        return {"PRP": 1.0, "Bld": 0.6, "PPP": 0.3}
    return systems



@dataclass(frozen=True, slots=True)
class Axes:
    """LOINC axis values a query implies, each with a weight 0..1."""

    systems: dict[str, float] = field(default_factory=dict)
    system_from_text: bool = False
    system_from_category: bool = False  # only the lab section named the specimen
    properties: set[str] = field(default_factory=set)
    scale: str | None = None
    methods: tuple[str, ...] = ()
    timed: bool = False
    classes: dict[str, float] = field(default_factory=dict)
    unit: str = ""  # the local unit, when it decided the PROPERTY class
    specimen: str = ""  # the local specimen, when it decided the SYSTEM
    system_from_method: bool = False  # no specimen named: a detection method's usual one
    unit_methods: tuple[str, ...] = ()  # METHOD_TYP the unit implies (mappings.immunoassay)


# German/English words → LOINC METHOD_TYP fragments (folded)
_METHODS: tuple[tuple[frozenset[str], tuple[str, ...]], ...] = tuple(
    (frozenset(w.split()), m) for w, m in (
        # German adjectives inflect: "mit manueller Zählung", "Automatisierte Zählung"
        ("mikr mikroskopisch mi manual manuell manuelle manueller manuellen",
         ("manual count", "microscopy")),
        ("automated automatisiert automatisierte automatisierter automatisierten auto flg",
         ("automated count",)),
        ("ber berechnet calculated calc", ("calculated", "calculation")),
        # DFA: direct fluorescent antibody staining of the specimen, an immunofluorescence
        ("ifa ift immunfluoreszenz if dfa", ("if", "immunofluorescence")),
        ("immunoblot blot", ("immunoblot",)),
        ("elisa eia immunologic immunological immunologisch", ("ia", "immunoassay")),
        # German serology methods: Komplementbindungsreaktion, Hämagglutinationshemmtest
        # (LOINC's METHOD_TYP codes "Comp fix" and "HAI", which axes_fit compares with)
        ("kbr komplementbindungsreaktion", ("comp fix", "complement fixation")),
        ("hht haemagglutinationshemmtest", ("hai", "hemagglutination inhibition")),
        ("pcr naa naat", ("probe.amp.tar", "naa with probe detection", "probe with amplification",
                          "molgen")),
        ("kultur culture", ("organism specific culture", "culture")),
        ("teststreifen streifen strip", ("test strip",)),
        ("direkt direct", ("direct assay",)),
        ("best bestaetigung confirm conf bestaetigungstest", ("confirm",)),
    ))

_PROPERTY_WORDS: tuple[tuple[frozenset[str], set[str], str | None], ...] = (
    (frozenset("abs absolut absolute count # zahl zellzahl anzahl".split()), {"NCnc"}, "Qn"),
    (frozenset("rel relativ relative prozent percent fraktion fraction".split()),
     {"NFr", "MFr"}, "Qn"),
    (frozenset("ratio quotient rto verhaeltnis index".split()), {"MRto", "SRto", "Ratio"}, None),
    # "Ti.": the Austrian report abbreviation of Titer (LOINC's de-AT names: 73 of 78 Titr)
    (frozenset("titer titre ti".split()), {"Titr"}, "SemiQn"),
    (frozenset("ql qual qualitativ qualitative nachweis screen screening presence".split()),
     {"PrThr", "ACnc"}, "Ord"),
    (frozenset("typ typisierung type typing blutgruppe".split()), {"Type"}, "Nom"),
    (frozenset("identifiziert identified identifizierung differenzierung".split()),
     {"Prid"}, "Nom"),
    (frozenset("befund kommentar interpretation beurteilung comment".split()),
     {"Imp"}, None),
)


# "#" after a word says a count; before a number it numbers a specimen ("Glucose #2")
_COUNT_SIGN = re.compile(r"#(?!\s*\d)")

#: Words that name a PROPERTY or SCALE ("absolute", "count", "titer", "screen"); those the
#: targets use mostly as METHOD_TYP words are not analyte words (mappings.suggest.method_words)
PROPERTY_WORDS = frozenset(w for words, _, _ in _PROPERTY_WORDS for w in words)


def axes(text: str, unit: str | None = None, specimen: str | None = None,
         category: str | None = None, lexicon: Lexicon | None = None,
         short: Mapping[str, str] | None = None) -> Axes:
    """Everything the name, unit, specimen and category say about SYSTEM, PROPERTY, SCALE,
    METHOD and TIME (24-hour urine). A specimen the word lists do not know is looked up in the
    SYSTEM values of `lexicon` (learnt from LOINC's German variants), then in LOINC's short
    forms of SYSTEM values (`short`, mappings.fluids.system_short_forms: "Ur" → Urine) after
    the first word of the name or section; a unit per creatinine says urine."""
    name_words = base_tokens(text)
    # a name that is only a specimen word ("Plasma" in a list of ascites cells) names the
    # analyte; the specimen given apart says the SYSTEM
    named_only_specimen = bool(specimen) and all(
        w in SPECIMEN_WORDS or w in _SPECIMEN_TRIGGERS for w in name_words)
    # with the specimen given apart, an organism's epithet does not name one ("vaginalis")
    from_text = {} if named_only_specimen else compared_with_serum(
        set(name_words), specimen_hint(without_analyte_names(
            without_epithets(text) if specimen else text)))
    given = urine_sample(specimen_hint(specimen))
    if not given and specimen and lexicon is not None:
        given = lexicon.value("SYSTEM", specimen)
    if not from_text and not given:
        from_text = system_from_short_forms(text, short or {})
    systems = from_text or category_hint(category, given)
    from_category = bool(systems) and not from_text and not given
    stated_cutoff = said_cutoff(text) is not None  # "Temazepam (cutoff 50 ng/mL)"
    if not systems:
        creatinine = per_creatinine(unit) is not None
        # an order name saying the specimen ("Lead, Blood", "Zolpidem, Serum") says it of
        # each of its results
        systems = system_from_short_forms(category, short or {}) or specimen_hint(
            category) or ({"Urine": 1.0} if creatinine or stated_cutoff else {})
        from_category = bool(systems) and not creatinine
    toks = set(base_tokens(text))
    if _COUNT_SIGN.search(text):  # "Basos#", "Blasts #": a count ("#2" numbers a specimen)
        toks.add("#")
    # a coagulation test of a blood sample is measured in its platelet-poor plasma
    blood = bool(given) and not from_text and max(given, key=lambda k: given[k]) == "Bld"
    if (not systems or from_category or blood) and coagulation(text, toks):
        systems, from_category = {"PPP": 1.0, "Plas": 0.8, "Bld": 0.5}, False
    urine = bool(given) and not from_text and max(given, key=lambda k: given[k]) == "Urine"
    if (not systems or from_category or urine) and toks & {"clearance", "clear"}:
        # a renal clearance compares urine with serum or plasma (LOINC: Urine+Ser/Plas), also
        # when the urine is given as its specimen
        systems, from_category = {"Urine+Ser/Plas": 1.0, "Urine": 0.5, "Ser/Plas": 0.5}, False
    if not from_text and (not given or blood):
        systems = coagulation_specimen(toks, systems)
    systems = of_control(toks, of_newborn(toks, systems))
    if not (unit or "").strip() and "%" in text:  # "% Hemoglobin A1c": the name gives the unit
        unit = "%"
    unit_props, scale = unit_hint(unit)
    props, systems = unit_props, cord_tissue(toks, systems, unit_props)  # "Cord" in ng/g
    for words, word_props, word_scale in _PROPERTY_WORDS:
        if words & toks:
            if not props or word_props & props:
                props = (word_props & props) or set(word_props)
            scale = scale or word_scale
    if not props and (activity := relative_activity(text, toks)) is not None:
        props, scale = activity  # "Factor VIII": its activity in % of normal
    if (cutoff := with_cutoff(toks, props)) is not None:  # "Cocaine, Urn, Screen" ng/mL
        props, scale = cutoff, None
    if stated_cutoff:  # present above the cutoff
        props, scale = {"PrThr"}, "Ord"
    scale = said_scale(toks) or scale  # "semiqn.": the unit does not make it quantitative
    cells = toks | {t + "s" for t in toks}  # "Macrophage" as "macrophages"
    if cells & _DIFFERENTIAL and (not props or "NFr" in props):  # a differential: a percentage
        props, scale = {"NFr"}, "Qn"
    if not props and hemoglobin_fraction(name_words, category):  # "Hemoglobin F", "COHb"
        props, scale = {"MFr"}, "Qn"  # a share of total haemoglobin (mappings.hbfractions)
    methods: tuple[str, ...] = ()
    for words, names in _METHODS:
        if words & toks:
            methods += names
    methods += tuple(m for m in drug_methods(toks, text, unit_props, unit) if m not in methods)
    power = field_unit(unit)
    if power:  # a count per microscope field: light microscopy at that power
        methods += (f"microscopy.light.{power}",)
    timed = bool(toks & {"24h", "sammelurin", "24", "24std", "tagesmenge", "su"}) \
        or said_24h(text) or per_day(unit) is not None
    if timed and not props:  # a 24 h collection with no unit reports what is excreted per day
        props, scale = {"MRat", "SRat"}, scale or "Qn"
    return Axes(systems, bool(from_text), from_category, props, scale, methods, timed,
                section_classes(category),
                unit=(unit or "").strip() if unit_props and props <= unit_props else "",
                specimen=(specimen or "").strip() if given and not from_text else "")
