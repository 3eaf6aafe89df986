"""Acronyms learnt from the initials of LOINC components."""

from __future__ import annotations

import pytest

from mappings.acronyms import acronyms
from mappings.suggest import TargetIndex, TargetTerm, suggest


def _components(n_owner: int, n_other: int) -> list[str]:
    return (["Lactate dehydrogenase"] * (n_owner // 2)
            + [f"Lactate dehydrogenase {i}" for i in range(n_owner - n_owner // 2)]
            + ["Lysergate diethylamide"] * n_other)


def test_a_component_that_owns_its_initials_names_the_acronym() -> None:
    assert acronyms(_components(69, 14))["ld"] == ("lactate", "dehydrogenase")


def test_shared_initials_or_a_rare_component_name_no_acronym() -> None:
    assert "ld" not in acronyms(_components(30, 20))
    assert "ld" not in acronyms(_components(10, 0))
    assert "tga" not in acronyms(["Toxoplasma gondii Ab"] * 50)  # a molecule word


def test_an_unknown_short_word_is_read_as_the_acronym(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setattr("mappings.scopewords.LEARN_FROM", 0)
    def term(code: str, component: str, system: str) -> TargetTerm:
        display = f"{component} [Enzymatic activity/volume] in {system}"
        system = {"Body fluid": "Body fld"}.get(system, system)
        return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT")),
                          {"SYSTEM": system, "PROPERTY": "CCnc", "SCALE_TYP": "Qn"})

    terms = [term(str(i), "Lactate dehydrogenase", "Serum or Plasma") for i in range(25)]
    terms += [term("fld", "Lactate dehydrogenase", "Body fluid"),
              term("lac", "Lactate", "Body fluid")]
    assert suggest(TargetIndex(terms), "LD, Body Fluid", unit="U/L")[0].code == "fld"


def test_a_short_candidate_list_learns_no_acronyms() -> None:
    terms = [TargetTerm(str(i), "x", (("Lactate dehydrogenase", "COMPONENT"),)) for i in range(30)]
    assert TargetIndex(terms)._acronyms == {}
