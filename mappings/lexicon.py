"""A German → English lexicon per LOINC axis, learnt from LOINC's own German variants.

LOINC's linguistic variants name the same codes in German (deDE15: the six axes and a long
name per code; deAT24: a display name per code and, for some, the axes). Aligning German and
English axis values of the same code gives two tables, both with counts and a confidence:

- words: a German word → English words. Per axis the German and English values are split into
  words (mappings.normalize.base_tokens); words both sides spell alike (the same fold or
  spelling skeleton, or close by rapidfuzz ratio) are cognates and leave; the remaining German
  words are paired with the remaining English words by how often they occur together
  (Dice coefficient over all codes), and a German word left alone with an English phrase is
  paired with that phrase ("Harnstoff" → urea, "Gesamt" → total, "Blutgruppe" → "blood group").
- values: a German axis value → LOINC axis codes ("Serum" → SYSTEM Ser, "Massenkonzentration"
  → PROPERTY MCnc, "24 Stunden" → TIME_ASPCT 24H, "Pleuraflüssigkeit" → SYSTEM Plr fld).

No hand list and no gold row: `derive` is a pure function over aligned pairs; `pairs_from_names`
makes them from a German long name and the English long name and axis properties of the same
code (what the store holds once a variant is loaded as designations), `pairs_from_variant` from
a variant row and the LOINC table row (the axis columns, when the variant has them). German
compounds are split into learnt words at query time (mappings.suggest.split_compound). Allergen
codes of the Austrian display names ("IgE f13 Erdnuss") are learnt apart (`codes`:
mappings.allergens).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import orjson
from rapidfuzz import fuzz

from mappings.allergens import code_pairs, learn_codes
from mappings.normalize import base_tokens, fold, skeleton, spelling

__all__ = ["AXES", "FORMAT", "Lexicon", "Pair", "derive", "from_json", "name_segments",
           "pairs_from_names", "pairs_from_variant", "suffix_rules", "to_json"]

#: The learnt lexicon's format: a lexicon kept in the database under another one is learnt anew
#: (bump it whenever `derive` or the pairs it is given change).
FORMAT = 11

#: LOINC axes (columns of the LOINC table and of the variants), in their order.
AXES = ("COMPONENT", "PROPERTY", "TIME_ASPCT", "SYSTEM", "SCALE_TYP", "METHOD_TYP")
#: (axis, German text, English text, kind): kind "words" aligns words, "value" maps the whole
#: German text to an axis code.
Pair = tuple[str, str, str, str]
#: Least Dice association and co-occurrences for a learnt word pair.
MIN_DICE = 0.3
MIN_COUNT = 2
#: An English word on more than this share of an axis's names is a structure word there.
RESIDUAL_FREQUENT = 0.01
#: The confidence of a residual pairing (one name or a few, nothing else to explain them).
RESIDUAL_CONFIDENCE = 0.5
#: The most English words a residual pairing takes ("FSME" → european tick borne encephalitis).
RESIDUAL_WORDS = 4
#: German plural and case endings, longest first (Lexicon.entries tries the stem without).
ENDINGS = ("es", "em", "en", "er", "e", "n", "s")
#: Least number of word pairs behind a learnt suffix correspondence ("itaet" → "ity").
MIN_SUFFIX_PAIRS = 3
#: The least rapidfuzz ratio at which a search matches two spellings by itself (close_tokens).
LOOSE_RATIO = 84
#: A short form is learnt when one word holds this share of its expansions.
ABBREVIATION_SHARE = 0.6
#: Function words of each language, left out when words are aligned: apart, because a word
#: of one is a content word of the other (English "AM" of "3 AM specimen" is German "am";
#: dropped from both, German "Uhr" paired with "PM" alone).
_GERMAN_FUNCTION = frozenset("in im mit durch von der die das des dem den und oder fuer pro "
                             "als zu auf bei nach an am".split())
_ENGLISH_FUNCTION = frozenset("in of by with and or for the to at on from per".split())
# long names: COMPONENT [PROPERTY] in SYSTEM by METHOD (German: "in" / "im", "mit")
# an allergen component as the WHO/IUIS nomenclature names it: "nAra h", "rBet v 1", "nActd5"
_COMPONENT_NAME = re.compile(r"\b[rn][A-Z][a-z]{2,3} ?[a-z](?: ?\d+(?:\.\d+)?)?\b")
_DIGITS = re.compile(r"\d")
_EN_NAME = re.compile(r"^(?P<COMPONENT>.+?)(?: \[(?P<PROPERTY>[^\]]+)\])?"
                      r"(?: in (?P<SYSTEM>.+?))?(?: by (?P<METHOD_TYP>.+))?$")
_DE_NAME = re.compile(r"^(?P<COMPONENT>.+?)(?: \[(?P<PROPERTY>[^\]]+)\])?"
                      r"(?: i[nm] (?P<SYSTEM>.+?))?(?: mit (?P<METHOD_TYP>.+))?$")


@dataclass(frozen=True, slots=True)
class Entry:
    """English words for a German word, learnt on `axis`: seen `count` times together,
    `confidence` the share of the German word's occurrences."""

    english: tuple[str, ...]
    axis: str
    count: int
    confidence: float


