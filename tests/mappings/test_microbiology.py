"""Microbiology methods and susceptibility results (issue 17): method phrases learnt from
LOINC's own English and German names, and what a susceptibility name says about the axes
(mappings.microbiology)."""

from __future__ import annotations

from mappings.hints import axes
from mappings.microbiology import method_keys, microbiology_axes, named_methods
from mappings.suggest import TargetIndex, TargetTerm

_METHODS = {"MIC": ("Minimum inhibitory concentration (MIC)", "minimaler Hemmkonzentration (MHK)"),
            "Agar diffusion": ("Disk diffusion (KB)", "Agardiffusion"),
            "Gradient strip": ("Gradient strip", "Gradientenstreifen")}


def _susceptibility(code: str, drug: str, method: str | None) -> TargetTerm:
    display = f"{drug} [Susceptibility]"
    german = f"{drug} [Empfindlichkeit]"
    if method:
        display += f" by {_METHODS[method][0]}"
        german += f" mit {_METHODS[method][1]}"
    props = {"CLASS": "ABXBACT", "PROPERTY": "Susc", "SYSTEM": "Isolate", "SCALE_TYP": "OrdQn"}
    if method:
        props["METHOD_TYP"] = method
    return TargetTerm(code, display, ((display, "display"), (german, "de-DE LONG_COMMON_NAME")),
                      props)


def _terms() -> list[TargetTerm]:
    terms = []
    drugs = ("Ampicillin", "Amikacin", "Gentamicin", *(f"{a}{b}mycin" for a in "BDFKLPRTVZ"
                                                         for b in ("ora", "eli")))
    for n, drug in enumerate(drugs):  # 23 drugs: MIC, disk and strip stand for Susc
        terms.append(_susceptibility(f"{n}-0", drug, None))
        terms.extend(_susceptibility(f"{n}-{i}", drug, m) for i, m in enumerate(_METHODS, 1))
        terms.append(TargetTerm(f"{n}-9", f"{drug} [Mass/volume] in Serum or Plasma",
                                ((f"{drug} [Mass/volume] in Serum or Plasma", "display"),),
                                {"CLASS": "DRUG/TOX", "PROPERTY": "MCnc", "SYSTEM": "Ser/Plas",
                                 "SCALE_TYP": "Qn"}))
    return terms


def _keys() -> dict[frozenset[str], str]:
    return method_keys((t.display, t.texts, t.properties) for t in _terms())


def test_method_phrases_are_learnt_from_english_and_german_names() -> None:
    keys = _keys()
    assert named_methods(keys, "Ampicillin MHK") == ("mic",)
    assert named_methods(keys, "Ampicillin MIC") == ("mic",)
    assert named_methods(keys, "Amikacin Agardiffusionstest") == ("agar diffusion",)
    assert named_methods(keys, "Amikacin disk diffusion") == ("agar diffusion",)
    assert named_methods(keys, "Gentamicin Gradientenstreifen") == ("gradient strip",)
    assert named_methods(keys, "Gentamicin im Serum") == ()


def test_a_susceptibility_word_or_section_says_susc_of_an_isolate() -> None:
    keys = _keys()
    hint = microbiology_axes(axes("Minocyclin", unit="mg/l"), keys, frozenset({"mic"}),
                             "Minocyclin", "Antibiogramm")
    assert hint.properties == {"Susc"} and hint.unit == ""
    assert max(hint.systems, key=lambda s: hint.systems[s]) == "Isolate"
    plain = microbiology_axes(axes("Minocyclin", unit="mg/l"), keys, frozenset({"mic"}),
                              "Minocyclin", "Medikamente")
    assert plain.properties == {"MCnc"}


def test_a_named_method_picks_the_susceptibility_variant() -> None:
    index = TargetIndex(_terms(), glossary=False)
    assert index.suggest("Amikacin MHK", unit="mg/l", limit=1)[0].code == "1-1"
    assert index.suggest("Amikacin Agardiffusion", limit=1)[0].code == "1-2"
    assert index.suggest("Gentamicin", category="Antibiogramm", limit=1)[0].code == "2-0"
    assert index.suggest("Gentamicin", unit="mg/l", limit=1)[0].code == "2-9"


def test_a_detection_method_without_specimen_prefers_any_specimen() -> None:
    keys = _keys()
    hint = microbiology_axes(axes("Varicella zoster virus by PCR"), keys, frozenset(),
                             "Varicella zoster virus by PCR", None)
    assert hint.system_from_method and max(hint.systems, key=lambda s: hint.systems[s]) == "XXX"
    said = microbiology_axes(axes("Varicella zoster virus by PCR", specimen="Liquor"), keys,
                             frozenset(), "Varicella zoster virus by PCR", None)
    assert not said.system_from_method and "XXX" not in said.systems
    serology = microbiology_axes(axes("Varicella zoster virus IgG"), keys, frozenset(),
                                 "Varicella zoster virus IgG", None)
    assert not serology.systems


def test_interpretation_words_etest_and_zone_diameters_say_susceptibility() -> None:
    index = TargetIndex(_terms(), glossary=False)
    assert index.suggest("Amikacin S/I/R", limit=1)[0].code == "1-0"
    assert index.suggest("Amikacin Etest", unit="mg/l", limit=1)[0].code == "1-3"
    assert index.suggest("Amikacin", unit="mm", category="Antibiogramm", limit=1)[0].code == "1-2"
    hint = microbiology_axes(axes("Zervixlaenge", unit="mm"), _keys(), frozenset({"mic"}),
                             "Zervixlaenge", None, "mm")
    assert not hint.methods and "Susc" not in hint.properties


def test_a_specimen_word_of_loincs_german_systems_keeps_the_specimen_open() -> None:
    text = "Varicella zoster virus Kornea PCR"
    assert microbiology_axes(axes(text), _keys(), frozenset(), text, None).system_from_method
    named = microbiology_axes(axes(text), _keys(), frozenset(), text, None, None, {"kornea"})
    assert not named.system_from_method


def test_a_broth_dilution_says_the_mic() -> None:
    """Broth (micro)dilution reads an MIC, said in the name or the section; an abbreviated
    section ("Suscep.") still says susceptibility; a stated concentration is no MIC."""
    index = TargetIndex(_terms(), glossary=False)
    assert index.suggest("Gentamicin", category="Nocardia Susceptibility Broth",
                         limit=1)[0].code == "2-1"
    assert index.suggest("Amikacin", category="Rapid Grower Broth Suscep.",
                         limit=1)[0].code == "1-1"
    hint = microbiology_axes(axes("Amikacin 1 ug/mL"), _keys(), frozenset({"mic"}),
                             "Amikacin 1 ug/mL", "Mycobacteria Susceptibility Broth")
    assert "mic" not in hint.methods
