"""German-aware text normalisation for matching local lab names against target terms.

`fold` lower-cases and writes umlauts as digraphs (ä→ae, ö→oe, ü→ue, ß→ss; other accents
dropped), so "Hämoglobin" and "Haemoglobin" meet: termserver.textfold_extra.spell_fold, which
agrees with the text index of the store (termserver.textfold); `index_word` is a token's key
in that index. `tokens` also splits on punctuation and
appends the expansion of known abbreviations after the abbreviation itself.

Source note for ABBREVIATIONS: common German laboratory short names as used in German and
Austrian lab reports and the ELGA Laborparameter list (e.g. Hb, BZ, GOT/GPT, Krea), with the
English component names used by LOINC (Hemoglobin, Glucose, AST/ALT, Creatinine) and the
German names of the LOINC German linguistic variant. Hand-written and generic; not derived
from any evaluation set.

`query_tokens` rewrites a local name for matching: lab phrases to LOINC component words
(PHRASES: "Thyroid Stimulating Hormone" → thyrotropin, "Anti-X Antibody" → X ab, "Abnahme 3"
→ 3rd specimen, "60 min" → 1 hour, "-30 min" → 30 minutes pre, "16 Uhr" → 4 pm), "/U"-style
specimen suffixes to words (not after a single letter: "Influenza A/B"), and drops words
that only speak about the scale or method (abs., rel., mikr.: see mappings.hints). `skeleton`
is a spelling key on which German and English lab words meet (Leukozyten/leukocytes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from termserver.textfold_extra import index_word, spell_fold

__all__ = ["ABBREVIATIONS", "PAIR", "PHRASES", "STOP_WORDS", "base_tokens", "fold", "greek",
           "index_word", "normalize", "numeral_pairs", "roman_numerals",
           "query_tokens", "ROMAN", "same_stem", "skeleton", "spelling", "tokens", "word_tokens"]

#: Function words (German and English) that never select a target: left out of the index
#: query (mappings.textsearch), given almost no weight in the reranking and joined to no
#: other word (mappings.wordforms).
STOP_WORDS = frozenset((
    "im", "in", "i", "der", "die", "das", "des", "dem", "den", "und", "oder", "mit", "ohne",
    "von", "vom", "zu", "zur", "zum", "auf", "bei", "nach", "fuer", "pro", "per", "als",
    "of", "the", "and", "or", "with", "without", "by", "at", "to", "for", "on", "a", "an",
    "as", "from"))

# "i.S." style specimen suffixes, matched on folded text before punctuation is removed.
_SPECIMEN_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?<![a-z0-9])i\.\s*{abbr}\b\.?"), f" im {word} ")
    for abbr, word in (("s", "serum"), ("p", "plasma"), ("u", "urin"), ("b", "blut"),
                       ("liq", "liquor"), ("su", "sammelurin"), ("vb", "vollblut"))
)

_SPLIT = re.compile(r"[^a-z0-9]+")
#: Every ASCII character _SPLIT splits at, as a space.
_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if _SPLIT.match(chr(c))})

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
    # "Cr" on a lab report is creatinine ("BUN/Cr", "Albumin/Cr"); chromium is spelt out
    "cr": "creatinine kreatinin",
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
    "ak": "ab antikoerper",
    "ag": "antigen",
    "bili": "bilirubin",
    # the chemistry panel's bicarbonate is measured as total CO2 (LOINC "Carbon dioxide,
    # total"); LOINC has both, and a fluid or stool often only the total CO2 term
    "bicarbonate": "bicarbonate carbon dioxide total",
    "alb": "albumin",
    "lipa": "lipase",
    "amyl": "amylase",
    "spez": "spezifisch",
    "quant": "quantitativ",
    "qual": "qualitativ",
    "konz": "konzentration",
    "ser": "serum",
    "art": "arteriell arterial",
    "ven": "venoes venous",
    "kap": "kapillarblut capillary",
    "gev": "gemischt venoes mixed venous",
    "pl": "plasma",
    "bld": "blut blood",
    "csf": "liquor cerebrospinal",
}


#: The hepatitis B virus markers by their letter: HBs (surface), HBe, HBc (core).
_HBV_MARKERS = (("s", "surface"), ("e", "e"), ("c", "core"))
# English/German lab phrases → the LOINC component words (applied to folded query text)
PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])"), replacement)
    for pattern, replacement in (
        (r"thyroid stimulating hormone|thyreoidea stimulierendes hormon|tsh", "thyrotropin"),
        (r"follikel ?stimulierendes hormon|follicle stimulating hormone|fsh", "follitropin"),
        (r"luteinisierendes hormon|luteinizing hormone|lh", "lutropin"),
        (r"(human |beta |b )?chorionic gonadotropin|(beta[ -]?)?h?cg|choriongonadotropin",
         "choriogonadotropin"),
        # common English lab names for what LOINC names otherwise (general lab usage): growth
        # hormone is Somatotropin; transferrin saturation is serum iron/TIBC, LOINC's "Iron
        # saturation"; glycated haemoglobin is HbA1c (IFCC), LOINC's "Hemoglobin A1c"; the
        # monospot test detects heterophile antibodies (LOINC: "Heterophile Ab"); crenated red
        # cells are echinocytes (LOINC: "Burr cells"), teardrop cells "Dacrocytes"; rubeola is
        # measles (LOINC: "Measles virus")
        (r"(human )?growth hormone(?! ?releas)|hgh", "somatotropin"),
        (r"(transferrin|iron) sat(uration)?|tsat", "iron saturation"),
        (r"glycated (hemoglobin|haemoglobin|hgb|hb)|glyco ?hemoglobin", "hemoglobin a1c"),
        (r"mono ?spot( test)?|mononucleosis (screen|test)", "heterophile ab"),
        (r"crenated( red)?( blood)? (cells|rbcs?)|crenated erythrocytes", "burr cells"),
        (r"tear ?drop( red)?( blood)? (cells|rbcs?)", "dacrocytes"),
        (r"rubeola", "measles"),
        # brand names of drugs monitored in the lab, as LOINC names them (the generic name)
        (r"dilantin", "phenytoin"), (r"tegretol", "carbamazepine"), (r"lanoxin", "digoxin"),
        (r"depakote|depakene", "valproate"), (r"librium", "chlordiazepoxide"),
        (r"valium", "diazepam"), (r"xanax", "alprazolam"), (r"tylenol", "acetaminophen"),
        (r"uric acid|harnsaeure", "urate"),
        (r"valproic acid|valproinsaeure", "valproate"),
        (r"rapamycin", "sirolimus"),
        (r"marijuana|cannabis|thc", "cannabinoids"),
        (r"thyroid peroxidase|schilddruesenperoxidase|tpo", "thyroperoxidase"),
        (r"immun(?:o)?globulin(?:e)? ?([agmde])", r"ig\1"),
        (r"atypical lymphocytes|atypische lymphozyten|reactive lymphocytes", "variant lymphocytes"),
        (r"bands|stabkernige( granulozyten)?", "band form neutrophils"),
        # the differential's short plurals as LOINC's SHORTNAMEs write them ("Lymphs # Fld",
        # "Baso+Eos+Monos"): as a word of their own they name the cells, not a mix or a marker
        (r"lymphs", "lymphocytes"), (r"eos", "eosinophils"), (r"basos?", "basophils"),
        # the syphilis card test is named by its method (LOINC: "Reagin Ab … by RPR")
        (r"rapid plasma reagin( test)?", "reagin rpr"),
        (r"(free|ionized|ionised|ionisiertes|ionisiert) (calcium|kalzium)|(calcium|kalzium) "
         r"(ionized|ionisiert)", "calcium ionized"),
        (r"pep|eiweisselektrophorese|serumelektrophorese", "protein electrophoresis"),
        (r"total co2|tco2|gesamt co2", "carbon dioxide total"),
        (r"pco2", "carbon dioxide partial pressure"),
        (r"po2", "oxygen partial pressure"),
        (r"(o2|oxygen|sauerstoff)[ -]?(sat|saturation|saettigung)|so2", "oxygen saturation"),
        (r"o2 ?hb|oxyhaemoglobin|oxyhemoglobin|oxygeniertes haemoglobin", "oxyhemoglobin"),
        # glycated haemoglobin is LOINC's Hemoglobin A1c; fetal haemoglobin its Hemoglobin F
        (r"(?:glycated|glycosylated|glykiertes|glykosyliertes) (?:haemoglobin|hemoglobin|hb|hgb)",
         "hemoglobin a1c"),
        (r"(?:fetal|fetales|foetal) (?:haemoglobin|hemoglobin|hb|hgb)", "hemoglobin f"),
        (r"co ?hb|carboxyhaemoglobin|carboxyhemoglobin", "carboxyhemoglobin"),
        (r"met ?hb|methaemoglobin", "methemoglobin"),
        (r"alk(aline)? phos(phatase)?", "alkaline phosphatase"),
        (r"sgot", "aspartate aminotransferase"),
        (r"sgpt", "alanine aminotransferase"),
        (r"pt|prothrombin time|quick", "prothrombin time"),
        # LOINC names coagulation factor II "Prothrombin", but for its inhibitor
        (r"fa[ck]tor (?:ii|2)(?! (?:inhibitor|hemmkoerper))", "prothrombin"),
        (r"esr|sed rate|blutsenkung(sgeschwindigkeit)?", "erythrocyte sedimentation rate"),
        (r"rdw", "erythrocyte distribution width"),
        (r"mpv", "platelet mean volume"),
        (r"(red blood cells?|rbcs?)", "erythrocytes"),
        (r"(white blood cells?|wbcs?)", "leukocytes"),
        (r"platelet count|plt", "platelets"),
        (r"hdl( cholesterol)?|cholesterol,? hdl", "cholesterol in hdl"),
        (r"ldl( cholesterol)?|cholesterol,? ldl", "cholesterol in ldl"),
        (r"lactic acid|milchsaeure", "lactate"),
        (r"harnstoff[ -]?n|urea nitrogen|bun", "urea nitrogen"),
        (r"(gesamt)?eiweiss|total protein|protein,? total", "protein"),
        # the hepatitis B markers as one word ("HBsAg", "Anti-HBe", "HBc-Ak"): LOINC names
        # the virus and the antigen in full ("Hepatitis B virus surface Ag")
        *((rf"anti ?hb{k}(?: (?:ab|ak|antibody|antikoerper))?|hb{k} ?(?:ab|ak|antibody|"
           rf"antikoerper)", f"hepatitis b virus {name} ab") for k, name in _HBV_MARKERS),
        *((rf"hb{k} ?(?:ag|antigen)", f"hepatitis b virus {name} ag")
          for k, name in _HBV_MARKERS),
        (r"antibod(y|ies)|antikoerper", "ab"),
        (r"antigen", "ag"),
        # per body surface area: "/1.73m2 KO" (Körperoberfläche) as LOINC writes it
        (r"1 73? ?m2(?: ?ko)?", "1 73 sq m"),
        (r"1 ?(h|std|stunde)", "1 hour"),
        (r"(2|3) ?(h|std|stunden)", r"\1 hours"),
        # "basal" is the before-challenge sample; "nüchtern" (fasting) is never a challenge
        # timing: the learnt lexicon gives it (deAT24: nüchtern → fasting)
        # a sample before a named challenge ("basal (CRH-Test)"): LOINC's "--pre dose CRH"
        (r"basal ([a-z0-9]+?) ?test", r"pre dose \1"),
        (r"basal|baseline", "baseline"),
        # a stimulated sample is taken after a challenge: the German noun the lexicon learns
        # from LOINC's variant ("Stimulation" → challenge, post)
        (r"stimuliert(?:e|er|es)?|stim", "stimulation"),
        # vitamins as LOINC names them (by their chemical name)
        (r"vit(amin)? a", "retinol"),
        (r"vit(amin)? b ?1", "thiamine"),
        (r"vit(amin)? b ?2", "riboflavin"),
        (r"vit(amin)? b ?3|nicotinsaeure|nikotinsaeure|nicotinic acid", "niacin"),
        (r"vit(amin)? b ?5|pantothensaeure", "pantothenate"),
        (r"vit(amin)? b ?6", "pyridoxal phosphate"),
        (r"vit(amin)? b ?7|vit(amin)? h", "biotin"),
        (r"vit(amin)? b ?12", "cobalamin"),
        (r"vit(amin)? c|ascorbinsaeure|ascorbic acid", "ascorbate"),
        (r"vit(amin)? e", "alpha tocopherol"),
        (r"vit(amin)? k ?1", "phytonadione"),
        (r"vit(amin)? k", "phytonadione menadione"),
        (r"fols(ae|a)ure|folic acid", "folate"),
    ))
# minutes as LOINC writes a challenge's timing: whole quarter hours from an hour on in hours
# ("150 min" → 2.5 hours, as in "--2.5 hours post dose lactose PO"), else in minutes
_MINUTES = re.compile(r"(?<![a-z0-9.])(\d+) ?(min|minuten|minutes|m)(?![a-z0-9])")


def _minutes(m: re.Match[str]) -> str:
    n = int(m.group(1))
    if n == 0:  # the sample at the start of a challenge: "basal" (see PHRASES)
        return "basal"
    if n < 60 or n % 15:
        return f"{n} minutes"
    hours = f"{n / 60:g}"
    return "1 hour" if hours == "1" else f"{hours} hours"


_SPECIMEN_NUMBER = re.compile(r"(?<![a-z0-9])(abnahme|probe|specimen) ([1-9]\d*)(?![a-z0-9])")
# an acid named as the acid ("Pyruvic acid", "Citric acid") is named by LOINC as its anion
# (Pyruvate, Citrate): the IUPAC ending -ic acid is the salt's -ate
_IC_ACID = re.compile(r"(?<![a-z])([a-z]{3,})ic acids?(?![a-z])")
# a number sign and number closing the name ("Cortisol #7", "LH#4 (Luteinizing Hormone)")
# numbers the specimen of a series; before more words ("A. fumigatus #3 Ab") it numbers a kind
_NUMBER_SIGN = re.compile(r"#\s?([1-9]\d?)(?=\s*(?:[(,;:]|$))")


def _series(m: re.Match[str]) -> str:
    """A numbered specimen of a stimulation or suppression series: the first is drawn before
    the challenge (LOINC's "--baseline"), the n-th the (n-1)-th after it ("--2nd specimen
    post XXX challenge")."""
    n = int(m.group(1))
    return " baseline " if n == 1 else f" specimen {n - 1} post challenge "
# minutes before a challenge, written with a minus ("Cortisol -30 min"): LOINC's "30M pre"
_BEFORE = re.compile(r"(?<![a-z0-9])-\s?(\d+) ?(min|minuten|minutes)(?![a-z0-9])")
# a clock time ("16 Uhr", "8:00 Uhr"): LOINC names the sample by the 12-hour clock ("4 PM
# specimen"), LOINC's German variant by the 24-hour one ("16 Uhr")
_CLOCK = re.compile(r"(?<![a-z0-9])(\d{1,2})(?: 00)? uhr(?![a-z0-9])")


def _clock(m: re.Match[str]) -> str:
    hour = int(m.group(1))
    if hour > 24:
        return m.group(0)
    return f"{(hour - 1) % 12 + 1} {'pm' if 12 <= hour < 24 else 'am'}"


# a list of CD markers whose later numbers drop the "CD" ("CD19+5+", "CD56.16+CD3+"): each
# number is a marker of its own, as LOINC writes it ("CD5+CD19+")
_CD_LIST = re.compile(r"(?<![a-z0-9])cd\d+[+-]?(?:[.,/]?(?:cd)?\d+[+-])+")
_CD_NUMBER = re.compile(r"(?<![a-z0-9])(?<!cd)(\d+)(?=[+-])")


def _cd_list(m: re.Match[str]) -> str:
    return _CD_NUMBER.sub(r" cd\1", m.group(0).replace(".", " "))


def _ordinal(m: re.Match[str]) -> str:
    n = int(m.group(2))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix} specimen"