@dataclass(slots=True)
class Lexicon:
    """German word → English words (`words`), German axis value → LOINC codes (`values`)."""

    words: dict[str, tuple[Entry, ...]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    value_words: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    pairs: int = 0
    #: German short form → the German word it abbreviates ("kap" → kapillarblut), learnt
    #: from related names (RELATEDNAMES2) aligned with the display name of the same code
    abbreviations: dict[str, str] = field(default_factory=dict)
    #: German word ending → English word endings, in `spelling` ("itaet" → "iti":
    #: Viskosität/viscosity), learnt from aligned word pairs of one meaning (suffix_rules)
    suffixes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: allergen code → the words of its English allergen ("f13" → peanut), learnt from the
    #: German display names of allergy terms (mappings.allergens)
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.words)

    def entries(self, token: str) -> tuple[Entry, ...]:
        """Entries of a folded German token, then those of its stem without a plural or case
        ending ("freies" → frei: free; "katzen" → katze), the better attested stem first
        when the token's own entries rest on fewer names."""
        found = self.words.get(token, ())
        if len(token) > 4:
            for ending in ENDINGS:
                stem = token[:-len(ending)]
                if token.endswith(ending) and stem in self.words:
                    more = tuple(e for e in self.words[stem] if e not in found)
                    if not found or max(e.count for e in more or found) \
                            > max(e.count for e in found):
                        return more + found
                    return found + more
        return found

    def english(self, token: str, min_confidence: float = 0.25) -> tuple[str, ...]:
        """English words for a folded German token (the best entries), () if none; a learnt
        abbreviation gives the German word it stands for and that word's English words."""
        out: list[str] = []
        entries = self.entries(token)
        if not entries and token in self.abbreviations:
            full = self.abbreviations[token]
            return (full, *(w for w in self.english(full, min_confidence) if w != full))
        for e in entries:
            if e.confidence >= min_confidence:
                out.extend(w for w in e.english if w not in out)
        return tuple(out)

    def known(self, token: str) -> bool:
        return token in self.words

    def value(self, axis: str, text: str) -> dict[str, float]:
        """LOINC `axis` codes for a German text (the whole folded text, else the values holding
        its words), weight = share of the best code's count."""
        key = " ".join(base_tokens(text))
        counts = self.values.get(axis, {}).get(key)
        if counts is None:
            words = self.value_words.get(axis, {})
            merged: Counter[str] = Counter()
            for tok in key.split():
                if tok in _GERMAN_FUNCTION:
                    continue
                # a compound the values do not hold: its longest known tail, the German head
                # word ("Vollblut" → Blut, "Sammelurin" → Urin)
                tail = next((tok[i:] for i in range(len(tok) - 3) if tok[i:] in words), "")
                merged.update(words.get(tail, {}))
            counts = dict(merged)
        if not counts:
            return {}
        top = max(counts.values())
        return {code: n / top for code, n in counts.items() if n / top >= 0.2}


@lru_cache(maxsize=200_000)
def _cognate(g: str, e: str) -> bool:
    if g == e:
        return True
    if len(g) >= 4 and len(e) >= 4 and (skeleton(g) == skeleton(e)
                                        or fuzz.ratio(g, e) >= 80):
        return True
    return False


def _words(text: str, german: bool) -> list[str]:
    """The words of a name to align, without function words, numbers and allergen component
    names (WHO/IUIS: "nAra h", "rBet v1", "nActd5": a code, no word of either language)."""
    function = _GERMAN_FUNCTION if german else _ENGLISH_FUNCTION
    return [t for t in base_tokens(_COMPONENT_NAME.sub(" ", text))
            if t not in function and not t.isdigit()]


