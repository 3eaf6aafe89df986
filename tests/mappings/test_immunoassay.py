"""An antibody's or antigen's index or arbitrary unit says a quantitative immunoassay
(mappings.immunoassay): LOINC's "by Immunoassay" term does not lose to the method-less one."""

from __future__ import annotations

from mappings.axisfit import axes_fit
from mappings.hints import axes
from mappings.immunoassay import antibody_or_antigen, immunoassay_axes
from mappings.suggest import TargetIndex, TargetTerm


def _term(code: str, display: str, prop: str = "ACnc", scale: str = "Qn",
          method: str = "") -> TargetTerm:
    return TargetTerm(code, display, ((display, "display"), ("Zorbavirus Ab.IgG", "COMPONENT")),
                      {"CLASS": "MICRO", "SYSTEM": "Ser", "PROPERTY": prop, "SCALE_TYP": scale,
                       "VersionFirstReleased": "1.0" if not method else "2.40",
                       **({"METHOD_TYP": method} if method else {})})


TERMS = [_term("plain", "Zorbavirus IgG Ab [Units/volume] in Serum"),
         _term("ia", "Zorbavirus IgG Ab [Units/volume] in Serum by Immunoassay", method="IA"),
         _term("if", "Zorbavirus IgG Ab [Titer] in Serum by Immunofluorescence", "Titr",
               "SemiQn", "IF"),
         _term("ratio", "Zorbavirus IgG Ab 1st/2nd specimen [Ratio] in Serum", "Ratio")]


def test_names_of_antibodies_and_antigens() -> None:
    assert antibody_or_antigen("Anti-Qrs-12 Ab (XYZ)")
    assert antibody_or_antigen("Zorbavirus Antibodies, IgM")
    assert antibody_or_antigen("Zorba-Antikörper")
    assert not antibody_or_antigen("Antithrombin Activity")
    assert not antibody_or_antigen("Ferritin")


def test_an_index_unit_of_an_antibody_says_the_immunoassay() -> None:
    for unit in ("IV", "AU/mL", "U/mL", "Index Value"):
        text = "Zorbavirus Antibody, IgG"
        hint = immunoassay_axes(axes(text, unit=unit), text)
        assert hint.properties == {"ACnc"} and hint.unit_methods == ("ia",)
        fit, why = axes_fit({"PROPERTY": "ACnc", "METHOD_TYP": "IA"}, hint, "")
        plain, _ = axes_fit({"PROPERTY": "ACnc"}, hint, "")
        assert fit > plain and f"unit {unit} says method IA" in why
    assert immunoassay_axes(axes("Ferritin", unit="U/mL"), "Ferritin").unit_methods == ()
    assert immunoassay_axes(axes("Zorba Ab", unit="mg/L"), "Zorba Ab").unit_methods == ()


def test_the_immunoassay_term_ranks_first_for_an_index_unit() -> None:
    index = TargetIndex(TERMS, glossary=False)
    for unit in ("IV", "AU/mL", "U/mL"):
        assert index.suggest("Zorbavirus Antibody, IgG", unit=unit, limit=1)[0].code == "ia"
    # the section names the antibody of a one-result order
    assert index.suggest("Zorbavirus IgG", unit="U/mL", category="Zorbavirus Antibody",
                         limit=1)[0].code == "ia"


def test_an_antibody_index_without_a_unit_is_no_ratio() -> None:
    text = "Zorbavirus IgG Screening Index"
    hint = immunoassay_axes(axes(text), text)
    assert hint.properties == {"ACnc"} and hint.unit_methods == ("ia",)
    index = TargetIndex(TERMS, glossary=False)
    assert index.suggest("Zorbavirus IgG Index", limit=1)[0].code == "ia"
    assert immunoassay_axes(axes("IgG Index CSF"), "IgG Index CSF").unit_methods == ()


def test_international_units_and_allergen_ige_keep_the_methodless_term() -> None:
    """IU are calibrated to a WHO standard (method-independent); an allergen's IgE has
    LOINC's method-less ALLERGY terms; both still read "U" as arbitrary units (ACnc)."""
    for text, unit in (("Zorbavirus Antibody, IgG", "IU/mL"), ("Zorbavirus Antibody, IgG",
                                                              "mIU/mL"),
                       ("Zorbaweed IgE", "kU/L")):
        hint = immunoassay_axes(axes(text, unit=unit), text)
        assert hint.properties == {"ACnc"} and hint.unit_methods == ()
    index = TargetIndex(TERMS, glossary=False)
    assert index.suggest("Zorbavirus Antibody, IgG", unit="IU/mL", limit=1)[0].code == "plain"
