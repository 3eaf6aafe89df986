"""A local name that says "Control" (or "Newborn") of a test measured in a specimen: LOINC's
control (newborn) sample of that specimen, the super system of the SYSTEM axis.

LOINC keeps the result of a control sample run beside the patient's as a term of its own,
with the super system "Control" ("Thrombin time in Control Platelet poor plasma by
Coagulation assay", SYSTEM PPP^Control; 30 such PPP terms in LOINC 2.78, and Bld^Control,
PRP^Control, Ser^Control). A name that says the control ("Thrombin Time Control",
"Reptilase Time, Control", "APTT 1:1NP 60min Inc. Control") is that sample: the SYSTEM with
"^Control" first, the patient's specimen next. A ratio of patient to control ("PT
Patient/Control Ratio") is measured in the patient's sample and keeps it; so does a name
saying "controls" or "controlled", other words.
"""

from __future__ import annotations

__all__ = ["CONTROL_WORDS", "of_control", "of_newborn"]

#: Words that say the control sample (English, German).
CONTROL_WORDS = frozenset({"control", "kontrolle", "kontrollplasma"})
# a ratio or comparison is of the patient's sample to the control
_RATIO = frozenset({"ratio", "quotient", "patient", "index", "rto"})
#: What the patient's specimen keeps of its weight beside its control.
PATIENT = 0.5


def of_control(toks: set[str], systems: dict[str, float]) -> dict[str, float]:
    """SYSTEM weights for a name: `systems` with each specimen's control ("PPP" →
    "PPP^Control") first when the name says the control sample, else unchanged."""
    if not systems or not toks & CONTROL_WORDS or toks & _RATIO:
        return systems
    out = {f"{s}^Control": w for s, w in systems.items() if "^" not in s}
    out.update({s: w * PATIENT for s, w in systems.items()})
    return out


_NEWBORN = frozenset("neug neugeb neugeboren neugeborene neugeborenen newborn neonatal".split())


def of_newborn(toks: set[str], systems: dict[str, float]) -> dict[str, float]:
    """A test said of the newborn ("Blutgruppe AB0 Neugeborene") is LOINC's Bld^Newborn or
    ^Newborn (the newborn's own sample); the specimen otherwise said counts half."""
    if not toks & _NEWBORN:
        return systems
    return {**{k: w * 0.5 for k, w in systems.items()}, "Bld^Newborn": 1.0, "^Newborn": 0.8}
