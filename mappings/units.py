"""What a local unit says beyond its UCUM class: logarithmic units and the reference a unit
names after the numbers (UCUM annotations, or plain words as catalogues write them).

General UCUM and laboratory knowledge, not derived from any evaluation set:

* a logarithmic unit ("log10 copies/mL", "log IU/mL") reports the log of a number or of
  arbitrary units per volume: LOINC's PROPERTY LnCnc or LaCnc (`log_property`);
* an amount per mass of creatinine ("umol/g CRT", "mg/g creat", "mmol/mol{creat}") reports a
  ratio to creatinine: LOINC's COMPONENT "X/Creatinine", PROPERTY MRto (mass per mass), SRto
  (moles per moles) or Ratio (moles per mass)
  (`per_creatinine`); the word creatinine joins the name (`with_unit_words`);
* any other word after a unit ("mU/g Hb", "nmol/L RBC") names the reference, not the
  unit's class (`without_reference`);
* catalogues spell some UCUM units their own way (`catalogue_property`, `ucum_spelling`):
  "mcg" is UCUM's "ug"; "Units" is "U"; "%sat", "% of CD4+" are percentages with an
  annotation; "GPL U/mL", "ug Eq/mL" are arbitrary units per volume (UCUM [GPL'U]);
  "N/A" says there is no unit; a bare arbitrary unit ("IV" index value, "AU", "Units",
  "Bethesda") reports an arbitrary concentration (ACnc); mOsm/kg an osmolality (Osmol); a
  bare power of ten ("x10E6") a number (Num); a mass per volume per time ("ng/mL/hr",
  renin activity) the product an enzyme makes: a catalytic concentration (CCnc);
* a drug screen's or qualitative test's mass unit ("Cocaine, Urn, Screen" in ng/mL) is its
  cutoff: the result may be the presence (PrThr) as well as the amount (`with_cutoff`);
* a name that states its cutoff value ("Temazepam (cutoff 50 ng/mL)") reports whether the
  analyte is present above it (PrThr, Ord); the value is no analyte word, and LOINC's "<drug>
  cutoff" terms are the cutoff value itself, not the result (`said_cutoff`); cutoffs so
  stated are those of urine drug testing (the SAMHSA and workplace urine cutoffs).
"""

from __future__ import annotations

import re

from mappings.normalize import base_tokens, fold

__all__ = ["CREATININE", "catalogue_property", "compact", "log_property", "per_creatinine",
           "plural_short", "said_cutoff", "ucum_spelling", "with_cutoff", "with_unit_words",
           "without_reference"]

_LOG = re.compile(r"^\s*log(?:10|(?![a-z]))\s*(.*)$", re.IGNORECASE)
# a plain word after a unit names what the amount is per ("mU/g Hb", "nmol/L RBC")
_TRAILING_WORD = re.compile(r"(?<=\S)\s+[a-z]+\.?$", re.IGNORECASE)
#: Words and abbreviations of creatinine in a unit's denominator or a name ("/Krea").
CREATININE = frozenset("creatinine creat crea crt cr kreatinin kreat krea kr".split())
# an amount per amount of creatinine, on the unit folded and without spaces: the numerator
# (prefix, then g, mol, eq, m for molar as in "uM/gCR", or units), the denominator amount,
# then the creatinine word, bare or as an annotation ("mg/g{creat}", "mg/mmol Krea")
_PER_CREATININE = re.compile(
    r"^(?:p|n|u|m|k)?(?P<num>mol|eq|g|m|iu|u|kat)/(?:p|n|u|m|k)?(?P<den>mol|g)"
    r"\{?(?:" + "|".join(sorted(CREATININE, key=len, reverse=True)) + r")\.?\}?$")


def _folded(unit: str) -> str:
    """A unit folded, the micro sign as "u"."""
    return fold(unit.strip().replace("µ", "u").replace("μ", "u"))


def compact(unit: str) -> str:
    """A unit folded, the micro sign as "u", without spaces ("µg / 24 hr" → "ug/24hr")."""
    return _folded(unit).replace(" ", "")


def log_property(unit: str | None) -> set[str]:
    """LOINC PROPERTY of a logarithmic unit: LnCnc for counts (copies, cells, /mL),
    LaCnc for arbitrary units (IU/mL); empty when the unit is not logarithmic."""
    m = _LOG.match(unit or "")
    if not m:
        return set()
    rest = m.group(1).lower().replace("[", "").replace("]", "")
    return {"LaCnc"} if re.match(r"^(k|m)?(iu|u|au)\b", rest) else {"LnCnc"}


def per_creatinine(unit: str | None) -> str | None:
    """The LOINC PROPERTY of an amount per amount of creatinine: MRto for mass per mass
    ("ug/g CRT"), SRto for moles per moles ("mmol/mol{creat}", "uM/mM Cr"), Ratio for the
    mixed forms ("umol/g Cr", "U/g creat"); None for any other unit."""
    m = _PER_CREATININE.match(compact(unit or ""))
    if not m:
        return None
    num = "mol" if m.group("num") in {"m", "eq"} else m.group("num")
    kinds = {num, m.group("den")}
    return "MRto" if kinds == {"g"} else "SRto" if kinds == {"mol"} else "Ratio"