def _other_type(g: str, english: tuple[str, ...]) -> bool:
    """An English word that is the German word with another number ("IgG" → IgG4, "HIV1" →
    HIV): a number names another type, so the pairing is an artefact of two names that say
    the type differently, never a translation."""
    return len(english) == 1 and english[0] != g and _DIGITS.sub("", english[0]) == \
        _DIGITS.sub("", g)


def _part(g: str, e: str) -> bool:
    """A German word (5+ letters) that ends an English compound: "Virus" of "Cytomegalovirus"
    ("Zytomegalie-Virus") is its head word, explained by it, no translation (a first part,
    "Hanta" of "Hantavirus", still learns the compound)."""
    return len(g) >= 5 and len(e) > len(g) and e.endswith(g)


def derive(pairs: Iterable[Pair]) -> Lexicon:
    """The lexicon of aligned (axis, German, English, kind) pairs; see the module docstring."""
    together: dict[str, Counter[tuple[str, str]]] = {}
    german_n: Counter[tuple[str, str]] = Counter()
    english_n: Counter[tuple[str, str]] = Counter()
    phrases: dict[str, Counter[tuple[str, str]]] = {}
    values: dict[str, dict[str, Counter[str]]] = {}
    # the same German/English pair from many codes counts as often as it occurs: a value
    # shared by many codes is well attested
    repeated = Counter(p for p in pairs if p[1] and p[2])
    rests: list[tuple[str, list[str], list[str], int]] = []
    short: dict[str, Counter[str]] = {}
    whole: set[str] = set()  # words of the full names: a word of its own is no short form
    kin: set[tuple[str, str]] = set()  # German and English words spelt alike (cognates)
    loose: dict[str, Counter[str]] = defaultdict(Counter)  # cognates only rapidfuzz finds
    english_words: set[str] = set()
    codes: list[tuple[str, str]] = []
    for (axis, german, english, kind), k in repeated.items():
        if kind == "code":
            codes.append((german, english))
            continue
        if kind == "abbrev":
            whole.update(base_tokens(english))
            for t, w in _abbreviated(german, english):
                short.setdefault(t, Counter())[w] += k
            continue
        if kind == "value":
            key = " ".join(base_tokens(german))
            if key:
                values.setdefault(axis, {}).setdefault(key, Counter())[english] += k
            continue
        g_toks, e_toks = _words(german, True), _words(english, False)
        whole.update(g_toks)
        kin.update((g, e) for g in g_toks for e in e_toks if g != e and _cognate(g, e))
        english_words.update(e_toks)
        for g, e in _loose_cognates(g_toks, e_toks):
            loose[g][e] += k
        rest_g = [g for g in dict.fromkeys(g_toks)
                  if not any(_cognate(g, e) or _part(g, e) for e in e_toks)]
        rest_e = [e for e in dict.fromkeys(e_toks) if not any(_cognate(g, e) for g in g_toks)]
        for g in rest_g:
            german_n[(axis, g)] += k
        for e in rest_e:
            english_n[(axis, e)] += k
        if rest_g and rest_e:
            rests.append((axis, rest_g, rest_e, k))
        if rest_g and rest_e and len(rest_g) * len(rest_e) <= 16:
            counter = together.setdefault(axis, Counter())
            for g in rest_g:
                for e in rest_e:
                    counter[(g, e)] += k
            if len(rest_g) == 1 and 1 < len(rest_e) <= 3:
                phrases.setdefault(axis, Counter())[(rest_g[0], " ".join(rest_e))] += k
    lexicon = Lexicon(pairs=sum(repeated.values()))
    found: dict[str, list[Entry]] = {}
    for axis, counter in together.items():
        best: dict[str, list[tuple[float, str, int]]] = {}
        for (g, e), c in counter.items():
            dice = 2 * c / (german_n[(axis, g)] + english_n[(axis, e)])
            if c >= MIN_COUNT and dice >= MIN_DICE:
                best.setdefault(g, []).append((dice, e, c))
        for (g, phrase), c in phrases.get(axis, Counter()).items():
            share = c / german_n[(axis, g)]
            if c >= MIN_COUNT and share >= 0.5:
                best.setdefault(g, []).append((share, phrase, c))
        for g, options in best.items():
            options.sort(key=lambda o: (-o[0], -o[2], o[1]))
            top = options[0][0]
            for score, words, c in options[:3]:
                if score >= 0.6 * top:
                    found.setdefault(g, []).append(
                        Entry(tuple(words.split()), axis, c, round(c / german_n[(axis, g)], 3)))
    # a word spelt as an English word or paired with its cognate in other names ("ratio",
    # "kreatinin": creatinine) is found by its spelling: a residual pairing of it is noise
    cognates = english_words | {g for g, _ in kin}
    for g, (left, n) in _residuals(rests, found, german_n, english_n).items():
        if g not in cognates:
            found.setdefault(g, []).append(Entry(left, "RESIDUAL", n, RESIDUAL_CONFIDENCE))
    for g, (e, c, share) in _loose_entries(loose, found, english_words).items():
        found[g] = [Entry((e,), "COGNATE", c, share)]
    for g, entries in found.items():
        entries = [e for e in entries if not _other_type(g, e.english)]
        entries.sort(key=lambda e: (-e.confidence, -e.count))
        if entries:
            lexicon.words[g] = tuple(entries)
    for t, fulls in short.items():
        (w, c), = fulls.most_common(1)
        if c >= MIN_COUNT and c >= ABBREVIATION_SHARE * sum(fulls.values()) \
                and t not in lexicon.words and t not in whole:
            lexicon.abbreviations[t] = w
    lexicon.codes = learn_codes(codes)
    lexicon.suffixes = suffix_rules(kin | {(g, e.english[0]) for g, entries in found.items()
                                           for e in entries if len(e.english) == 1})
    lexicon.values = {axis: {k: dict(v) for k, v in table.items()}
                      for axis, table in values.items()}
    for axis, table in values.items():
        by_word = lexicon.value_words.setdefault(axis, {})
        for key, counts in table.items():
            for tok in set(key.split()):
                merged = by_word.setdefault(tok, {})
                for code, c in counts.items():
                    merged[code] = merged.get(code, 0) + c
    return lexicon


