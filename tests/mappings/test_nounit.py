"""Names without a unit (issue 17, MIMIC style: name, fluid and section): what the unit
column and the name's organism say about the axes (mappings.hints)."""

from __future__ import annotations

from mappings.hints import axes, unit_hint, without_epithets


def test_a_unit_column_saying_none_is_no_unit() -> None:
    """"N/A" says the result has no unit: not a quantity of an unknown unit."""
    for unit in ("N/A", "n/a", "NA", "none", "-"):
        assert unit_hint(unit) == (set(), None)
    assert axes("Oxycodone", unit="N/A", specimen="Urine").scale is None
    assert unit_hint("mg/dL")[1] == "Qn"


def test_an_organism_epithet_is_no_specimen_when_the_specimen_is_given() -> None:
    """"Trichomonas vaginalis" in urine is tested in urine, not in vaginal fluid."""
    assert without_epithets("Trichomonas vaginalis") == "Trichomonas  "
    assert without_epithets("Creatinine, Dialysis") == "Creatinine, Dialysis"
    hint = axes("Trichomonas vaginalis", specimen="Urine")
    assert max(hint.systems, key=lambda k: hint.systems[k]) == "Urine"
    assert not hint.system_from_text
    # with no specimen given apart the epithet still says where the organism is sought
    assert "Vag" in axes("Trichomonas vaginalis").systems
    assert max((h := axes("Sodium, Joint Fluid", specimen="Joint Fluid")).systems,
               key=lambda k: h.systems[k]) == "Synv fld"
