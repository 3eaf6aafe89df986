"""Infection serology and microbiology names (issue 17): "qn." says the scale, and "other
material" is LOINC's generic specimen where the class uses it (mappings.anyspecimen)."""

from __future__ import annotations

from mappings.anyspecimen import FLUID_SHARE, for_generic, generic_classes
from mappings.hints import axes
from mappings.suggest import TargetIndex, TargetTerm


def _term(code: str, display: str, cls: str, system: str, prop: str = "PrThr",
          scale: str = "Ord") -> TargetTerm:
    return TargetTerm(code, display, ((display, "display"),),
                      {"CLASS": cls, "SYSTEM": system, "PROPERTY": prop, "SCALE_TYP": scale})


def test_qn_says_the_scale_only() -> None:
    hint = axes("Enterovirus RNA qn. /SM PCR")
    assert hint.scale == "Qn" and not hint.properties
    assert axes("HAV-Antikörper IgM quantitativ").scale == "Qn"


def test_other_material_is_the_generic_specimen_where_the_class_uses_it() -> None:
    props = [{"CLASS": "MICRO", "SYSTEM": "XXX"}] * 3 + [{"CLASS": "MICRO", "SYSTEM": "Body fld"},
                                                         {"CLASS": "CHEM", "SYSTEM": "XXX"},
                                                         {"CLASS": "CHEM", "SYSTEM": "Body fld"}]
    assert generic_classes(props) == {"MICRO"}
    found = for_generic(axes("Bakterien /SM"))
    assert found is not None and found[0].systems["XXX"] > found[0].systems["Body fld"]
    assert for_generic(axes("Bakterien /Urin")) is None
    terms = [_term("fld", "Bacteria identified in Body fluid by Culture", "MICRO", "Body fld",
                   "Prid", "Nom"),
             *(_term(f"x{n}", f"Bacteria identified in Specimen by Culture {n}", "MICRO", "XXX",
                     "Prid", "Nom") for n in range(3)),
             _term("glu", "Glucose [Mass/volume] in Body fluid", "CHEM", "Body fld", "MCnc", "Qn"),
             _term("glux", "Glucose [Mass/volume] in Specimen", "CHEM", "XXX", "MCnc", "Qn"),
             _term("glub", "Glucose [Mass/volume] in Blood", "CHEM", "Bld", "MCnc", "Qn")]
    index = TargetIndex(terms, glossary=False)
    assert index.suggest("Bakterien Kultur /SM", limit=1)[0].code.startswith("x")
    assert index.suggest("Glucose /SM", unit="mg/dl", limit=1)[0].code == "glu"


def test_austrian_serology_abbreviations_say_the_property_and_method() -> None:
    hint = axes("Adenovirus AK Ti. KBR")
    assert hint.properties == {"Titr"} and "complement fixation" in hint.methods
    assert "hemagglutination inhibition" in axes("Masernv. AK Ti. HHT").methods


def test_a_serology_method_abbreviation_prefers_the_terms_of_that_method() -> None:
    """KBR and HHT name LOINC's METHOD_TYP codes (Comp fix, HAI), not only their words."""
    terms = [TargetTerm(code, f"Adenovirus Ab [Titer] in Serum{by}",
                        ((f"Adenovirus Ab [Titer] in Serum{by}", "display"),),
                        {"CLASS": "MICRO", "SYSTEM": "Ser", "PROPERTY": "Titr",
                         "SCALE_TYP": "Qn", **({"METHOD_TYP": method} if method else {})})
             for code, by, method in (("plain", "", ""), ("cf", " by Complement fixation",
                                                           "Comp fix"),
                                      ("hai", " by Hemagglutination inhibition", "HAI"))]
    index = TargetIndex(terms, glossary=False)
    assert index.suggest("Adenovirus AK Ti. KBR", limit=1)[0].code == "cf"
    assert index.suggest("Adenovirus AK Ti. HHT", limit=1)[0].code == "hai"


def test_a_body_fluid_given_apart_is_the_generic_specimen_of_microbiology() -> None:
    """"Other Body Fluid" names no site: an organism test of it is LOINC's "in Specimen" term
    where the class keeps its terms in XXX (MICRO), not in chemistry."""
    n = int(FLUID_SHARE)
    props = [{"CLASS": "MICRO", "SYSTEM": "XXX"}] * n + [{"CLASS": "DRUG", "SYSTEM": "XXX"}] * 2
    classes = generic_classes([*props, {"CLASS": "MICRO", "SYSTEM": "Body fld"},
                               {"CLASS": "DRUG", "SYSTEM": "Body fld"}])
    assert classes == {"MICRO", "DRUG"} and classes.fluid == {"MICRO"}
    found = for_generic(axes("Influenza A", specimen="Other Body Fluid"), classes)
    assert found is not None and found[0].systems["XXX"] == found[0].systems["Body fld"]
    assert found[1] == {"MICRO"}
    # the name saying the body fluid names its term
    assert for_generic(axes("Body Fluid Culture"), classes) is None
    terms = [_term("fld", "Influenza virus A [Presence] in Body fluid", "MICRO", "Body fld"),
             _term("x0", "Influenza virus A [Presence] in Specimen", "MICRO", "XXX"),
             *(_term(f"x{k}", f"Rhinovirus {k} [Presence] in Specimen", "MICRO", "XXX")
               for k in range(1, n)),
             _term("glu", "Glucose [Mass/volume] in Body fluid", "CHEM", "Body fld", "MCnc", "Qn"),
             _term("glux", "Glucose [Mass/volume] in Specimen", "CHEM", "XXX", "MCnc", "Qn")]
    index = TargetIndex(terms, glossary=False)
    raw = {s.code: s.raw or 0.0 for s in index.suggest("Influenza A", specimen="Other Body Fluid",
                                                      limit=2)}
    assert raw.keys() == {"fld", "x0"} and raw["x0"] >= raw["fld"]
    assert index.suggest("Glucose", specimen="Other Body Fluid", limit=1)[0].code == "glu"