def _loose_cognates(g_toks: list[str], e_toks: list[str]) -> Iterator[tuple[str, str]]:
    """(German, English) words of two aligned names spelt alike only loosely: a rapidfuzz
    ratio of 80..84 ("borrelien"/"borrelia", "makrele"/"mackerel"), not one spelling
    skeleton, of one beginning and length, neither holding the other: a search's close
    spellings (mappings.suggest, 84+) miss them, so the lexicon keeps them."""
    for g in dict.fromkeys(g_toks):
        if len(g) < 5 or not g.isalpha() or g in e_toks:
            continue
        for e in dict.fromkeys(e_toks):
            a, b = spelling(g), spelling(e)
            # a compound's part ("agardiffusion"/"diffusion") or a longer name
            # ("haemoglobin"/"methemoglobin") is another word
            if len(e) >= 4 and e.isalpha() and skeleton(g) != skeleton(e) \
                    and a not in b and b not in a and abs(len(a) - len(b)) <= 3 \
                    and a[:3] == b[:3] and 80 <= fuzz.ratio(g, e) < LOOSE_RATIO:
                yield g, e


def _loose_entries(loose: Mapping[str, Counter[str]], found: Mapping[str, list[Entry]],
                   english: set[str]) -> dict[str, tuple[str, int, float]]:
    """German word → (English word, count, share) of the loose cognates (_loose_cognates)
    of words nothing else translates and no English name uses ("chlamydia"), when one
    English word holds most of their pairings (one name is enough: the spelling vouches)."""
    out: dict[str, tuple[str, int, float]] = {}
    for g, partners in loose.items():
        (e, c), = partners.most_common(1)
        share = c / sum(partners.values())
        if g not in found and g not in english and share >= 0.5:
            out[g] = (e, c, round(share, 3))
    return out


