"""Mapping suggestions over stored code systems through the ranked text index of `$expand`.

There is one text index in the product: termserver.store.search, built when a code system is
loaded and kept in the database. `StoreTargetSearch` reads it (through
termserver.store.search_candidates) and holds nothing up front, so the first suggestion after
a restart costs what the hundredth does. For one local name it builds query words from
mappings.normalize tokens (stop words dropped, an unknown compound split into indexed words),
each with its abbreviation expansion, its English words from the German glossary
(mappings.glossary, "Tollwut" → rabies virus) and the index's other spellings of it (found in the
index's word table by their first letters: the same spelling skeleton, close by rapidfuzz
ratio, the same long stem, or longer words an abbreviation begins), weighted; words are
looked up by their index key (termserver.textfold: "Glukose" and "glucose" share one). The
index hands over the best CANDIDATES concepts; their texts and hint properties are read in one
query per code system, and `mappings.suggest.rank_candidates` reranks them (idf from the
index's word counts, and the words the in-memory index learns from all its terms, which a
candidate list holds too few of: acronyms, short forms, … (mappings.scopewords), learnt once
per index build from every term of the code system and kept in the database, `stored_scope`).

What is cached per process (word counts, other spellings, candidate terms) is keyed by the
index's stamp, which changes with every rebuild, so processes never disagree. A code system
whose index is missing or being rebuilt raises IndexNotReady (HTTP 503) at once.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from mappings.glossary import glossary_words
from mappings.hints import specimen_hint
from mappings.lexicon import FORMAT as LEXICON_FORMAT
from mappings.lexicon import Lexicon, derive, pairs_from_texts
from mappings.lexicon import from_json as lexicon_from_json
from mappings.lexicon import to_json as lexicon_to_json
from mappings.normalize import (
    ABBREVIATIONS,
    STOP_WORDS,
    base_tokens,
    fold,
    index_word,
    query_tokens,
    same_stem,
)
from mappings.scopewords import FORMAT as SCOPE_FORMAT
from mappings.scopewords import LEARN_FROM, ScopeWords, learn_scope
from mappings.scopewords import from_json as scope_from_json
from mappings.scopewords import to_json as scope_to_json
from mappings.shortforms import split_case
from mappings.suggest import (
    HINT_PROPERTIES,
    RERANKED,
    Suggestion,
    TargetTerm,
    as_read,
    compound_heads,
    rank_candidates,
)
from mappings.terms import loinc_term, with_translated_components
from mappings.units import plural_short
from mappings.variants import analyte_part
from termserver.errors import NotFound
from termserver.store import Store, search_candidates
from termserver.store.search_candidates import IndexNotReady, IndexState

__all__ = ["CANDIDATES", "IndexNotReady", "STOP_WORDS", "StoreTargetSearch", "build_indexes",
           "index_text", "skeleton"]

#: Concepts the text index hands to the reranker (the best of all code systems): as many as
#: the in-memory index reranks (mappings.suggest), so both rank from an equal pool.
CANDIDATES = RERANKED
#: Weight of the words of a specimen given apart in the index query (a tie-breaker among
#: the terms of one analyte, never a reason to select a term on its own).
SPECIMEN_WEIGHT = 0.3
#: Entries kept in each per-process cache (then it starts afresh).
CACHE_MAX = 50_000
_PROPERTIES = (*HINT_PROPERTIES, "COMPONENT")


_SOFT_C = re.compile(r"c(?=[eiy])")
_DOUBLE = re.compile(r"(.)\1+")
_ENDING = re.compile(r"(en|es|e|s|a)$")


def index_text(text: str) -> str:
    """`text` as the index's words (termserver.textfold keys of mappings.normalize tokens)."""
    return " ".join(k for t in base_tokens(text) if (k := index_word(t)))


def skeleton(token: str) -> str:
    """A spelling key German and English lab words share: ph → f, th → t, ae/oe → e,
    c before e/i/y → z, other c → k, y → i, doubled letters once, and one ending -en, -es,
    -e, -s or -a dropped: "Glukose"/"glucose", "Leukozyten"/"leukocytes",
    "Kalzium"/"calcium", "Haemoglobin"/"hemoglobin", "Kreatinin"/"creatinine" meet, and
    "Kalium"/"Kalzium" do not."""
    s = token.replace("ph", "f").replace("th", "t").replace("ae", "e").replace("oe", "e")
    s = _SOFT_C.sub("z", s).replace("c", "k").replace("y", "i")
    s = _DOUBLE.sub(r"\1", s)
    return _ENDING.sub("", s) if len(s) >= 5 else s


