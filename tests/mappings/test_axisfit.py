"""Axis-aware scoring (mappings.axisfit): the unit decides the PROPERTY class, and every axis
that counts says why in plain language."""

from __future__ import annotations

from mappings.axisfit import EXCLUDED, FIT_AXES, axes_fit
from mappings.hints import axes
from mappings.suggest import TargetIndex, TargetTerm, suggest


def test_unit_fits_or_rules_out_the_property() -> None:
    hint = axes("Cholesterin gesamt", unit="mg/dl")
    fit, why = axes_fit({"PROPERTY": "MCnc"}, hint, "")
    assert fit > 0 and "unit mg/dl fits Mass concentration (MCnc)" in why
    for prop, name in (("SCnc", "Substance concentration"), ("MRto", "Mass ratio")):
        miss, why = axes_fit({"PROPERTY": prop}, hint, "")
        assert miss <= -EXCLUDED and f"unit mg/dl rules out {name} ({prop})" in why


def test_a_property_word_without_a_unit_only_nudges() -> None:
    hint = axes("Leukozyten absolut")
    miss, why = axes_fit({"PROPERTY": "NFr"}, hint, "")
    assert -EXCLUDED < miss < 0
    assert "the name suggests another property than Number fraction (NFr)" in why


def test_specimen_method_and_timing_are_explained() -> None:
    hint = axes("Glukose", unit="mg/dl", specimen="Serum")
    fit, why = axes_fit({"SYSTEM": "Ser/Plas", "METHOD_TYP": "Test strip",
                         "TIME_ASPCT": "24H"}, hint, "glukose")
    assert "specimen Serum fits Ser/Plas" in why
    assert "method Test strip not named" in why and "timing 24H not named" in why
    worse, why = axes_fit({"SYSTEM": "Urine"}, hint, "glukose")
    assert worse < fit and "specimen Serum does not fit Urine" in why


CHOL = TargetTerm("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma",
                  (("Cholesterol [Mass/volume] in Serum or Plasma", "display"),
                   ("Cholesterol", "COMPONENT")),
                  {"PROPERTY": "MCnc", "SYSTEM": "Ser/Plas", "SCALE_TYP": "Qn"})
RATIO = TargetTerm("9830-1", "Cholesterol.total/Cholesterol in HDL [Mass Ratio] in Serum or "
                   "Plasma", (("Cholesterol.total/Cholesterol in HDL [Mass Ratio] in Serum or "
                               "Plasma", "display"),
                              ("Cholesterol.total/Cholesterol.in HDL", "COMPONENT")),
                   {"PROPERTY": "MRto", "SYSTEM": "Ser/Plas", "SCALE_TYP": "Qn"})


def test_a_mass_concentration_unit_excludes_ratio_terms_unless_nothing_else_fits() -> None:
    both = TargetIndex([RATIO, CHOL])
    found = suggest(both, "Cholesterin total HDL", unit="mg/dl")
    assert found[0].code == "2093-3"
    assert "unit mg/dl rules out Mass ratio (MRto)" in found[1].why
    only_ratio = TargetIndex([RATIO])
    assert [s.code for s in suggest(only_ratio, "Cholesterin total HDL", unit="mg/dl")] == [
        "9830-1"]


def test_units_of_varying_property_only_nudge() -> None:
    hint = axes("Lipase", unit="U/l")  # catalytic, but LOINC has U/l terms as ACnc too
    miss, why = axes_fit({"PROPERTY": "ACnc"}, hint, "")
    assert -EXCLUDED < miss < 0
    assert "unit U/l fits Arbitrary concentration (ACnc) nearly" in why
    hint = axes("Hb", unit="%")  # a share: several properties, none ruled out
    miss, why = axes_fit({"PROPERTY": "MCnc"}, hint, "")
    assert -EXCLUDED < miss < 0


def test_a_concentration_unit_rules_out_ratios_and_other_classes() -> None:
    """Issue 17: U/l or mg/dl can only be a concentration of that class: a "…/…total" ratio,
    a fraction, or another per-volume class loses EXCLUDED; unit parsing covers micro
    international units, annotated units and enzyme activity per mass."""
    hint = axes("Alkalische Phosphatase", unit="U/l")
    for prop in ("MRto", "Ratio", "NFr", "MCnc", "SCnc"):
        score, why = axes_fit({"PROPERTY": prop}, hint, "")
        assert score <= -EXCLUDED + 1e-9, prop
        assert any("rules out" in w for w in why)
    assert axes("Insulin", unit="u[iU]/mL").properties == {"ACnc"}
    assert axes("Faktor VIII Inhibitor", unit="[Beth'U]/mL").properties == {"ACnc"}
    assert axes("Arylsulfatase A", unit="nmol/h/mg{protein}").properties == {"CCnt"}
    assert axes("Arylsulfatase A", unit="nmol/h/mL").properties == {"CCnc"}


def test_a_name_without_a_duration_prefers_the_unspecified_one() -> None:
    """"Foo Clearance" names no collection time: LOINC's TIME_ASPCT XXX (unspecified duration)
    claims none, so it loses less than a 2, 4 or 24 hour collection (still more than Pt)."""
    hint = axes("Foo Clearance", specimen="Urine")
    fits = {t: axes_fit({"TIME_ASPCT": t}, hint, "")[0] for t in ("Pt", "XXX", "24H", "4H")}
    assert fits["Pt"] > fits["XXX"] > fits["24H"] == fits["4H"]
    timed = [TargetTerm(f"t{h}", f"Foo renal clearance in {h} hour Urine and Serum or Plasma",
                        ((f"Foo renal clearance in {h} hour Urine and Serum or Plasma",
                          "display"), ("Foo renal clearance", "COMPONENT")),
                        {"SYSTEM": "Urine+Ser/Plas", "PROPERTY": "VRat", "SCALE_TYP": "Qn",
                         "TIME_ASPCT": f"{h}H", "VersionFirstReleased": "1.0"})
             for h in (2, 4, 6, 8, 12, 24)]
    unspecified = TargetTerm("xxx", "Foo renal clearance in Urine and Serum or Plasma",
                             (("Foo renal clearance in Urine and Serum or Plasma", "display"),
                              ("Foo renal clearance", "COMPONENT")),
                             {"SYSTEM": "Urine+Ser/Plas", "PROPERTY": "VRat",
                              "SCALE_TYP": "Qn", "TIME_ASPCT": "XXX",
                              "VersionFirstReleased": "2.0"})
    index = TargetIndex([*timed, unspecified], glossary=False)
    found = [s.code for s in suggest(index, "Foo Clearance", specimen="Urine", limit=5)]
    assert "xxx" in found


class _Recorded(dict[str, str]):
    """A property dict that records which properties are read."""

    read: set[str]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


def test_the_fit_reads_only_the_properties_suggest_keys_it_by() -> None:
    props = _Recorded({"PROPERTY": "MCnc", "SCALE_TYP": "Qn", "SYSTEM": "Ser/Plas",
                       "METHOD_TYP": "IA", "CLASS": "CHEM", "TIME_ASPCT": "24H",
                       "COMPONENT": "Glucose", "ORDER_OBS": "Both"})
    props.read = set()
    for text, unit, specimen, category in (("Glukose", "mg/dl", "Serum", "Chemistry"),
                                           ("Toxoplasma IgG", "IU/mL", None, None),
                                           ("Glucose 24h urine PCR", None, "Urine", None)):
        axes_fit(props, axes(text, unit=unit, specimen=specimen, category=category), "glucose")
    assert props.read and props.read <= set(FIT_AXES)
