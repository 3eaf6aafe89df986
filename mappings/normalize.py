"""German-aware text normalisation for matching local lab names against target terms.

`fold` lower-cases and writes umlauts as digraphs (ä→ae, ö→oe, ü→ue, ß→ss; other accents
dropped), so "Hämoglobin" and "Haemoglobin" meet. `tokens` also splits on punctuation and
appends the expansion of known abbreviations after the abbreviation itself.

Source note for ABBREVIATIONS: common German laboratory short names as used in German and
Austrian lab reports and the ELGA Laborparameter list (e.g. Hb, BZ, GOT/GPT, Krea), with the
English component names used by LOINC (Hemoglobin, Glucose, AST/ALT, Creatinine) and the
German names of the LOINC German linguistic variant. Hand-written and generic; not derived
from any evaluation set.
"""

from __future__ import annotations

import re
import unicodedata

_DIGRAPHS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "œ": "oe"})

# "i.S." style specimen suffixes, matched on folded text before punctuation is removed.
_SPECIMEN_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?<![a-z0-9])i\.\s*{abbr}\b\.?"), f" im {word} ")
    for abbr, word in (("s", "serum"), ("p", "plasma"), ("u", "urin"), ("b", "blut"),
                       ("liq", "liquor"), ("su", "sammelurin"), ("vb", "vollblut"))
)

_SPLIT = re.compile(r"[^a-z0-9]+")

ABBREVIATIONS: dict[str, str] = {
    "bb": "blutbild blood count",
    "diffbb": "differentialblutbild differential",
    "hb": "haemoglobin hemoglobin",
    "hgb": "haemoglobin hemoglobin",
    "hkt": "haematokrit hematocrit",
    "hct": "haematokrit hematocrit",
    "ery": "erythrozyten erythrocytes",
    "erys": "erythrozyten erythrocytes",
    "leuko": "leukozyten leukocytes",
    "leukos": "leukozyten leukocytes",
    "thrombo": "thrombozyten platelets",
    "thrombos": "thrombozyten platelets",
    "plt": "platelets thrombozyten",
    "wbc": "leukocytes leukozyten",
    "rbc": "erythrocytes erythrozyten",
    "mcv": "erythrocyte mean corpuscular volume",
    "mch": "erythrocyte mean corpuscular hemoglobin",
    "mchc": "erythrocyte mean corpuscular hemoglobin concentration",
    "bz": "blutzucker glukose glucose",
    "glu": "glukose glucose",
    "crp": "c reaktives protein c reactive protein",
    "got": "aspartataminotransferase aspartate aminotransferase ast",
    "ast": "aspartataminotransferase aspartate aminotransferase",
    "asat": "aspartataminotransferase aspartate aminotransferase",
    "gpt": "alaninaminotransferase alanine aminotransferase alt",
    "alt": "alaninaminotransferase alanine aminotransferase",
    "alat": "alaninaminotransferase alanine aminotransferase",
    "ggt": "gamma glutamyltransferase",
    "gammagt": "gamma glutamyltransferase",
    "ap": "alkalische phosphatase alkaline phosphatase",
    "alp": "alkaline phosphatase alkalische phosphatase",
    "ldh": "laktatdehydrogenase lactate dehydrogenase",
    "ck": "kreatinkinase creatine kinase",
    "tsh": "thyrotropin thyreoidea stimulierendes hormon",
    "ft3": "triiodothyronine free",
    "ft4": "thyroxine free",
    "krea": "kreatinin creatinine",
    "kreat": "kreatinin creatinine",
    "crea": "kreatinin creatinine",
    "hst": "harnstoff urea",
    "bun": "urea nitrogen harnstoff",
    "hs": "harnsaeure urate",
    "na": "natrium sodium",
    "k": "kalium potassium",
    "cl": "chlorid chloride",
    "ca": "calcium kalzium",
    "mg": "magnesium",
    "phos": "phosphat phosphate",
    "fe": "eisen iron",
    "chol": "cholesterin cholesterol",
    "tg": "triglyceride triglyceride",
    "hdl": "hdl cholesterol",
    "ldl": "ldl cholesterol",
    "inr": "inr coagulation",
    "ptt": "partielle thromboplastinzeit aptt",
    "aptt": "aptt partial thromboplastin time",
    "bsg": "blutsenkung erythrocyte sedimentation rate",
    "hba1c": "haemoglobin a1c hemoglobin a1c",
    "psa": "prostataspezifisches antigen prostate specific",
    "ak": "antikoerper antibody",
    "ag": "antigen",
    "bili": "bilirubin",
    "alb": "albumin",
    "lipa": "lipase",
    "amyl": "amylase",
    "spez": "spezifisch",
    "quant": "quantitativ",
    "qual": "qualitativ",
    "konz": "konzentration",
    "ser": "serum",
    "pl": "plasma",
    "bld": "blut blood",
    "csf": "liquor cerebrospinal",
}


def fold(text: str) -> str:
    """Lower-case; umlauts and ß as digraphs; other diacritics removed."""
    text = text.lower().translate(_DIGRAPHS)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def base_tokens(text: str) -> list[str]:
    """Folded word tokens without abbreviation expansion ("i.S." still becomes "im serum")."""
    folded = fold(text)
    for pattern, replacement in _SPECIMEN_PHRASES:
        folded = pattern.sub(replacement, folded)
    return [t for t in _SPLIT.split(folded) if t]


def tokens(text: str) -> list[str]:
    """Folded word tokens; each known abbreviation is followed by its expansion."""
    out: list[str] = []
    for tok in base_tokens(text):
        out.append(tok)
        expansion = ABBREVIATIONS.get(tok)
        if expansion:
            out.extend(t for t in expansion.split() if t != tok)
    return out


def normalize(text: str) -> str:
    """The folded, tokenised, abbreviation-expanded text as one space-separated string."""
    return " ".join(tokens(text))