def suffix_rules(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """German → English word endings that aligned words of one meaning show (in `spelling`,
    after a common beginning of 4+ letters: "viskositaet"/"aktivitaet" and "viscosity"/
    "activity" give "itaet" → "iti"; "kalkuliert"/"calculated" give "iert" → "ated"), each
    seen in MIN_SUFFIX_PAIRS distinct word pairs or more, the most frequent English first."""
    counts: Counter[tuple[str, str]] = Counter()
    for g, e in set(pairs):
        a, b = spelling(g), spelling(e)
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        # an ending, not a word: "zellen" → "" is a compound's part ("Plasmazellen")
        if n >= 4 and a[n:] and len(a) - n <= 6 and len(b) - n <= 6 and (
                b[n:] or len(a) - n <= 2):
            counts[(a[n:], b[n:])] += 1
    rules: dict[str, list[str]] = {}
    for (g_end, e_end), c in sorted(counts.items(), key=lambda x: (-x[1], x[0])):
        if c >= MIN_SUFFIX_PAIRS:
            rules.setdefault(g_end, []).append(e_end)
    return {g_end: tuple(e_ends) for g_end, e_ends in rules.items()}


def _abbreviated(short: str, full: str) -> Iterator[tuple[str, str]]:
    """(short form, word) of two names of one code: each word of the short name that is not
    in the full name and begins exactly one of the full name's other words ("Metamyeloz. rel."
    / "Metamyelozyten relativ": metamyeloz → metamyelozyten)."""
    s_toks, f_toks = base_tokens(short), base_tokens(full)
    s_set, f_set = set(s_toks), set(f_toks)
    for t in dict.fromkeys(s_toks):
        if t in f_set or not t.isalpha() or not 2 <= len(t) <= 10:
            continue
        fits = [w for w in dict.fromkeys(f_toks)
                if w not in s_set and len(w) >= len(t) + 2 and w.startswith(t)]
        if len(fits) == 1:
            yield t, fits[0]


def _residuals(rests: list[tuple[str, list[str], list[str], int]],
               found: Mapping[str, list[Entry]], german_n: Counter[tuple[str, str]],
               english_n: Counter[tuple[str, str]]) -> dict[str, tuple[tuple[str, ...], int]]:
    """German words the association pass left out (seen too rarely: a single allergen, drug or
    organism), paired with what is left of the English side of their names once everything
    else is explained: German words the learnt entries translate take their English words
    with them, and English words frequent on their axis (LOINC's structure words: "ab",
    "units", "volume", "serum") leave. A name left with one unknown German word and one to
    three English words pairs them ("IgE t3 Birke" / "Silver Birch IgE Ab [Units/volume] in
    Serum": birke → silver birch). Kept when the word's residual pairings agree (one phrase
    holds at least half of them); code-like tokens (letters and digits: "f13", "t3") and
    words of three letters or fewer are never paired and do not count as left."""
    per_axis: Counter[str] = Counter()
    for axis, _, _, k in rests:
        per_axis[axis] += k
    votes: dict[str, Counter[tuple[str, ...]]] = {}
    for axis, rest_g, rest_e, k in rests:
        frequent = max(RESIDUAL_FREQUENT * per_axis[axis], 20)
        left_e = [e for e in rest_e if english_n[(axis, e)] < frequent]
        left_g: list[str] = []
        for g in rest_g:
            known = {w for entry in found.get(g, ()) for w in entry.english}
            if known & set(left_e):
                left_e = [e for e in left_e if e not in known]
            elif len(g) >= 4 and g.isalpha() and german_n[(axis, g)] < frequent:
                left_g.append(g)
        if len(left_g) == 1 and 1 <= len(left_e) <= RESIDUAL_WORDS:
            votes.setdefault(left_g[0], Counter())[tuple(left_e)] += k
    out: dict[str, tuple[tuple[str, ...], int]] = {}
    for g, phrases in votes.items():
        (phrase, c), = phrases.most_common(1)
        known = {w for entry in found.get(g, ()) for w in entry.english}
        if 2 * c >= sum(phrases.values()) and not set(phrase) <= known:
            out[g] = (phrase, c)
    return out


def to_json(lexicon: Lexicon) -> bytes:
    """The lexicon as JSON (kept in the database for every process: from_json)."""
    return orjson.dumps({
        "format": FORMAT, "pairs": lexicon.pairs, "values": lexicon.values,
        "value_words": lexicon.value_words, "abbreviations": lexicon.abbreviations,
        "suffixes": lexicon.suffixes, "codes": lexicon.codes,
        "words": {g: [[list(e.english), e.axis, e.count, e.confidence] for e in entries]
                  for g, entries in lexicon.words.items()}})


def from_json(raw: bytes | str) -> Lexicon | None:
    """The lexicon `to_json` wrote, or None when it is of another FORMAT or unreadable."""
    try:
        data = orjson.loads(raw)
        if data.get("format") != FORMAT:
            return None
        return Lexicon(
            words={g: tuple(Entry(tuple(e[0]), e[1], int(e[2]), float(e[3])) for e in entries)
                   for g, entries in data["words"].items()},
            values=data["values"], value_words=data["value_words"], pairs=int(data["pairs"]),
            abbreviations=dict(data["abbreviations"]),
            suffixes={k: tuple(v) for k, v in data["suffixes"].items()},
            codes={k: tuple(v) for k, v in data["codes"].items()})
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, AttributeError):
        return None