def build_indexes(store: Store, progress: Callable[[str], None] | None = None) -> list[int]:
    """Nothing to build: the workbench searches the `$expand` text index, which the store
    builds on load (and `termserver reindex` after an upgrade, termserver.store.search). Drops
    the tables of the workbench's former index (termserver.store.textindex), telling
    `progress`. Returns the code systems whose former index was dropped."""
    from termserver.store import textindex

    dropped = textindex.drop_all(store)
    if dropped and progress is not None:
        progress(f"dropped the former workbench text index of {len(dropped)} code system(s)")
    return dropped


class _Cache:
    """A bounded per-process dict per index stamp, shared by threads (at most CACHE_MAX
    entries in all; then it starts afresh)."""

    def __init__(self) -> None:
        self.data: dict[Any, dict[Any, Any]] = {}
        self.size = 0
        self.lock = threading.Lock()

    def of(self, stamp: Any) -> dict[Any, Any]:
        """The entries of one index stamp (read only: `put` adds)."""
        return self.data.get(stamp) or {}

    def get(self, stamp: Any, key: Any) -> Any:
        found = self.data.get(stamp)
        return found.get(key) if found is not None else None

    def put(self, stamp: Any, key: Any, value: Any) -> None:
        with self.lock:
            if self.size >= CACHE_MAX:
                self.data, self.size = {}, 0
            self.data.setdefault(stamp, {})[key] = value
            self.size += 1


_DF, _NEAR, _CLOSE, _TERMS = _Cache(), _Cache(), _Cache(), _Cache()
_LEXICONS: dict[Any, Lexicon] = {}  # per index stamp: one per loaded LOINC version
_LEXICON_LOCK = threading.Lock()
log = logging.getLogger(__name__)
_SCOPES: dict[Any, ScopeWords] = {}  # per index stamp (mappings.scopewords)
_SCOPE_LOCK = threading.Lock()
_SCOPE_LEARN = threading.Lock()  # one learner per process at a time
_SCOPE_STARTED: set[Any] = set()  # stamps whose learner thread was started
#: Codes read per query while learning the scope words.
SCOPE_BATCH = 2000


def stored_lexicon(store: Store, state: IndexState) -> Lexicon:
    """The German → English lexicon (mappings.lexicon) learnt from the German designations
    of LOINC's linguistic variants stored for `state`'s code system, with its axis
    properties; learnt once per index build by whichever process needs it first and kept in
    the database for every other process and restart (a second for LOINC)."""
    found = _LEXICONS.get(state.stamp)
    if found is None:
        with _LEXICON_LOCK:
            found = _LEXICONS.get(state.stamp)
            if found is None:
                found = _kept_or_learnt(store, state)
                if len(_LEXICONS) >= 8:
                    _LEXICONS.clear()
                _LEXICONS[state.stamp] = found
    return found


def _kept_or_learnt(store: Store, state: IndexState) -> Lexicon:
    """The lexicon kept in the database for this index build (learnt by any process since
    the last load or reindex), else learnt now and kept for the others."""
    name = f"lexicon-{LEXICON_FORMAT}"
    kept = search_candidates.derived(store, state, name)
    found = lexicon_from_json(kept) if kept is not None else None
    if found is None:
        found = derive(pair for display, texts, props
                       in search_candidates.variant_names(store, state.cs_pk)
                       for pair in pairs_from_texts(display, texts, props))
        search_candidates.keep_derived(store, state, name, lexicon_to_json(found).decode())
    return found


def stored_scope(store: Store, state: IndexState, lexicon: Lexicon, wait: bool = True
                 ) -> ScopeWords | None:
    """The words learnt from every term of `state`'s code system (mappings.scopewords): kept
    in the database once learnt (by any process, once per index build); else learnt now
    (`wait`: tens of seconds for LOINC; the warm-up thread of mappings.targets does it) or,
    without `wait`, learnt in a thread while this returns None at once (a request never
    waits for them)."""
    found = _SCOPES.get(state.stamp)
    if found is None:
        found = _kept_scope(store, state)
    if found is None and not wait:
        with _SCOPE_LOCK:
            start = state.stamp not in _SCOPE_STARTED
            _SCOPE_STARTED.add(state.stamp)
        if start:
            threading.Thread(target=_learn_soon, args=(store, state, lexicon), daemon=True,
                             name=f"scope-words-{state.cs_pk}").start()
        return None
    if found is None:
        with _SCOPE_LEARN:  # one learner per process
            found = _SCOPES.get(state.stamp) or _kept_scope(store, state)
            if found is None:
                found = _learn_scope(store, state, lexicon)
                search_candidates.keep_derived(store, state, f"scope-words-{SCOPE_FORMAT}",
                                               scope_to_json(found).decode())
    with _SCOPE_LOCK:
        if len(_SCOPES) >= 8:
            _SCOPES.clear()
        _SCOPES[state.stamp] = found
    return found


