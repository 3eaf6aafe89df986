"""Scored mapping suggestions for one local code: an in-memory index over target terms.

Candidates come from a token index (IDF-weighted; query tokens also match vocabulary tokens
that share character trigrams and are close by rapidfuzz ratio, or that extend an abbreviation
ending in "."), then the best candidates are reranked with rapidfuzz over every text of the
term (display, designations in any language, LOINC COMPONENT). A unit hint (mmol/L → SCnc,
mg/dL → MCnc, any unit → Qn) and a specimen hint (Serum → Ser/Plas, Urin → Urine, Liquor →
CSF) move LOINC terms whose PROPERTY / SCALE_TYP / SYSTEM agree. Each suggestion says why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from mappings.normalize import ABBREVIATIONS, base_tokens, fold
from termserver.model import ConceptDetail

HINT_PROPERTIES = ("SYSTEM", "PROPERTY", "SCALE_TYP", "METHOD_TYP", "VersionFirstReleased")
_CANDIDATES = 300


@dataclass(frozen=True, slots=True)
class TargetTerm:
    """One target concept as the index sees it. `texts` pairs each text with a label."""

    code: str
    display: str
    texts: tuple[tuple[str, str], ...] = ()
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Suggestion:
    code: str
    display: str
    score: float
    why: str


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


# --- hints -------------------------------------------------------------------------------

_MOLAR = re.compile(r"^(p|n|u|m|k)?(mol|eq)/")
_MASS = re.compile(r"^(p|n|u|m|k)?g/")
_CATALYTIC = re.compile(r"^(m|k)?(u|kat)/")
_ARBITRARY = re.compile(r"^(m|k)?(iu|ie|e|au)/")
_COUNT = re.compile(r"^(/|10\*|10\^|g/l$|t/l$)|(/(n|p|u|m)?l$)")


def unit_hint(unit: str | None) -> tuple[set[str], str | None]:
    """(LOINC PROPERTY values, SCALE_TYP) implied by a unit; empty when not recognised."""
    if not unit or not unit.strip():
        return set(), None
    u = fold(unit.strip().replace("µ", "u").replace("μ", "u")).replace(" ", "")
    if "titer" in u or "titre" in u:
        return {"Titr"}, "SemiQn"
    if u.startswith("{") or u in {"neg/pos", "pos/neg"}:
        return set(), "Ord"
    u = u.replace("[", "").replace("]", "")
    if _MOLAR.match(u):
        return {"SCnc"}, "Qn"
    if _CATALYTIC.match(u):
        return {"CCnc"}, "Qn"
    if _ARBITRARY.match(u):
        return {"ACnc"}, "Qn"
    if _MASS.match(u):
        return ({"MCnc"} if not u.endswith("/g") else {"MCnt"}), "Qn"
    if _COUNT.search(u):
        return {"NCnc"}, "Qn"
    if u == "%":
        return {"NFr", "MFr", "VFr", "SFr", "CFr"}, "Qn"
    if u == "fl":
        return {"EntVol"}, "Qn"
    if u == "pg":
        return {"EntMass"}, "Qn"
    if u in {"s", "sec", "min"}:
        return {"Time"}, "Qn"
    return set(), "Qn"


_SPECIMENS: tuple[tuple[tuple[str, ...], dict[str, float]], ...] = (
    (("nabelschnur", "cord"), {"BldCo": 1.0, "BldCoV": 0.8, "BldCoA": 0.8}),
    (("urinsediment", "sediment"), {"Urine sed": 1.0, "Urine": 0.5}),
    (("knochenmark", "marrow"), {"Bone mar": 1.0}),
    (("ejakulat", "sperma", "semen"), {"Semen": 1.0}),
    (("body", "koerperfluessigkeit", "punktat"), {"Body fld": 1.0}),
    (("sondermaterial", "specimen"), {"XXX": 1.0, "Body fld": 0.5}),
    (("serum", "plasma", "ser", "plas", "ser/plas"), {"Ser/Plas": 1.0, "Ser": 0.8, "Plas": 0.8}),
    (("sammelurin", "urin", "urine", "harn"), {"Urine": 1.0}),
    (("liquor", "csf", "cerebrospinal"), {"CSF": 1.0}),
    (("vollblut", "blut", "blood", "bld"), {"Bld": 1.0, "Ser/Plas": 0.8, "BldA": 0.5,
                                            "BldV": 0.5, "BldC": 0.5}),
    (("stuhl", "stool", "faeces", "feces"), {"Stool": 1.0}),
    (("ascites", "aszites"), {"Periton fld": 1.0}),
    (("pleural", "pleura"), {"Plr fld": 1.0}),
    (("joint", "gelenk", "synovia"), {"Synv fld": 1.0}),
)


def specimen_hint(specimen: str | None) -> dict[str, float]:
    """LOINC SYSTEM values (with weight 0..1) implied by a specimen name."""
    if not specimen:
        return {}
    toks = base_tokens(specimen)
    for names, systems in _SPECIMENS:
        if any(t in names for t in toks):
            return systems
    return {}


# --- the index ---------------------------------------------------------------------------

def _trigrams(token: str) -> set[str]:
    padded = f" {token} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


class TargetIndex:
    """Token + character-trigram index over target terms, all in memory."""

    def __init__(self, terms: Iterable[TargetTerm]) -> None:
        self.terms: list[TargetTerm] = list(terms)
        self._norm: list[tuple[str, ...]] = []
        self._component: list[frozenset[str]] = []
        postings: dict[str, set[int]] = {}
        for i, term in enumerate(self.terms):
            norms: list[str] = []
            for text, _ in term.texts:
                toks = base_tokens(text)
                norms.append(" ".join(toks))
                for t in toks:
                    postings.setdefault(t, set()).add(i)
            self._norm.append(tuple(norms))
            component = next((t for t, label in term.texts if label == "COMPONENT"), "")
            self._component.append(frozenset(base_tokens(component)))
        n = max(len(self.terms), 1)
        # shorter terms first among equal coverage: fewer tokens in the display
        self._brevity = np.array([1.0 / (1 + len(norms[0].split())) if norms else 0.0
                                  for norms in self._norm], dtype=np.float32)
        self._vocab: list[str] = sorted(postings)
        self._post: dict[str, np.ndarray] = {
            t: np.fromiter(sorted(ids), dtype=np.int32, count=len(ids))
            for t, ids in postings.items()}
        self._idf: dict[str, float] = {t: math.log(1 + n / len(ids)) for t, ids in postings.items()}
        grams: dict[str, list[int]] = {}
        for vid, tok in enumerate(self._vocab):
            for g in _trigrams(tok):
                grams.setdefault(g, []).append(vid)
        self._grams = grams
        self._close_cache: dict[str, list[tuple[str, float]]] = {}

    @classmethod
    def from_details(cls, details: Iterable[ConceptDetail]) -> TargetIndex:
        return cls(term_from_detail(d) for d in details)

    def __len__(self) -> int:
        return len(self.terms)

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
                elif cand.startswith(tok) and len(tok) >= 5 and cand not in found:
                    found[cand] = 0.8
        out = sorted(found.items(), key=lambda x: -x[1])[:20]
        if len(self._close_cache) < 100_000:
            self._close_cache[tok] = out
        return out

    def _groups(self, text: str) -> list[list[str]]:
        """Query tokens grouped: each token with the tokens of its abbreviation expansion."""
        groups: list[list[str]] = []
        for tok in base_tokens(text):
            alts = [tok]
            expansion = ABBREVIATIONS.get(tok)
            if expansion:
                alts.extend(t for t in expansion.split() if t != tok)
            groups.append(alts)
        return groups

    def suggest(self, text: str, unit: str | None = None, specimen: str | None = None,
                limit: int = 5) -> list[Suggestion]:
        return suggest(self, text, unit=unit, specimen=specimen, limit=limit)


def _coverage(index: TargetIndex, groups: list[list[str]]
              ) -> tuple[np.ndarray, list[tuple[str, list[tuple[str, float]]]]]:
    n = len(index.terms)
    total = np.zeros(n, dtype=np.float32)
    weight_sum = 0.0
    matched: list[tuple[str, list[tuple[str, float]]]] = []
    for alts in groups:
        best = np.zeros(n, dtype=np.float32)
        weight = 0.0
        hits: list[tuple[str, float]] = []
        for alt in alts:
            for cand, sim in index.close_tokens(alt):
                idf = index._idf[cand]
                weight = max(weight, idf)
                ids = index._post[cand]
                np.maximum.at(best, ids, np.float32(idf * sim))
                hits.append((cand, sim))
        if weight == 0.0:
            weight = math.log(1 + n)  # an unknown token still counts against every term
        weight_sum += weight
        total += best
        matched.append((alts[0], hits))
    if weight_sum:
        total /= weight_sum
    return np.minimum(total, 1.0), matched


def suggest(index: TargetIndex, text: str, unit: str | None = None,
            specimen: str | None = None, limit: int = 5) -> list[Suggestion]:
    """The best `limit` target terms for a local name, with a score 0..1 and why."""
    groups = index._groups(text)
    if not groups or not index.terms:
        return []
    coverage, matched = _coverage(index, groups)
    found = {tok for _, hits in matched for tok, _ in hits}
    k = min(_CANDIDATES, len(index.terms))
    pre = coverage + 0.01 * index._brevity
    cand = np.argpartition(-pre, k - 1)[:k] if k < len(pre) else np.arange(k)
    cand = cand[coverage[cand] > 0]
    q_base = " ".join(a[0] for a in groups)
    q_full = " ".join(t for a in groups for t in a)
    props, scale = unit_hint(unit)
    systems = specimen_hint(specimen) or specimen_hint(text)
    scored: list[tuple[float, int, str]] = []
    for i in cand.tolist():
        term = index.terms[i]
        lex, best_j = 0.0, 0
        for j, norm in enumerate(index._norm[i]):
            s = max(0.4 * fuzz.token_set_ratio(q, norm) + 0.6 * fuzz.token_sort_ratio(q, norm)
                    for q in (q_base, q_full)) / 100
            if s > lex:
                lex, best_j = s, j
        cov = float(coverage[i])
        comp = index._component[i]
        comp_cov = len(comp & found) / len(comp) if comp else lex
        score = 0.78 * (0.45 * cov + 0.35 * lex + 0.2 * comp_cov)  # hints add up to 0.22
        reasons = [f"{cov:.0%} of the query tokens found",
                   f"{comp_cov:.0%} of the component found",
                   f"text match {lex:.0%} with {term.texts[best_j][1]} "
                   f"'{term.texts[best_j][0]}'"]
        p = term.properties
        if props and p.get("PROPERTY"):
            if p["PROPERTY"] in props:
                score += 0.08
                reasons.append(f"unit {unit} fits PROPERTY {p['PROPERTY']}")
            else:
                score -= 0.04
        if scale and p.get("SCALE_TYP"):
            if p["SCALE_TYP"] == scale:
                score += 0.04
                reasons.append(f"unit fits SCALE_TYP {scale}")
            else:
                score -= 0.02
        if systems and p.get("SYSTEM"):
            w = systems.get(p["SYSTEM"], 0.0)
            if w:
                score += 0.1 * w
                reasons.append(f"specimen {specimen} fits SYSTEM {p['SYSTEM']}")
            else:
                score -= 0.05
        if p.get("METHOD_TYP") and p["METHOD_TYP"] and fold(p["METHOD_TYP"]) not in q_full:
            score -= 0.02  # a method the local name does not mention: a narrower term
        if p.get("VersionFirstReleased", "").startswith("1."):
            score += 0.005  # an established term first when all else is equal
        scored.append((score, i, "; ".join(reasons)))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [Suggestion(index.terms[i].code, index.terms[i].display,
                       round(min(max(s, 0.0), 1.0), 4), why)
            for s, i, why in scored[:limit]]