# German report abbreviations of the specimen after a slash: "Kalium /S", "Protein /U"
SPECIMEN_ABBREVIATIONS = {
    "u": "urin", "s": "serum", "p": "plasma", "b": "blut", "l": "liquor", "bn": "nabelschnur",
    "bco": "nabelschnur", "kf": "koerperfluessigkeit", "st": "stuhl", "su": "sammelurin",
    "pd": "peritonealdialysat", "pu": "punktat", "km": "knochenmark", "ppk": "perikard",
    "pp": "pleura", "pg": "gelenk", "asz": "aszites", "d": "dialysat", "sm": "sondermaterial",
    "as": "aszites", "sp": "sputum", "us": "urinsediment", "kb": "kapillarblut",
    "bv": "venoesblut", "bk": "kapillarblut", "fw": "fruchtwasser", "sw": "schweiss",
    "ej": "ejakulat", "bt": "trockenblut", "np": "nasopharyngealsekret", "ti": "gewebe",
    "n": "nasensekret", "rt": "respirationstrakt"}
_SLASH = re.compile(r"/\s*([a-z]{1,3})(?![a-z])")
# a single letter just before a slash: "A/B", "K/L" name a pair of types, not a specimen
PAIR = re.compile(r"(?:^|[^a-z0-9])[a-z]$")