def _learn_soon(store: Store, state: IndexState, lexicon: Lexicon) -> None:
    try:
        stored_scope(store, state, lexicon)
    except Exception:  # the next warm-up or request tries again
        with _SCOPE_LOCK:
            _SCOPE_STARTED.discard(state.stamp)
        log.exception("learning the scope words of code system %s failed", state.cs_pk)


def _kept_scope(store: Store, state: IndexState) -> ScopeWords | None:
    kept = search_candidates.derived(store, state, f"scope-words-{SCOPE_FORMAT}")
    return scope_from_json(kept) if kept is not None else None


def _stored_terms(store: Store, cs_pk: int, codes: Sequence[str]) -> list[TargetTerm]:
    """TargetTerms of `codes` as stored (texts, hint properties, COMPONENT as a text)."""
    out: list[TargetTerm] = []
    for code, (display, texts, props) in search_candidates.term_texts(
            store, cs_pk, codes, _PROPERTIES).items():
        component = props.pop("COMPONENT", None)
        out.append(TargetTerm(code, display, tuple(
            [*texts, (component, "COMPONENT")] if component else texts), props))
    return out


def _learn_scope(store: Store, state: IndexState, lexicon: Lexicon) -> ScopeWords:
    """ScopeWords from the active concepts of `state`'s code system, read SCOPE_BATCH codes per
    query (not kept in the term cache). Of LOINC only its laboratory terms teach (CLASSTYPE 1,
    when there are LEARN_FROM of them): the names a lab catalogue maps; the clinical terms'
    words would drown the lab's short forms and make "total" a common word."""
    codes = search_candidates.active_codes(store, state.cs_pk)
    if sum(map(loinc_term, codes[:1000])) > 500:  # LOINC: its lab terms, else all its terms
        lab = search_candidates.active_codes(store, state.cs_pk, ("CLASSTYPE", "1"))
        codes = [c for c in (lab if len(lab) >= LEARN_FROM else codes) if loinc_term(c)]
    terms: list[TargetTerm] = []
    for start in range(0, len(codes), SCOPE_BATCH):
        terms.extend(_stored_terms(store, state.cs_pk, codes[start:start + SCOPE_BATCH]))
    terms = with_translated_components(terms)
    component_texts = [next((x for x, label in t.texts if label == "COMPONENT"), "")
                       for t in terms]
    components = [frozenset(base_tokens(analyte_part(c))) for c in component_texts]
    return learn_scope(terms, components, component_texts, lexicon.known)


@lru_cache(maxsize=CACHE_MAX)
def _spelled(texts: tuple[tuple[str, str], ...]) -> dict[str, dict[str, int]]:
    """The index words of a term's texts, each with its spellings there and how often
    (cached by the texts: candidate lists hold the same terms again and again; read only)."""
    out: dict[str, dict[str, int]] = {}
    for text, _ in texts:
        for tok in base_tokens(text):
            key = index_word(tok)
            seen = out.setdefault(key, {})
            seen[tok] = seen.get(tok, 0) + 1
    return out