def name_segments(name: str, german: bool) -> dict[str, str]:
    """A LOINC long name cut into its axis parts: COMPONENT [PROPERTY] in SYSTEM by METHOD."""
    m = (_DE_NAME if german else _EN_NAME).match(name.strip())
    return {k: v for k, v in m.groupdict().items() if v} if m else {}


def pairs_from_names(german: str, english: str, properties: Mapping[str, str]
                     ) -> Iterator[Pair]:
    """Aligned pairs from a German long name and the English long name and axis properties
    (COMPONENT, PROPERTY, SYSTEM, METHOD_TYP, TIME_ASPCT) of the same code. Names whose parts
    do not correspond give one pair of the whole names."""
    de, en = name_segments(german, True), name_segments(english, False)
    if set(de) != set(en):
        yield ("NAME", german, english, "words")
        return
    for axis, text in de.items():
        yield (axis, text, en[axis], "words")
        code = properties.get(axis)
        if code and axis != "COMPONENT":
            yield (axis, text, code, "value")
    timing = properties.get("TIME_ASPCT")
    if timing and timing != "Pt" and "SYSTEM" in de:
        yield ("TIME_ASPCT", de["SYSTEM"], timing, "value")


def pairs_from_variant(row: Mapping[str, str], english: Mapping[str, str]) -> Iterator[Pair]:
    """Aligned pairs from a variant row and the LOINC table row of the same code: each axis
    column German → English code (and COMPONENT and METHOD_TYP words), the long names, and a
    display name without long name against the English long name."""
    for axis in AXES:
        g, e = row.get(axis) or "", english.get(axis) or ""
        if g and e:
            yield (axis, g, e, "value")
            if axis in ("COMPONENT", "METHOD_TYP"):
                yield (axis, g.replace(".", " "), e.replace(".", " "), "words")
    long_en = english.get("LONG_COMMON_NAME") or ""
    if row.get("LONG_COMMON_NAME") and long_en:
        yield from pairs_from_names(row["LONG_COMMON_NAME"], long_en, english)
    elif row.get("LinguisticVariantDisplayName") and long_en:
        yield ("NAME", row["LinguisticVariantDisplayName"], long_en, "words")
    if row.get("LinguisticVariantDisplayName") and long_en:
        for code, name in code_pairs(row["LinguisticVariantDisplayName"], long_en, english):
            yield ("CODE", code, name, "code")


def is_german(language: str | None) -> bool:
    return bool(language) and fold(language or "").startswith("de")


def pairs_from_texts(display: str, texts: Iterable[tuple[str, str]],
                     properties: Mapping[str, str]) -> Iterator[Pair]:
    """Aligned pairs from a stored LOINC term: its English long name (`display`), its German
    designations labelled "<language> <use code>" (a German LONG_COMMON_NAME is aligned part
    by part, a German display name as a whole) and its axis `properties`; a German related
    name (RELATEDNAMES2) against the German names of its language gives short forms
    ("abbrev")."""
    names: dict[str, list[str]] = {}
    related: list[tuple[str, str]] = []
    for text, label in texts:
        language, _, use = label.partition(" ")
        if not is_german(language) or not text:
            continue
        if use == "LONG_COMMON_NAME":
            yield from pairs_from_names(text, display, properties)
            names.setdefault(language, []).append(text)
        elif use == "LinguisticVariantDisplayName":
            yield ("NAME", text, display, "words")
            for code, name in code_pairs(text, display, properties):
                yield ("CODE", code, name, "code")
            names.setdefault(language, []).append(text)
        elif use == "RELATEDNAMES2":
            related.append((language, text))
    for language, text in related:
        for name in names.get(language, ()):
            yield ("ABBR", text, name, "abbrev")