# "(cutoff 50 ng/mL)", "cut-off: 0.5 ug/L": a cutoff value stated in the name
_SAID_CUTOFF = re.compile(r"\(?\s*\bcut[\s-]?off\b\s*[:=<>]*\s*\d[\d.,]*\s*[^\s()]*\s*\)?",
                          re.IGNORECASE)


def said_cutoff(text: str) -> str | None:
    """The name without the cutoff value it states ("Temazepam (cutoff 50 ng/mL)" →
    "Temazepam"), None when it states none."""
    if not _SAID_CUTOFF.search(text):
        return None
    return " ".join(_SAID_CUTOFF.sub(" ", text).split())


def with_unit_words(text: str, unit: str | None) -> str:
    """The name with the analyte words its unit adds: "creatinine" for a ratio to creatinine
    ("Proline, Urine" in umol/g CRT names LOINC's "Proline/Creatinine"), without a cutoff
    value it states (`said_cutoff`)."""
    text = said_cutoff(text) or text
    if per_creatinine(unit) and not CREATININE & set(base_tokens(text)):
        return f"{text} creatinine"
    return text


def plural_short(tok: str, word: str) -> bool:
    """Whether `tok` is a plural short form of `word` ("basos" of basophils, "myelos" of
    myelocytes): a stem of 4+ letters that `word` begins with, then "s"."""
    return tok.endswith("s") and len(tok) >= 5 and word.startswith(tok[:-1]) \
        and len(word) > len(tok)


def without_reference(unit: str) -> str:
    """A unit without a plain word naming its reference after it ("mU/g Hb" → "mU/g")."""
    head = _TRAILING_WORD.sub("", unit.strip())
    return head if "/" in head else unit


# "N/A", "none", "-": a catalogue's placeholder where a result has no unit
_PLACEHOLDER = frozenset({"n/a", "na", "n.a.", "n.a", "none", "-", "--", "nd", "{none}",
                          "null"})
# bare arbitrary units (UCUM [arb'U], [iU], [EU], [BAU], [GPL'U], [beth'U]) and the index
# values immunoassays report ("IV", "AI" antibody index, "EV" ELISA value, "ISR")
_ARBITRARY_BARE = frozenset("u iu au eu elu bau units unit iv ai ev isr index indexvalue gpl "
                            "mpl apl aps bu bethesda bethesdaunits elisaunits".split())
# an annotation word before U ("GPL U/mL", "[GPL'U]/mL") or mass equivalents ("ug Eq/mL")
_ANNOTATED_U = re.compile(r"^(?:(?:[a-z]{2,}|e)'?\s*u|(?:m|u|n)?g\s*eq?)(?=/)")


def ucum_spelling(unit: str) -> str:
    """A unit folded, in UCUM's spelling where catalogues write it otherwise: "mcg/mL" →
    "ug/ml", "Units/mL" → "u/ml", "%sat" → "%", "GPL U/mL" → "au/ml"; "" for a placeholder
    ("N/A")."""
    u = _folded(unit)
    if u in _PLACEHOLDER:
        return ""
    u = re.sub(r"(?<![a-z])mc(?=[a-z])", "u", u)  # mcg, mcmol, mcL: the micro prefix
    u = re.sub(r"(?<![a-z])units?(?![a-z])", "u", u)
    if u.startswith("%") and "/" not in u:  # "%sat", "% of CD4+", "%mean normal"
        return "%"
    u = _ANNOTATED_U.sub("au", u)
    return u.replace(" ", "")


def catalogue_property(u: str) -> tuple[set[str], str | None] | None:
    """(LOINC PROPERTY values, SCALE_TYP) of a unit the UCUM classes leave open (`u` as
    `ucum_spelling` gives it), None for the others."""
    if not u:
        return set(), None
    if u in _ARBITRARY_BARE:
        return {"ACnc"}, "Qn"
    if re.match(r"^mosm(ol)?/(k?g|l)", u):
        return {"Osmol"}, "Qn"
    if re.match(r"^x?10(\*|\^|e)\d+$", u):
        return {"Num"}, "Qn"
    if re.match(r"^(p|n|u|m)?g/(m|u|d)?l/(h|hr|min)$", u):
        return {"CCnc"}, "Qn"
    if u in {"ratio", "{ratio}"}:
        return {"Ratio", "MRto", "SRto", "CRto", "NFr", "MFr", "SFr", "VFr"}, "Qn"
    return None


# screening and qualitative words whose test reports a cutoff in a mass or substance unit
# (a drug immunoassay, "IA", "EIA", is the screen a chromatography method confirms)
_CUTOFF_WORDS = frozenset("screen screening ql qual qualitative qualitativ ia eia".split())
_CUTOFF_UNITS = frozenset({"MCnc", "SCnc", "MCnt", "SCnt", "MRto"})


def with_cutoff(words: set[str], properties: set[str]) -> set[str] | None:
    """The PROPERTY values of a unit that a screening word (`words` of the name) makes a
    cutoff: presence (PrThr) as well as the amount; None when it does not."""
    if words & _CUTOFF_WORDS and properties and properties <= _CUTOFF_UNITS:
        return properties | {"PrThr"}
    return None