def _slash(m: re.Match[str]) -> str:
    """A specimen abbreviation after a slash as its word ("/U" → urin); after a single
    letter ("Influenza A/B", "K/L") the slash joins a pair of types and stays."""
    if PAIR.search(m.string[:m.start()]):
        return m.group(0)
    return " " + SPECIMEN_ABBREVIATIONS.get(m.group(1), m.group(1))
# words only saying something about PROPERTY / SCALE / METHOD (see mappings.hints.axes)
# (an analyser's flag on a cell, "BasoFlg", reports the cell: mappings.hints.axes)
HINT_ONLY = frozenset("abs absolut rel relativ mi mikr ql qn qual quant ber best flg flag"
                      .split())
_ANTI = re.compile(r"(?<![a-z0-9])anti[ -](?=[a-z])")
# "Anti-HBs", "Anti-D" without an antibody word: the antibody to HBs, D; but not the anti-Xa /
# anti-IIa activity of coagulation, nor the anti-Müllerian hormone
_ANTI_TO = re.compile(r"(?<![a-z0-9])anti[ -](?!f?xa|f?iia|faktor|factor|muel|mul|thromb|"
                      r"plasmin|koag|coag)([a-z][a-z0-9]*)")


_SKELETON = (("ae", "e"), ("oe", "e"), ("ue", "u"), ("ph", "f"), ("th", "t"), ("k", "c"),
             ("z", "c"), ("y", "i"), ("ss", "s"))
