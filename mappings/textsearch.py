"""Mapping suggestions over stored code systems of any size, through the database text index.

`StoreTargetSearch` holds no target terms up front, only each code system's vocabulary
(token → document frequency, with a character-trigram index over it). For one local name it
builds query words from mappings.normalize tokens (stop words dropped, an unknown compound
split into known words), each with its abbreviation expansion, its English words from the
German glossary (mappings.glossary, "Erdnuss" → peanut) and the vocabulary's other spellings
of it (same spelling skeleton, "Glukose" → glucose, "Kalzium" → calcium; close by rapidfuzz
ratio; longer words an abbreviation begins), weighted; asks the store's text index
(termserver.store.textindex) for the best CANDIDATES active concepts of all code systems of
the scope; reads their texts and hint properties in one query per code system; and reranks
them with `mappings.suggest.rank_candidates` (idf from the whole scope).

The index is built on first use (idempotent; rebuilt when the code system content changed).
Construct one instance per target scope and reuse it while `current()` holds: construction
reads the vocabularies, and candidate terms are cached (TERM_CACHE).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from rapidfuzz import fuzz

from mappings.glossary import glossary_words
from mappings.normalize import ABBREVIATIONS, base_tokens
from mappings.suggest import HINT_PROPERTIES, Suggestion, TargetTerm, rank_candidates
from termserver.errors import NotFound
from termserver.store import Store, textindex

#: Concepts the text index hands to the reranker (the best of all code systems).
CANDIDATES = 100
#: Candidate terms kept in memory between calls (a batch meets the same terms often).
TERM_CACHE = 50_000
_PROPERTIES = (*HINT_PROPERTIES, "COMPONENT")
#: Function words (German and English) that never select a target: left out of the index
#: query and given almost no weight in the reranking.
STOP_WORDS = frozenset((
    "im", "in", "i", "der", "die", "das", "des", "dem", "den", "und", "oder", "mit", "ohne",
    "von", "vom", "zu", "zur", "zum", "auf", "bei", "nach", "fuer", "pro", "per", "als",
    "of", "the", "and", "or", "with", "without", "by", "at", "to", "for", "on", "a", "an",
    "as", "from"))


def index_text(text: str) -> str:
    """The normaliser of the text index: folded word tokens (mappings.normalize)."""
    return " ".join(base_tokens(text))


def skeleton(token: str) -> str:
    """A spelling key German and English lab words share: ph → f, th → t, ae/oe → e,
    c before e/i/y → z, other c → k, y → i, doubled letters once, and one ending -en, -es,
    -e, -s or -a dropped: "Glukose"/"glucose", "Leukozyten"/"leukocytes",
    "Kalzium"/"calcium", "Haemoglobin"/"hemoglobin", "Kreatinin"/"creatinine" meet, and
    "Kalium"/"Kalzium" do not."""
    s = token.replace("ph", "f").replace("th", "t").replace("ae", "e").replace("oe", "e")
    s = re.sub(r"c(?=[eiy])", "z", s).replace("c", "k").replace("y", "i")
    s = re.sub(r"(.)\1+", r"\1", s)
    return re.sub(r"(en|es|e|s|a)$", "", s) if len(s) >= 5 else s


def _trigrams(token: str) -> set[str]:
    padded = f" {token} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


#: Code systems this big get their text index when they are loaded (`build_indexes`), so the
#: first suggestion after a restart does not wait for it; smaller ones build on first use.
PREBUILD_MIN = 1_000


def build_indexes(store: Store, progress: Callable[[str], None] | None = None) -> list[int]:
    """Build the text index of every stored code system of PREBUILD_MIN concepts or more
    whose index is missing or stale (idempotent; `termserver load` and `reindex` call it).
    `progress(label)` is told each one before it is built. Returns the code systems built."""
    built = []
    for cs in store.code_systems():
        if cs.concept_count < PREBUILD_MIN or textindex.is_current(store, cs.pk, index_text):
            continue
        if progress is not None:
            progress(f"{cs.url}|{cs.version or ''}")
        textindex.build_text_index(store, cs.pk, index_text)
        built.append(cs.pk)
    return built


class StoreTargetSearch:
    """Suggestions for local names over stored code systems `systems` [(url, version|None)];
    `active_only`: never suggest inactive concepts."""

    def __init__(self, store: Store, systems: Sequence[tuple[str, str | None]], *,
                 build: bool = True, active_only: bool = True) -> None:
        self.store = store
        self.active_only = active_only
        self.systems: list[tuple[int, str, str | None]] = []
        for url, version in systems:
            cs = store.resolve_code_system(url, version)
            if cs is None:
                raise NotFound(f"code system {url}{'|' + version if version else ''} "
                               "is not stored")
            if build:
                textindex.build_text_index(store, cs.pk, index_text)
            self.systems.append((cs.pk, cs.url, cs.version))
        self._terms: dict[tuple[int, str], TargetTerm] = {}
        self._df: dict[str, int] = {}
        self._docs = 0
        for pk, _, _ in self.systems:
            info = textindex.index_info(store, pk)
            self._docs += info.docs if info else 0
            for term, n in textindex.vocabulary(store, pk).items():
                self._df[term] = self._df.get(term, 0) + n
        self._spellings: dict[str, list[str]] = {}
        self._vocab = sorted(t for t in self._df if len(t) >= 4 and not t.isdigit())
        self._grams: dict[str, list[int]] = {}
        for i, term in enumerate(self._vocab):
            self._spellings.setdefault(skeleton(term), []).append(term)
            for g in _trigrams(term):
                self._grams.setdefault(g, []).append(i)
        self._close: dict[str, list[tuple[str, float]]] = {}

    def current(self) -> bool:
        """False once a code system of the scope changed since this instance was built."""
        return all(textindex.is_current(self.store, pk, index_text)
                   for pk, _, _ in self.systems)

    def idf(self, token: str) -> float:
        """Inverse document frequency of `token` over the whole scope (stop words: 0.05)."""
        if token in STOP_WORDS:
            return 0.05
        return math.log(1 + max(self._docs, 1) / max(self._df.get(token, 0), 1))

    def close_tokens(self, token: str) -> list[tuple[str, float]]:
        """Other vocabulary words spelled like `token`, with a weight 0..1: the same
        spelling skeleton (0.95), a rapidfuzz ratio of at least 0.84 over shared character
        trigrams (0.9 × ratio), or a longer word it begins, from 5 letters (at least 0.8)."""
        hit = self._close.get(token)
        if hit is not None:
            return hit
        found: dict[str, float] = {}
        if len(token) >= 4 and not token.isdigit():
            for t in self._spellings.get(skeleton(token), ()):
                found[t] = 0.95
            counts: dict[int, int] = {}
            for g in _trigrams(token):
                for i in self._grams.get(g, ()):
                    counts[i] = counts.get(i, 0) + 1
            need = max(2, len(token) // 2)
            for i, k in counts.items():
                cand = self._vocab[i]
                if k < need or cand in found:
                    continue
                ratio = fuzz.ratio(token, cand) / 100
                weight = 0.9 * ratio if ratio >= 0.84 else 0.0
                if len(token) >= 5 and cand.startswith(token):
                    weight = max(weight, 0.8)
                if weight:
                    found[cand] = weight
        found.pop(token, None)
        out = sorted(found.items(), key=lambda x: -x[1])[:8]
        if len(self._close) < 100_000:
            self._close[token] = out
        return out

    def split(self, token: str) -> list[str]:
        """An unknown compound as two known words ("mumpsvirus" → mumps, virus), or []."""
        if len(token) < 8 or token in self._df:
            return []
        for i in range(len(token) - 4, 3, -1):
            head, tail = token[:i], token[i:]
            if head in self._df and (tail in self._df or self.close_tokens(tail)):
                return [head, tail]
        return []

    def query(self, text: str) -> list[list[str | tuple[str, float]]]:
        """The query words of `text` for the text index: each base token that is no stop
        word (an unknown compound: each part), with its abbreviation expansion and close
        spellings of either (weighted), as alternatives of one word."""
        toks = base_tokens(text)
        words = [t for t in toks if t not in STOP_WORDS] or toks
        groups: list[list[str | tuple[str, float]]] = []
        for word in words:
            for tok in ([word] if word in self._df else self.split(word) or [word]):
                alts = [tok, *ABBREVIATIONS.get(tok, "").split(), *glossary_words(tok)]
                group: list[str | tuple[str, float]] = list(dict.fromkeys(alts))
                group += [c for a in alts for c in self.close_tokens(a)]
                groups.append(group)
        return groups

    def rerank_text(self, text: str) -> str:
        """`text` as the reranker sees it: a word the scope does not know, written as the
        scope's most frequent spelling of it ("Glukose" → "glucose") or as its known parts."""
        out: list[str] = []
        for tok in base_tokens(text):
            if tok not in self._df and tok not in ABBREVIATIONS:
                same = self._spellings.get(skeleton(tok)) if len(tok) >= 4 else None
                if same:
                    tok = max(same, key=lambda t: self._df.get(t, 0))
                else:
                    tok = " ".join(self.split(tok)) or tok
            out.append(tok)
        return " ".join(out)

    def candidates(self, text: str, limit: int = CANDIDATES
                   ) -> list[tuple[tuple[str, str | None], TargetTerm]]:
        """((system url, version), term) of the index's best concepts for `text`."""
        groups = self.query(text)
        if not groups:
            return []
        pks = [pk for pk, _, _ in self.systems]
        # ranks are idf sums, comparable across code systems: the best `limit` of all
        hits = textindex.search(self.store, pks, groups, limit,
                                active_only=self.active_only)[:limit]
        out: list[tuple[tuple[str, str | None], TargetTerm]] = []
        for pk, url, version in self.systems:
            codes = [code for cs, code, _ in hits if cs == pk]
            missing = [c for c in codes if (pk, c) not in self._terms]
            if missing:
                if len(self._terms) + len(missing) > TERM_CACHE:
                    self._terms.clear()
                for code, (display, texts, props) in textindex.term_texts(
                        self.store, pk, missing, _PROPERTIES).items():
                    component = props.pop("COMPONENT", None)
                    all_texts = [*texts, (component, "COMPONENT")] if component else texts
                    self._terms[pk, code] = TargetTerm(code, display, tuple(all_texts), props)
            out.extend(((url, version), term) for c in codes
                       if (term := self._terms.get((pk, c))) is not None)
        return out

    def suggest_with_systems(self, text: str, unit: str | None = None,
                             specimen: str | None = None, category: str | None = None,
                             limit: int = 5, candidates: int = CANDIDATES
                             ) -> list[tuple[tuple[str, str | None], Suggestion]]:
        """Like `suggest`, each suggestion with the (url, version) of its code system (a code
        held by two code systems of the scope is reported with the last)."""
        found = self.candidates(text, candidates)
        if not found:
            return []
        system_of = {term.code: system for system, term in found}
        ranked = rank_candidates([t for _, t in found], self.rerank_text(text), unit=unit,
                                 specimen=specimen, category=category, limit=limit,
                                 idf=self.idf)
        return [(system_of[s.code], s) for s in ranked]

    def suggest(self, text: str, unit: str | None = None, specimen: str | None = None,
                category: str | None = None, limit: int = 5) -> list[Suggestion]:
        """The best `limit` target concepts for a local name, scored 0..1 with why."""
        return [s for _, s in self.suggest_with_systems(
            text, unit=unit, specimen=specimen, category=category, limit=limit)]