class StoreTargetSearch:
    """Suggestions for local names over stored code systems `systems` [(url, version|None)];
    `active_only`: never suggest inactive concepts; `allowed(code)`: keep only these
    (a ValueSet scope, LOINC terms only)."""

    def __init__(self, store: Store, systems: Sequence[tuple[str, str | None]], *,
                 active_only: bool = True, allowed: Callable[[str], bool] | None = None
                 ) -> None:
        self.store = store
        self.active_only = active_only
        self.allowed = allowed
        self.systems: list[tuple[IndexState, str, str | None]] = []
        for url, version in systems:
            cs = store.resolve_code_system(url, version)
            label = f"{url}{'|' + version if version else ''}"
            if cs is None:
                raise NotFound(f"code system {label} is not stored")
            found = search_candidates.state(store, cs.pk)
            if found is None:
                raise IndexNotReady(f"{cs.url}|{cs.version or ''}")
            self.systems.append((found, cs.url, cs.version))
        self._texts = sum(s.texts for s, _, _ in self.systems)
        self._lexicon: Lexicon | None = None

    @property
    def lexicon(self) -> Lexicon:
        """The lexicon learnt from the scope's LOINC German variants (the first code system
        that has one; empty when none has)."""
        if self._lexicon is None:
            self._lexicon = next((lex for s, _, _ in self.systems
                                  if len(lex := stored_lexicon(self.store, s))), Lexicon())
        return self._lexicon

    def scope_words(self, wait: bool = False) -> ScopeWords | None:
        """The words learnt from every term of the first code system (stored_scope); without
        `wait` None while they are being learnt (each candidate list learns what it can)."""
        return stored_scope(self.store, self.systems[0][0], self.lexicon, wait)

    def current(self) -> bool:
        """False once the index of a code system of the scope was rebuilt or dropped."""
        return all(search_candidates.state(self.store, s.cs_pk) == s for s, _, _ in self.systems)

    # -- index words -----------------------------------------------------------------------

    def _df(self, keys: Sequence[str]) -> dict[str, int]:
        """Texts of the scope holding each index word (cached per index stamp)."""
        wanted = [k for k in dict.fromkeys(keys) if k]
        out = dict.fromkeys(wanted, 0)
        for state, _, _ in self.systems:
            known = _DF.of(state.stamp)
            todo = [k for k in wanted if k not in known]
            fresh: dict[str, int] = {}
            if todo:
                found = search_candidates.frequencies(self.store, state.cs_pk, todo)
                for k in todo:
                    fresh[k] = found.get(k, 0)
                    _DF.put(state.stamp, k, fresh[k])
            for k in wanted:
                out[k] += fresh[k] if k in fresh else known.get(k) or 0
        return out

    def idf(self, token: str) -> float:
        """Inverse document frequency of `token` over the scope's texts (stop words: 0.05)."""
        if token in STOP_WORDS:
            return 0.05
        key = index_word(token)
        n: int | None = 0
        for state, _, _ in self.systems:  # read from the cache when every system has it
            found = _DF.get(state.stamp, key)
            if found is None:
                n = None
                break
            n += found
        if n is None:
            n = self._df([key]).get(key, 0) if key else 0
        return math.log(1 + max(self._texts, 1) / max(n, 1))

    def close_tokens(self, token: str) -> list[tuple[str, float]]:
        """Other index words spelled like `token` (a mappings token or index word), with a
        weight 0..1: the same spelling skeleton (0.95), a rapidfuzz ratio of at least 0.84
        (0.9 × ratio), the same long stem with another short ending (0.82), or a longer word
        it begins, from 5 letters, or of which it is a plural short form (0.8: "myelos",
        mappings.units.plural_short). At most 8, best first."""
        return self._close_many([token]).get(index_word(token), [])

    def _close_many(self, tokens: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
        keys = [k for t in tokens if (k := index_word(t))]
        stamp = tuple(s.stamp for s, _, _ in self.systems)
        out: dict[str, list[tuple[str, float]]] = {}
        for key in keys:
            known = _CLOSE.get(stamp, key)
            if known is not None:
                out[key] = known
        keys = [k for k in keys if k not in out]
        near = self._near_words(keys)
        for key in dict.fromkeys(keys):
            words = near.get(key, [])
            found: dict[str, float] = {}
            if words:
                sk = skeleton(key)
                names = [w for w, _ in words if len(w) >= 4]
                for w in names:
                    if w != key and skeleton(w) == sk:
                        found[w] = 0.95
                for w, score, _ in process.extract(key, names, scorer=fuzz.ratio,
                                                   score_cutoff=84, limit=None):
                    found.setdefault(w, 0.9 * score / 100)
                for w in names:
                    if w in found:
                        continue
                    if len(key) >= 5 and (w.startswith(key) or plural_short(key, w)):
                        found[w] = 0.8  # "promyelo", "myelos": myelocytes
                    elif same_stem(key, w):
                        found[w] = 0.82
            found.pop(key, None)
            # ties (a short form begins many words) by how many texts use the word, then
            # alphabetically, as the in-memory index (mappings.suggest.close_tokens)
            counts = dict(words)
            out[key] = sorted(found.items(), key=lambda x: (-x[1], -counts.get(x[0], 0),
                                                            x[0]))[:8]
            _CLOSE.put(stamp, key, out[key])
        return out

    def _near_words(self, keys: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
        """Index words near each key (cached per index stamp), their counts summed."""
        wanted = [k for k in dict.fromkeys(keys) if len(k) >= 4 and not k.isdigit()]
        out: dict[str, dict[str, int]] = {k: {} for k in wanted}
        for state, _, _ in self.systems:
            todo = [k for k in wanted if _NEAR.get(state.stamp, k) is None]
            if todo:  # a long word's neighbours share its first four letters, else three
                found = search_candidates.near_words(
                    self.store, state.cs_pk,
                    [(k[:4 if len(k) >= 7 else 3], max(1, len(k) - 3), len(k) + 12)
                     for k in todo])
                for k, words in zip(todo, found, strict=True):
                    _NEAR.put(state.stamp, k, words)
            for k in wanted:
                for w, n in _NEAR.get(state.stamp, k) or []:
                    out[k][w] = out[k].get(w, 0) + n
        return {k: list(d.items()) for k, d in out.items()}

    def _indexed(self, word: str) -> bool:
        """Whether the index holds `word` (folded) in some text."""
        key = index_word(word)
        return bool(key) and self._df([key]).get(key, 0) > 0

    def split(self, token: str) -> list[str]:
        """An unknown compound as two indexed words ("mumpsvirus" → mumps, virus), the first
        also without a linking element ("katzenepithel" → katze, epithel), or [] (also for
        the beginning of an indexed word: a word cut short is no compound)."""
        key = index_word(token)
        if len(token) < 8 or not key or self._df([key]).get(key, 0) or any(
                w.startswith(key) for w, _ in self._near_words([key]).get(key, [])):
            return []  # known, or a word cut short ("Promyelo": promyelocytes)
        cuts = [(token[:i], token[i:]) for i in range(len(token) - 4, 3, -1)]
        heads = {head: compound_heads(head) for head, _ in cuts}
        df = self._df([index_word(p) for head, tail in cuts for p in (*heads[head], tail)])
        for head, tail in cuts:
            word = next((h for h in heads[head] if df.get(index_word(h))), None)
            if word is None:
                continue
            if df.get(index_word(tail)) or self.close_tokens(tail):
                return [word, tail]
        return []

    # -- queries ---------------------------------------------------------------------------

    def query(self, text: str) -> list[dict[str, float]]:
        """The query words of `text` as index words: for each token (mappings.normalize
        query_tokens: lab phrases as LOINC words) that is no stop word (an unknown compound:
        each part), the word with its abbreviation expansion, its glossary words, its English
        words from the learnt lexicon and close spellings of any (weighted 0..1), as
        alternatives."""
        toks = query_tokens(text)
        words = [t for t in toks if t not in STOP_WORDS] or toks
        df = self._df([index_word(w) for w in words])
        parts: list[list[str]] = []
        for word in words:
            for tok in ([word] if df.get(index_word(word)) else self.split(word) or [word]):
                parts.append(list(dict.fromkeys(
                    [tok, *ABBREVIATIONS.get(tok, "").split(), *glossary_words(tok),
                     *self.lexicon.english(tok)])))
        close = self._close_many([a for alts in parts for a in alts])
        groups: list[dict[str, float]] = []
        for alts in parts:
            group: dict[str, float] = {}
            for a in alts:
                key = index_word(a)
                if not key:
                    continue
                group[key] = 1.0
                for c, w in close.get(key, []):
                    if w > group.get(c, 0.0):
                        group[c] = w
            if group:
                groups.append(group)
        return groups

    def candidates(self, text: str, limit: int = CANDIDATES, specimen: str | None = None
                   ) -> list[tuple[tuple[str, str | None], TargetTerm]]:
        """((system url, version), term) of the index's best concepts for `text`; the words
        of a `specimen` given apart weigh SPECIMEN_WEIGHT, so that among the many terms of
        one analyte those of its specimen come first."""
        groups = self.query(text)
        if not groups:
            return []
        if specimen:
            said = {w for g in groups for w in g}
            extra = {k: SPECIMEN_WEIGHT for t in self._specimen_words(specimen)
                     if t not in STOP_WORDS and (k := index_word(t)) and k not in said}
            if extra:
                groups = [*groups, extra]
        words = [w for g in groups for w in g]
        hits: list[tuple[float, int, str]] = []
        for i, (state, _, _) in enumerate(self.systems):
            df = {w: _DF.get(state.stamp, w) for w in words}
            known = {w: int(n) for w, n in df.items() if n is not None}
            if len(known) < len(df):
                known.update(search_candidates.frequencies(
                    self.store, state.cs_pk, [w for w, n in df.items() if n is None]))
            for code, score in search_candidates.candidates(
                    self.store, state, groups, limit, active_only=self.active_only,
                    allowed=self.allowed, df=known):
                hits.append((score, i, code))
        hits.sort(key=lambda h: -h[0])  # idf sums: comparable across code systems
        hits = hits[:limit]
        out: list[tuple[tuple[str, str | None], TargetTerm]] = []
        for i, (state, url, version) in enumerate(self.systems):
            codes = [code for _, j, code in hits if j == i]
            missing = [c for c in codes if _TERMS.get(state.stamp, c) is None]
            for term in _stored_terms(self.store, state.cs_pk, missing):
                _TERMS.put(state.stamp, term.code, term)
            out.extend(((url, version), term) for c in codes
                       if (term := _TERMS.get(state.stamp, c)) is not None)
        return out

    def _specimen_words(self, specimen: str) -> list[str]:
        """The words of a specimen given apart and of the names the targets give the SYSTEM
        values it stands for (mappings.hints.specimen_hint, ScopeWords.system_names: "Ascites"
        → Periton fld → peritoneal fluid)."""
        words = base_tokens(specimen)
        scope = self.scope_words()
        if scope is not None:
            for system, weight in specimen_hint(specimen).items():
                if weight >= 0.8:
                    words.extend(base_tokens(scope.system_names.get(system, "")))
        return words

    def rerank_text(self, text: str, terms: Sequence[TargetTerm] = ()) -> str:
        """`text` as the reranker sees it: as it is, except that a word spelled otherwise in
        the candidates' texts is written as they spell it ("Glukose" → "glucose", the same
        index word) and an unknown compound as its indexed parts (then folded)."""
        toks = base_tokens(text)
        keys = {index_word(tok) for tok in toks}
        spelled: dict[str, dict[str, int]] = {}
        for term in terms:
            words = _spelled(term.texts)
            for key in keys:
                for tok, n in words.get(key, {}).items():
                    seen = spelled.setdefault(key, {})
                    seen[tok] = seen.get(tok, 0) + n
        swap: dict[str, str] = {}
        for tok in toks:
            key = index_word(tok)
            if tok in ABBREVIATIONS or tok in swap:
                continue
            if key in spelled and tok not in spelled[key]:
                swap[tok] = max(spelled[key].items(), key=lambda x: (x[1], x[0]))[0]
            elif key not in spelled and not self._df([key]).get(key, 0):
                parts = self.split(tok)
                if parts:
                    swap[tok] = " ".join(parts)
        if not swap:
            return text
        folded = fold(text)
        for tok, new in swap.items():
            folded = re.sub(rf"(?<![a-z0-9]){re.escape(tok)}(?![a-z0-9])", new, folded)
        return folded

    def suggest_with_systems(self, text: str, unit: str | None = None,
                             specimen: str | None = None, category: str | None = None,
                             limit: int = 5, candidates: int = CANDIDATES
                             ) -> list[tuple[tuple[str, str | None], Suggestion]]:
        """Like `suggest`, each suggestion with the (url, version) of its code system (a code
        held by two code systems of the scope is reported with the last)."""
        # the name as the reranker reads it (mappings.suggest.as_read), run-together cased
        # words the index does not know whole parted ("NTproBNP")
        found = self.candidates(split_case(as_read(text), self._indexed), candidates, specimen)
        if not found:
            return []
        terms = [t for _, t in found]
        self._df(list(set().union(*(_spelled(t.texts) for t in terms))))
        system_of = {term.code: system for system, term in found}
        ranked = rank_candidates(terms, self.rerank_text(text, terms), unit=unit,
                                 specimen=specimen, category=category, limit=limit,
                                 idf=self.idf, lexicon=self.lexicon,
                                 scope=self.scope_words())
        return [(system_of[s.code], s) for s in ranked]

    def suggest(self, text: str, unit: str | None = None, specimen: str | None = None,
                limit: int = 5, category: str | None = None) -> list[Suggestion]:
        """The best `limit` target concepts for a local name, scored 0..1 with why."""
        return [s for _, s in self.suggest_with_systems(
            text, unit=unit, specimen=specimen, category=category, limit=limit)]