_ENDING = re.compile(r"(es|en|e|s|n)$")


@lru_cache(maxsize=200_000)
def spelling(token: str) -> str:
    """A folded word with the letters German and English lab words spell apart made alike
    (ae/oe → e, ue → u, ph → f, th → t, k/z → c, y → i, ss → s), its ending kept."""
    t = token
    for a, b in _SKELETON:
        t = t.replace(a, b)
    return t


@lru_cache(maxsize=200_000)
def skeleton(token: str) -> str:
    """A spelling key on which German and English lab words meet: Leukozyten/leukocytes,
    Kreatinin/creatinine, Kalzium/calcium, Glukose/glucose."""
    t = spelling(token)
    for _ in range(2):
        if len(t) > 5:
            t = _ENDING.sub("", t)
    return t


def same_stem(a: str, b: str) -> bool:
    """Long words that differ only in a short ending (-in/-ol, -e/-en, -um/-ium)."""
    if min(len(a), len(b)) < 8 or abs(len(a) - len(b)) > 2:
        return False
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= max(len(a), len(b)) - 3


def fold(text: str) -> str:
    """Lower-case; umlauts and ß as digraphs; other diacritics removed (spell_fold)."""
    return spell_fold(text)


def base_tokens(text: str) -> list[str]:
    """Folded word tokens without abbreviation expansion ("i.S." still becomes "im serum")."""
    return list(_base_tokens(text))


