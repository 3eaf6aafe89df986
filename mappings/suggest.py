"""Scored mapping suggestions for one local code: an in-memory index over target terms.

Candidates come from a token index (IDF-weighted coverage of the query's analyte words, close
spellings, abbreviations, Roman numerals), plus a rough SYSTEM/PROPERTY fit. The best
candidates are reranked with rapidfuzz over every text of the term (display, designations in
any language, LOINC COMPONENT, and a German component borrowed from translated terms with the
same COMPONENT) and the LOINC axes the query implies (mappings.hints: unit → PROPERTY/SCALE,
specimen, category and report abbreviations → SYSTEM, method words → METHOD, 24 h → TIME).
A small commonness prior (`_prior`) breaks ties. Each suggestion says why. `rank_candidates`
scores an explicit candidate list the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from mappings.allergens import expand_codes, mix_words
from mappings.anyspecimen import for_generic
from mappings.axisfit import FIT_AXES, axes_fit
from mappings.calibration import Conservative
from mappings.calibration_fit import FITTED
from mappings.cellstems import cell_stems
from mappings.compounds import lost_head
from mappings.coverage import coverage as coverage_of
from mappings.coverage import english_query
from mappings.detection import prefer_detection
from mappings.diversity import with_variants
from mappings.globulins import globulin_fraction
from mappings.glossary import GLOSSARY, glossary_words
from mappings.hints import (
    SPECIMEN_WORDS,
    Axes,
    axes,
    specimen_hint,
    unit_hint,
)
from mappings.immunoassay import immunoassay_axes
from mappings.lexicon import Lexicon
from mappings.microbiology import microbiology_axes
from mappings.normalize import (
    ABBREVIATIONS,
    base_tokens,
    query_tokens,
    roman_numerals,
    same_stem,
    skeleton,
    spelling,
)
from mappings.plurals import singular_alternatives
from mappings.scopewords import ScopeWords, learn_scope
from mappings.shortforms import split_case, with_long_forms
from mappings.terms import (
    Postings,
    TargetTerm,
    read_lab_orders,
    term_prior,
    term_row,
    terms_lexicon,
    with_lab_orders,
    with_translated_components,
)
from mappings.totalco2 import by_section
from mappings.units import plural_short, with_unit_words
from mappings.variants import (
    plain_components,
    prefer_first_made,
    prefer_plain_count,
    with_counterpart,
)
from mappings.wordforms import joined_words, nor_forms
from termserver.model import ConceptDetail

HINT_PROPERTIES = ("SYSTEM", "PROPERTY", "SCALE_TYP", "METHOD_TYP", "TIME_ASPCT",
                   "VersionFirstReleased", "ORDER_OBS", "CLASS")
__all__ = ["HINT_PROPERTIES", "LINKS", "RERANKED", "Suggestion", "TargetIndex", "TargetTerm",
           "compound_heads", "rank_candidates", "read_lab_orders", "specimen_hint", "suggest",
           "term_from_detail", "unit_hint", "with_lab_orders"]
#: German linking elements (Fugen) between the parts of a compound, longest first.
LINKS = ("es", "en", "er", "s", "n", "e")


def compound_heads(head: str) -> list[str]:
    """The first part of a compound as it may stand alone: itself, then without each linking
    element that leaves 4+ letters ("katzen" → katzen, katze, katz)."""
    return [head, *(head[:-len(link)] for link in LINKS
                    if head.endswith(link) and len(head) - len(link) >= 4)]

#: Candidates reranked per query (rapidfuzz text match and LOINC axes).
RERANKED = 300
# score weights: text (coverage, fuzzy text match, component coverage), prior, method penalty
W = {"cov": 0.6, "lex": 0.3, "comp": 0.1, "text": 0.7, "prior": 0.04, "lexclean": 1}
#: The confidence shown for a raw score (mappings.calibration_fit), None: the raw score.
CONFIDENCE: Conservative | None = Conservative.from_dict(FITTED) if FITTED else None


@dataclass(frozen=True, slots=True)
class Suggestion:
    code: str
    display: str
    score: float
    why: str
    #: the ranker's own score (`score` is its calibrated confidence, mappings.calibration)
    raw: float | None = None


def term_from_detail(detail: ConceptDetail) -> TargetTerm:
    """A TargetTerm from a store ConceptDetail: display, designations, COMPONENT, hints."""
    c = detail.concept
    display = c.display or c.code
    texts: list[tuple[str, str]] = [(display, "display")]
    for d in detail.designations:
        label = " ".join(x for x in (d.language, d.use_code) if x) or "designation"
        texts.append((d.value, label))
    props: dict[str, str] = {}
    for p in detail.properties:
        if p.property in HINT_PROPERTIES and p.value is not None:
            props[p.property] = str(p.value)
        elif p.property == "COMPONENT" and p.value:
            texts.append((str(p.value), "COMPONENT"))
    return TargetTerm(c.code, display, tuple(texts), props)


# --- the index ---------------------------------------------------------------------------

@lru_cache(maxsize=100_000)
def _trigrams(token: str) -> frozenset[str]:
    padded = f" {token} "
    return frozenset(padded[i:i + 3] for i in range(len(padded) - 2))


def _keyed(words: list[str], key: Callable[[str], str]) -> dict[str, list[str]]:
    """Words of 5+ letters by a spelling key (skeleton, spelling), in `words` order."""
    out: dict[str, list[str]] = {}
    for tok in words:
        if len(tok) >= 5:
            out.setdefault(key(tok), []).append(tok)
    return out


class TargetIndex:
    """Token + character-trigram index over target terms, all in memory."""

    def __init__(self, terms: Iterable[TargetTerm],
                 idf: Callable[[str], float] | None = None, lexicon: Lexicon | None = None,
                 glossary: bool = True, scope: ScopeWords | None = None) -> None:
        """`lexicon`: German → English words (mappings.lexicon); None: learnt from the
        terms' own German designations. `glossary`: also use mappings.glossary. `scope`:
        words learnt from the whole target scope (mappings.scopewords); None: from `terms`."""
        self.terms: list[TargetTerm] = with_translated_components(list(terms))
        self._idf_fn = idf
        self._idf_memo: dict[str, float] = {}  # the caller's idf, asked once per token
        self.lexicon = lexicon if lexicon is not None else terms_lexicon(self.terms)
        self.glossary = glossary
        rows = [term_row(t, bool(W["lexclean"])) for t in self.terms]
        self._norm: list[tuple[str, ...]] = [r.norms for r in rows]
        self._bare: list[tuple[tuple[int, str], ...]] = [r.bare for r in rows]  # no method
        self._component: list[frozenset[str]] = [r.component for r in rows]
        self._component_text: list[str] = [r.component_text for r in rows]
        # "A-I", "type III": numeral_pairs
        self._numerals: set[tuple[str, str]] = set().union(*(r.numerals for r in rows))
        self._post = Postings([r.words for r in rows])
        # shorter terms first among equal coverage: fewer tokens in the display
        self._brevity = np.array([1.0 / (1 + len(t.display.split())) for t in self.terms],
                                 dtype=np.float32)
        self._axis_ids: dict[str, dict[str, int]] = {}
        self._axis: dict[str, np.ndarray] = {}
        for axis in ("SYSTEM", "PROPERTY"):
            ids = self._axis_ids.setdefault(axis, {"": 0})
            self._axis[axis] = np.array(
                [ids.setdefault(t.properties.get(axis, ""), len(ids)) for t in self.terms],
                dtype=np.int32)
        self._prior = np.array([term_prior(t) for t in self.terms], dtype=np.float32)
        # learnt from the whole target scope, never from a short candidate list: given by
        # the database path (`rank_candidates`), else learnt here (mappings.scopewords)
        learnt = scope if scope is not None else learn_scope(
            self.terms, self._component, self._component_text, self.lexicon.known)
        self.scope = learnt
        self._method_words = learnt.method_words
        self._micro, self._susc = learnt.micro, learnt.susc  # mappings.microbiology
        self._acronyms = learnt.acronyms  # "ld"
        self._long_forms = learnt.long_forms  # "urn": urine
        self.system_short = learnt.system_short  # "Ur" → Urine: mappings.fluids
        # words LOINC leaves implied in a plain COMPONENT ("total"): mappings.variants
        self._implied = learnt.implied
        self._plain = np.array(plain_components(self._component_text), dtype=np.float32)
        self._mix_words = learnt.mix  # "allergen", "food": mappings.allergens
        self._single = mix_words([t.properties.get("CLASS", "") for t in self.terms],
                                 [t.display for t in self.terms], self._component_text)[1]
        self._generic = learnt.generic
        self._close_cache: dict[str, list[tuple[str, float]]] = {}

    # built when first asked (a query's candidate list often never asks)
    @cached_property
    def _vocab(self) -> list[str]:
        return sorted(self._post)

    @cached_property
    def _grams(self) -> dict[str, list[int]]:
        grams: dict[str, list[int]] = {}
        for vid, tok in enumerate(self._vocab):
            for g in _trigrams(tok):
                grams.setdefault(g, []).append(vid)
        return grams

    @cached_property
    def _skeletons(self) -> dict[str, list[str]]:
        return _keyed(self._vocab, skeleton)

    @cached_property
    def _spellings(self) -> dict[str, list[str]]:
        return _keyed(self._vocab, spelling)

    @classmethod
    def from_details(cls, details: Iterable[ConceptDetail]) -> TargetIndex:
        return cls(term_from_detail(d) for d in details)

    def __len__(self) -> int:
        return len(self.terms)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token: the caller's function, else this index's."""
        if self._idf_fn is not None:
            found = self._idf_memo.get(token)
            if found is None:
                found = self._idf_memo[token] = self._idf_fn(token)
            return found
        ids = self._post.get(token)
        n = max(len(self.terms), 1)
        return math.log(1 + n / len(ids)) if ids is not None else math.log(1 + n)

    def hint_vector(self, hint: Axes) -> np.ndarray:
        """A rough per-term score for SYSTEM and PROPERTY fit, to pick candidates."""
        out = np.zeros(len(self.terms), dtype=np.float32)
        for axis, wanted, strength in (("SYSTEM", hint.systems, 0.1),
                                       ("PROPERTY", dict.fromkeys(hint.properties, 1.0), 0.06)):
            if not wanted:
                continue
            ids = self._axis_ids[axis]
            table = np.full(len(ids), -0.5 * strength, dtype=np.float32)
            table[0] = 0.0
            for value, w in wanted.items():
                if value in ids:
                    table[ids[value]] = strength * w
            out += table[self._axis[axis]]
        return out

    def close_tokens(self, tok: str) -> list[tuple[str, float]]:
        """Vocabulary tokens matching `tok` with a similarity 0..1 (exact = 1)."""
        cached = self._close_cache.get(tok)
        if cached is not None:
            return cached
        found: dict[str, float] = {}
        if tok in self._post:
            found[tok] = 1.0
        if len(tok) >= 4:
            counts: dict[int, int] = {}
            for g in _trigrams(tok):
                for vid in self._grams.get(g, ()):
                    counts[vid] = counts.get(vid, 0) + 1
            need = max(2, len(tok) // 2)
            for vid, k in counts.items():
                if k < need:
                    continue
                cand = self._vocab[vid]
                r = fuzz.ratio(tok, cand) / 100
                if r >= 0.84 and cand not in found:
                    found[cand] = r * 0.95
                elif cand not in found and len(tok) >= 5 and (
                        cand.startswith(tok) or plural_short(tok, cand)):
                    found[cand] = 0.8
                elif cand not in found and same_stem(tok, cand):
                    found[cand] = 0.82  # German/English endings: cholesterin ~ cholesterol
        if len(tok) >= 5:
            for cand in self._skeletons.get(skeleton(tok), ()):
                found[cand] = max(found.get(cand, 0.0), 0.93)
        # ties (a short form begins many words) by how many targets use the word, then
        # alphabetically: never by set order, which changes with each process
        out = sorted(found.items(),
                     key=lambda x: (-x[1], -len(self._post.get(x[0], ())), x[0]))[:20]
        if len(self._close_cache) < 100_000:
            self._close_cache[tok] = out
        return out

    def _groups(self, text: str, specimen: frozenset[str] = frozenset()) -> list[list[str]]:
        """Query tokens grouped: each token with the tokens of its abbreviation expansion.
        Specimen words (and the words of the specimen given apart, `specimen`) and property
        words the targets use as method names ("screen", "count": `method_words`) name no
        analyte: they count only when nothing else is left."""
        groups: list[list[str]] = []
        toks = nor_forms(expand_codes(query_tokens(text), self.lexicon.codes, self._post),
                         self._post)  # "desmethyl…": nor… (mappings.wordforms)
        named = [t for t in toks if t not in SPECIMEN_WORDS and t not in specimen]
        analytes = [t for t in named if t not in self._method_words]
        romans = roman_numerals(toks, self._numerals, self.lexicon.english)
        for word in analytes or named or toks:
            parts = (self.split_compound(word) or lost_head(self.lexicon, word)
                     or self._acronym(word))
            for tok in parts or [word]:
                alts = [tok]
                expansion = ABBREVIATIONS.get(tok)
                if expansion:
                    alts.extend(t for t in expansion.split() if t != tok)
                if self.glossary:
                    alts.extend(t for t in glossary_words(tok) if t not in alts)
                alts.extend(t for t in self.lexicon.english(tok) if t not in alts)
                if len(alts) == 1 and tok not in self._post:  # "graeser": gras (grass)
                    alts.extend(singular_alternatives(self, tok) or self.cognates(tok))
                if parts and word in self._post:  # German names still match the whole word
                    alts.append(word)
                if tok in romans and romans[tok] not in alts:  # "A1": A-I
                    alts.append(romans[tok])
                groups.append(alts)
        return joined_words(groups, self._post, toks)  # "sulf hgb": sulfhgb

    def _acronym(self, word: str) -> list[str] | None:
        """The words of the component an unknown word is the initials of (mappings.acronyms)."""
        words = self._acronyms.get(word)
        return list(words) if words and not self._known(word) else None

    def cognates(self, tok: str) -> list[str]:
        """Target words an unknown German word becomes by a learnt suffix correspondence
        (Lexicon.suffixes: "viskositaet" → viscosity, "kalkuliert" → calculated), when no
        target word is spelt close to it already."""
        if len(tok) < 6 or not self.lexicon.suffixes or self.close_tokens(tok):
            return []
        s = spelling(tok)
        out: list[str] = []
        for i in range(4, len(s)):
            for end in self.lexicon.suffixes.get(s[i:], ()):
                out.extend(w for w in self._spellings.get(s[:i] + end, ()) if w not in out)
        return out

    def _known(self, word: str) -> bool:
        """A word of the targets' texts, the learnt lexicon or the German glossary."""
        return word in self._post or self.lexicon.known(word) or (
            self.glossary and word in GLOSSARY)

    def split_compound(self, tok: str, depth: int = 2) -> list[str] | None:
        """A German compound split into words the targets, the lexicon or the glossary hold
        ("thrombozytenaggregation" → thrombozyten aggregation), dropping a linking element
        (Fugen-s, -es, -n, -en, -e, -er: "plasminogenaktivatorinhibitor" → plasminogen
        aktivator inhibitor, "katzenepithelien" → katze epithelien); the most even split wins.
        A word the targets hold splits only into parts of 5+ letters, a glossary word (when
        the glossary is used) or an unknown word spelt like a target word never; an unknown
        word no split explains may leave an unknown part (_half_known); None if no split."""
        if len(tok) < 9 or not tok.isalpha() or (self.glossary and tok in GLOSSARY) \
                or self.lexicon.known(tok):
            return None
        known = self._known
        if depth == 2 and not known(tok) and self.close_tokens(tok):
            return None  # spelt like a target word: a cognate ("propionylkarnitin"), kept whole
        best: list[str] | None = None
        shortest = 5 if known(tok) else 4  # a known word splits into longer words only
        for i in range(shortest, len(tok) - shortest + 1):
            head, tail = self._head(tok[:i]), tok[i:]
            if head is None:
                continue
            rest = [tail] if known(tail) and len(tail) >= shortest else \
                self.split_compound(tail, depth - 1) if depth > 1 else None
            if rest and (best is None or min(len(head), *map(len, rest))
                         > min(map(len, best))):
                best = [head, *rest]
        if best is None and depth == 2 and not known(tok):
            return self._half_known(tok)
        return best

    def _half_known(self, tok: str) -> list[str] | None:
        """An unknown compound of one known word (5+ letters, the longest) and an unknown rest
        of 4+ letters ("weizenmehl" → weizen mehl): the known part still names the analyte."""
        best: tuple[int, list[str]] | None = None
        for i in range(4, len(tok) - 3):
            head, tail = self._head(tok[:i]), tok[i:]
            if head is not None and len(head) >= 5 and (best is None or len(head) > best[0]):
                best = (len(head), [head, tail])
            if self._known(tail) and len(tail) >= 5 and (best is None or len(tail) > best[0]):
                best = (len(tail), [tok[:i], tail])
        return best[1] if best else None

    def _head(self, head: str) -> str | None:
        """The first part of a compound as a known word: itself, or without a linking
        element ("katzen" → katze, "gelenks" → gelenk) when what is left has 4+ letters."""
        return next((h for h in compound_heads(head) if self._known(h)), None)

    def suggest(self, text: str, unit: str | None = None, specimen: str | None = None,
                limit: int = 5, category: str | None = None) -> list[Suggestion]:
        return suggest(self, text, unit=unit, specimen=specimen, limit=limit, category=category)


def as_read(text: str) -> str:
    """A local name as the ranker reads it before its words: a bare Greek letter as its
    globulin ("Beta": Beta globulin, mappings.globulins), a cell stem before a flag as the
    cell ("ErytFlg": erythrocytes, mappings.cellstems)."""
    return cell_stems(globulin_fraction(text))


def rank_candidates(terms: Sequence[TargetTerm], text: str, *, unit: str | None = None,
                    specimen: str | None = None, category: str | None = None,
                    limit: int = 5, idf: Callable[[str], float] | None = None,
                    lexicon: Lexicon | None = None, glossary: bool = True,
                    scope: ScopeWords | None = None) -> list[Suggestion]:
    """Score an explicit candidate list (e.g. from a database text index) like `suggest`.

    Coverage is computed over the candidates' own tokens; `idf(token)` comes from the caller
    (e.g. document frequencies of the whole target scope), else from the candidates; so are
    the `scope` words (mappings.scopewords: acronyms, short forms, …).
    """
    if not terms:
        return []
    index = TargetIndex(terms, idf=idf, lexicon=lexicon or Lexicon(), glossary=glossary,
                        scope=scope)
    return suggest(index, text, unit=unit, specimen=specimen, category=category, limit=limit)


def lexical_match(index: TargetIndex, order: Sequence[int], queries: Sequence[str],
                  bare: bool) -> list[tuple[float, int]]:
    """Per candidate term (`order`): the best text match 0..1 of any query form against any
    of its normalised texts (0.4 token-set + 0.6 token-sort ratio; with `bare`, a name that
    says a method in short ("mi.") is also compared with the texts without their method) and
    the index of that text (the first of equals). One rapidfuzz matrix for all pairs."""
    texts: dict[str, int] = {}  # each distinct text once (terms of one analyte share them)
    owner: list[tuple[int, int, int]] = []  # (candidate position, text index, distinct text)
    for k, i in enumerate(order):
        for j, norm in (*enumerate(index._norm[i]), *(index._bare[i] if bare else ())):
            owner.append((k, j, texts.setdefault(norm, len(texts))))
    out = [(0.0, 0)] * len(order)
    if not texts:
        return out
    forms = list(dict.fromkeys(queries))  # the forms are often alike (an English name)
    sets = process.cdist(forms, list(texts), scorer=fuzz.token_set_ratio, dtype=np.float64)
    sorts = process.cdist(forms, list(texts), scorer=fuzz.token_sort_ratio, dtype=np.float64)
    best = ((0.4 * sets + 0.6 * sorts).max(axis=0) / 100).tolist()
    for k, j, t in owner:
        if best[t] > out[k][0]:
            out[k] = (best[t], j)
    return out


def suggest(index: TargetIndex, text: str, unit: str | None = None,
            specimen: str | None = None, limit: int = 5,
            category: str | None = None) -> list[Suggestion]:
    """The best `limit` target terms for a local name, with a score 0..1 (the calibrated
    confidence that it is right, mappings.calibration_fit; `raw` the ranker's score) and why."""
    text = as_read(text)
    text = with_long_forms(split_case(text, lambda w: index._known(w) or w in ABBREVIATIONS
                                      or w in index._long_forms),  # "BasoFlg": Baso Flg
                           index._long_forms)  # LOINC's short forms: "Urn" → urine
    groups = by_section(index._groups(with_unit_words(text, unit),  # mappings.totalco2
                                      frozenset(base_tokens(specimen)) if specimen
                                      else frozenset()), category)
    if not groups or not index.terms:
        return []
    coverage, matched = coverage_of(index, groups)
    found = {tok for _, hits in matched for tok, _ in hits}
    hint = immunoassay_axes(microbiology_axes(
        axes(text, unit=unit, specimen=specimen, category=category, lexicon=index.lexicon,
             short=index.system_short),
        index._micro, index._susc, text, category, unit,
        index.lexicon.value_words.get("SYSTEM", {})), text, category)  # an index: by IA
    generic = for_generic(hint, index._generic)  # mappings.anyspecimen
    k = min(RERANKED, len(index.terms))
    pre = coverage + index.hint_vector(hint) + 0.02 * index._prior + 0.01 * index._brevity
    cand = np.argpartition(-pre, k - 1)[:k] if k < len(pre) else np.arange(k)
    cand = cand[coverage[cand] > 0]
    # each word once: a name given twice (a short and a long name) must not favour the
    # longer target names ("Buprenorphin /U … Buprenorphin /Urin" → not the mix "+Nor…")
    q_base = " ".join(dict.fromkeys(a[0] for a in groups))
    q_full = " ".join(dict.fromkeys(t for a in groups for t in a))
    q_english = english_query(index, groups)
    scored: list[tuple[float, int, str]] = []
    named: set[int] = set()  # candidates whose COMPONENT the name names in full
    order = cand.tolist()
    closest = lexical_match(index, order, (q_base, q_full, q_english), bool(hint.methods))
    facts: dict[int, tuple[float, float, float, int, list[str]]] = {}
    shares: dict[frozenset[str], float] = {}  # per COMPONENT (candidates share them)
    fits: dict[tuple[bool, tuple[str | None, ...]], tuple[float, list[str]]] = {}
    for i, (lex, best_j) in zip(order, closest, strict=True):
        term = index.terms[i]
        cov = float(coverage[i])
        comp = index._component[i]
        if comp:
            comp_cov = shares.get(comp, -1.0)
            if comp_cov < 0:
                comp_w = [index.idf(t) for t in comp]
                comp_cov = shares[comp] = sum(
                    w for t, w in zip(comp, comp_w, strict=True) if t in found) / sum(comp_w)
        else:
            comp_cov = lex
        score = W["text"] * (W["cov"] * cov + W["lex"] * lex + W["comp"] * comp_cov)
        if comp_cov >= 0.99:
            named.add(i)
        p = term.properties
        # "Sondermaterial", "Other Body Fluid": mappings.anyspecimen
        chosen = generic[0] if generic and p.get("CLASS") in generic[1] else hint
        key = (chosen is hint, tuple(p.get(axis) for axis in FIT_AXES))
        fit = fits.get(key)
        if fit is None:
            fit = fits[key] = axes_fit(p, chosen, q_full)
        bonus, why = fit
        prior = float(index._prior[i])
        score += bonus + W["prior"] * prior
        # the reasons are written for the few shown (`_reasons`); the steps below add theirs
        # to the empty text as "; …"
        facts[i] = (cov, comp_cov, lex, best_j, why)
        scored.append((score, i, ""))

    def variant(i: int) -> tuple[str, dict[str, str], str]:
        return index.terms[i].code, index.terms[i].properties, index._component_text[i]

    scored = prefer_detection(prefer_first_made(scored, variant, hint.properties), variant, text,
                              hint.systems if hint.specimen else None)
    if not hint.methods:
        scored = prefer_plain_count(scored, variant)
    scored.sort(key=lambda x: (-x[0], x[1]))
    scored = with_variants(scored, variant, hint, named)
    if not hint.unit:  # no unit decided the property: show both forms it leaves open
        scored = with_counterpart(scored, variant, limit)
    top = scored[:max(limit, 2)]
    shown = CONFIDENCE.ranked([s for s, _, _ in top]) if CONFIDENCE is not None else \
        [s for s, _, _ in top]
    return [Suggestion(index.terms[i].code, index.terms[i].display,
                       round(min(max(c, 0.0), 1.0), 4), _reasons(index, i, *facts[i]) + why,
                       round(s, 4))
            for (s, i, why), c in zip(top[:limit], shown, strict=False)]


def _reasons(index: TargetIndex, i: int, cov: float, comp_cov: float, lex: float, best_j: int,
             fit: list[str]) -> str:
    """Why term `i` is suggested: the share of the name's words it holds, how much of its
    COMPONENT the name names, its closest text, and how its axes fit (mappings.axisfit)."""
    component = index._component_text[i]
    text, label = index.terms[i].texts[best_j]
    return "; ".join([f"{cov:.0%} of the name's words found",
                      (f"component {component} " if component else "component ")
                      + ("named in full" if comp_cov >= 0.99 else f"{comp_cov:.0%} named"),
                      f"closest name ({lex:.0%}): {label} '{text}'", *fit])