def word_tokens(text: str) -> tuple[str, ...]:
    """`base_tokens` uncached, for a text made on the way whose own result is cached."""
    folded = fold(text)
    if "i." in folded:  # each phrase begins so ("i.S."): most texts need none of them
        for pattern, replacement in _SPECIMEN_PHRASES:
            folded = pattern.sub(replacement, folded)
    if folded.isascii():  # as _SPLIT, faster
        return tuple(folded.translate(_SEPARATORS).split())
    return tuple(t for t in _SPLIT.split(folded) if t)


_base_tokens = lru_cache(maxsize=100_000)(word_tokens)


# Greek letters as LOINC spells them ("Interleukin 1 beta", "Beta-2-Microglobulin"); a "ß" that
# follows no letter ("Interleukin-1ß", "ß2-Mikroglobulin") is the Greek beta written with the
# German letter, not "ss" ("Schweiß")
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "κ": "kappa", "λ": "lambda",
          "ω": "omega", "Α": "alpha", "Β": "beta", "Γ": "gamma", "Δ": "delta"}
_GREEK_LETTER = re.compile(f"[{''.join(_GREEK)}]|(?<![^\\W\\d_])ß")


def greek(text: str) -> str:
    """Greek letters (and a "ß" after no letter) as their LOINC names: "TGF-β1" → "TGF- beta 1",
    "Interleukin-1ß" → "Interleukin-1 beta "."""
    return _GREEK_LETTER.sub(lambda m: f" {_GREEK.get(m.group(0), 'beta')} ", text)


def query_tokens(text: str) -> list[str]:
    """Tokens of a local name with lab phrases rewritten to LOINC words ("Thyroid Stimulating
    Hormone" → thyrotropin, "Anti-Nuclear Antibody" → nuclear ab)."""
    return list(_query_tokens(text))


#: An allergen component as the WHO/IUIS nomenclature writes it, its number run on ("rFel d4",
#: "nAra h9"): LOINC writes "Cat recombinant (rFel d) 4", the number a word of its own.
_ALLERGEN_NUMBER = re.compile(r"\b([rn][a-z]{3}) ([a-z])(\d{1,2})\b")


@lru_cache(maxsize=20_000)
def _query_tokens(text: str) -> tuple[str, ...]:
    folded = _NUMBER_SIGN.sub(_series, fold(greek(text)))
    folded = _SLASH.sub(_slash, _BEFORE.sub(r" \1 \2 pre ", folded))
    folded = _CD_LIST.sub(_cd_list, folded)
    folded = " ".join(t for t in base_tokens(folded) if t not in HINT_ONLY)
    folded = _ALLERGEN_NUMBER.sub(r"\1 \2 \3", folded)
    folded = _SPECIMEN_NUMBER.sub(_ordinal, folded)
    folded = _MINUTES.sub(_minutes, folded)
    folded = _CLOCK.sub(_clock, folded)
    for pattern, replacement in PHRASES:
        folded = pattern.sub(replacement, folded)
    folded = _IC_ACID.sub(r"\1ate", folded)
    if " ab" in f" {folded}" or " ak" in f" {folded}":
        folded = _ANTI.sub("", folded)
    else:
        folded = _ANTI_TO.sub(r"\1 ab", folded)
    return tuple(t for t in _SPLIT.split(folded) if t)


#: Roman numerals as LOINC writes numbered kinds ("Apolipoprotein A-I", "Procollagen type III",
#: "Coagulation factor VIII"), by value.
ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii")
_ROMAN = frozenset(ROMAN)
_LETTER_NUMBER = re.compile(r"^([a-z])(\d{1,2})$")


def numeral_pairs(toks: list[str] | tuple[str, ...]) -> set[tuple[str, str]]:
    """(word, Roman numeral) pairs a target text writes one after the other ("A-I": (a, i),
    "type III": (type, iii)): the numbered kinds LOINC names with a Roman numeral."""
    if _ROMAN.isdisjoint(toks):  # most texts
        return set()
    return {(a, b) for a, b in zip(toks, toks[1:], strict=False) if b in _ROMAN}


def roman_numerals(toks: list[str], pairs: set[tuple[str, str]] | frozenset[tuple[str, str]],
                   english: Callable[[str], tuple[str, ...]]) -> dict[str, str]:
    """Query tokens that number a kind LOINC numbers with a Roman numeral (`pairs`, from
    `numeral_pairs`), each with the numeral: "a1" → i ("Apolipoprotein A1": A-I), "3" after
    "typ" → iii (`english`: the lexicon's words for "typ": type)."""
    out: dict[str, str] = {}
    for k, tok in enumerate(toks):
        m = _LETTER_NUMBER.match(tok)
        head, number = (m.group(1), m.group(2)) if m else (toks[k - 1] if k else "", tok)
        if not number.isdigit() or not 0 < int(number) <= len(ROMAN) or not head:
            continue
        roman = ROMAN[int(number) - 1]
        if any((h, roman) in pairs for h in (head, *english(head))):
            out[tok] = roman
    return out


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
