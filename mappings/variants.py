"""Choosing among LOINC variants of one measurement where the local name cannot decide.

Two rules, both learnt from LOINC's own data, not from any evaluation set:

* **Mass or substance, first made.** LOINC made most measurements first in one property and
  added the other later: the original terms follow the units of the first (US) labs ("Glucose
  [Mass/volume] in Pleural fluid", 2346-5), and the Substance-concentration counterparts came
  with the SI terms (14747-0, LOINC 1.0k). When a local name says nothing that tells mass
  from substance (no unit, no property word), the variants tie; the one LOINC made first (the
  lower LOINC number: numbers are given in the order terms are made) is the conventional one
  and wins the tie. Only mass/substance pairs that share every other axis (COMPONENT, SYSTEM,
  METHOD_TYP, TIME_ASPCT, SCALE_TYP) and score within `MARGIN` of each other are compared;
  count against percentage, ordinal against quantitative and method variants are left to the
  other signals (`prefer_first_made`).
* **A count without a method is LOINC's method-less term.** Cell counts and fractions come
  in counting-method variants ("by Manual count", "by Automated count") and a method-less
  generic term; when the name names no method and they score within `MARGIN`, the
  method-less one wins (`prefer_plain_count`), unless a method is the usual one for the term
  (mappings.hematology: blood counts by analyser, blood cell forms by light microscopy).
  Other methods are left to the other signals.
* **Per-hundred bases are the property.** "Blasts/100 leukocytes" is LOINC's number fraction
  of blasts; the base "100 leukocytes" is not an analyte word a local name would carry, so
  it counts neither for nor against the match of the analyte (`without_per_hundred`).
* **The total a fraction is taken of is the property.** "Carboxyhemoglobin/Hemoglobin.total",
  "Creatine kinase.MB/Creatine kinase.total": LOINC names a part's share of its total so; a
  local name ("Carboxyhemoglobin", "CK-MB rel.") names the part only, so a denominator
  "<B>.total" whose words the numerator already holds counts neither for nor against the
  match of the analyte (`analyte_part`).
* **Words LOINC leaves implied.** Some words of local names appear in LOINC's COMPONENTs
  almost only in ratios, mostly as the denominator: "total" ("Calcium.ionized/Calcium.total") —
  LOINC names a total as the plain analyte ("Calcium", "Cholesterol", "Protein"). Matched as
  text, "Calcium, Total" finds the ratio terms; such a word counts as named by every term
  whose COMPONENT is no ratio (`ratio_words`, `plain_components`; over LOINC 2.78's lab
  terms: "total", "control", "expired").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from mappings.hematology import USUAL_MARGIN, usual_candidate
from mappings.normalize import base_tokens

__all__ = ["COUNTERPARTS", "KIN", "MARGIN", "analyte_part", "loinc_number", "plain_components",
           "prefer_first_made", "prefer_plain_count", "ratio_words", "with_counterpart",
           "without_method", "without_per_hundred"]

#: Mass and substance forms of one kind of quantity (LOINC PROPERTY codes).
KIN = {"MCnc": "Cnc", "SCnc": "Cnc", "MRat": "Rat", "SRat": "Rat", "MCnt": "Cnt",
       "SCnt": "Cnt", "MRto": "Rto", "SRto": "Rto", "Mass": "Amt", "Sub": "Amt"}
#: Score gap within which two variants count as tied (the commonness prior and the German
#: translation make up to about 0.02 of the gap; the property fit of a unit 0.11).
MARGIN = 0.03
#: What the promoted variant gains over the best of its group (keeps the order strict).
STEP = 0.001
_LOINC = re.compile(r"^(\d+)-\d$")
# "/100 leukocytes", "/100 WBC", "/100 Leukozyten": the base of a number fraction
_PER_HUNDRED = re.compile(r"/\s*100\s+[^\s/\[\]]+")
# "Creatine kinase.MB/Creatine kinase.total": a part's share of its total
_OF_TOTAL = re.compile(r"^([^/]+)/([^/]+)\.total$", re.IGNORECASE)
# the globulin fractions a protein electrophoresis parts the total protein into (the alpha,
# beta and gamma globulins): "Gamma globulin/Protein.total" is the gamma globulin's share
_PROTEIN_FRACTIONS = ("globulin",)


# the method part of a long name: "… in Blood by Manual count", "… in Blut mit manueller
# Zählung" (LOINC's English and German long names end with it)
_METHOD_PART = re.compile(r" (?:by|mit) [^\[\]]+$")


def without_method(text: str) -> str:
    """A long name without its method part ("Blasts [#/volume] in Blood by Manual count" →
    "Blasts [#/volume] in Blood"): a local name says its method in short ("mi.", "PCR",
    which the METHOD axis fit reads) or not at all, so as text the method variant's name
    would match it worse than the method-less term's name."""
    if " by " not in text and " mit " not in text:  # most texts
        return text
    return _METHOD_PART.sub("", text)


def without_per_hundred(text: str) -> str:
    """A name without its per-hundred denominator ("Blasts/100 leukocytes in Blood" →
    "Blasts in Blood"): LOINC writes a number fraction (NFr) so, the property says it, and a
    local name ("Blasts", "Blasten %") does not name the base."""
    return _PER_HUNDRED.sub(" ", text)


def analyte_part(component: str) -> str:
    """The words of a COMPONENT that name the analyte: without a per-hundred base, and a
    share of a total ("A/B.total", each word of B within A's words: "Carboxyhemoglobin/
    Hemoglobin.total" → "Carboxyhemoglobin") as its part A."""
    component = without_per_hundred(component)
    m = _OF_TOTAL.match(component.strip())
    if m:
        part, whole = base_tokens(m.group(1)), base_tokens(m.group(2))
        if whole and all(any(w in p for p in part) for w in whole):
            return m.group(1)
        if whole == ["protein"] and any(p.endswith(_PROTEIN_FRACTIONS) for p in part):
            return m.group(1)  # "Alpha 1 globulin/Protein.total": an electrophoresis fraction
    return component


def loinc_number(code: str) -> int | None:
    """The running number of a LOINC code ("14747-0" → 14747), None for other codes."""
    m = _LOINC.match(code)
    return int(m.group(1)) if m else None


def _group_key(p: Mapping[str, str], component: str, said: frozenset[str] | set[str]
               ) -> tuple[str, ...] | None:
    prop = p.get("PROPERTY", "")
    kin = KIN.get(prop)
    if kin is None or not component:
        return None
    # a name that rules in one form of the pair and not the other has decided
    return (component, p.get("SYSTEM", ""), p.get("METHOD_TYP", ""), p.get("TIME_ASPCT", ""),
            p.get("SCALE_TYP", ""), kin, str(prop in said))


def prefer_first_made(scored: Sequence[tuple[float, int, str]],
                      term: Callable[[int], tuple[str, Mapping[str, str], str]],
                      said: frozenset[str] | set[str], margin: float = MARGIN
                      ) -> list[tuple[float, int, str]]:
    """`scored` (score, term index, why) with, in each group of mass/substance variants of
    one measurement the query has not told apart (`said`: the PROPERTY values the name and
    unit imply), the first-made variant within `margin` of the group's best moved just above
    it. `term(i)`: the code, LOINC properties and COMPONENT of term i. Other candidates keep
    their scores."""
    groups: dict[tuple[str, ...], list[int]] = {}
    codes: dict[int, str] = {}
    for pos, (_, i, _) in enumerate(scored):
        code, props, component = term(i)
        key = _group_key(props, component, said)
        if key is not None and loinc_number(code) is not None:
            groups.setdefault(key, []).append(pos)
            codes[i] = code
    out = list(scored)
    for members in groups.values():
        if len(members) < 2:
            continue
        top = max(out[pos][0] for pos in members)
        close = [pos for pos in members if out[pos][0] >= top - margin]
        first = min(close, key=lambda pos: loinc_number(codes[out[pos][1]]) or 0)
        rival = max((pos for pos in members if pos != first), key=lambda pos: out[pos][0])
        if out[rival][0] >= out[first][0]:  # a tie, or the later variant ahead
            score, i, why = out[first]
            other = codes[out[rival][1]]
            out[first] = (top + STEP, i, f"{why}; the name does not tell mass from substance: "
                                         f"made before {other}, the conventional variant")
    return out


def prefer_plain_count(scored: Sequence[tuple[float, int, str]],
                       term: Callable[[int], tuple[str, Mapping[str, str], str]],
                       margin: float = MARGIN) -> list[tuple[float, int, str]]:
    """`scored` with, in each group of variants of one cell count or fraction that differ
    only in a counting method ("Manual count", "Automated count" or none), the method-less
    term within `margin` of the group's best moved just above it: LOINC's generic term for a
    count whose method the name does not say. For a blood measurement the first-made variant
    by a counting method or light microscopy within USUAL_MARGIN goes first instead (the
    usual one, mappings.hematology). For queries that name no method."""
    groups: dict[tuple[str, ...], list[int]] = {}
    plain: dict[int, bool] = {}
    usual: dict[int, bool] = {}
    for pos, (_, i, _) in enumerate(scored):
        _, p, component = term(i)
        method = p.get("METHOD_TYP", "")
        is_usual = usual_candidate(p)
        if component and (not method or "count" in method.lower() or is_usual):
            key = (component, p.get("SYSTEM", ""), p.get("PROPERTY", ""),
                   p.get("TIME_ASPCT", ""), p.get("SCALE_TYP", ""))
            groups.setdefault(key, []).append(pos)
            plain[pos] = not method
            usual[pos] = is_usual
    out = list(scored)
    for members in groups.values():
        if len(members) < 2 or all(plain[pos] for pos in members):
            continue
        top = max(out[pos][0] for pos in members)
        first = min((pos for pos in members if usual[pos]),
                    key=lambda pos: loinc_number(term(out[pos][1])[0]) or 10**9, default=None)
        chosen = [first] if first is not None and out[first][0] >= top - USUAL_MARGIN else []
        reason = "no method named: the first-made method variant, the usual one"
        if not chosen:
            chosen = [pos for pos in members if plain[pos] and out[pos][0] >= top - margin]
            reason = "no counting method named: the method-less term of the count"
        if not chosen:
            continue
        best = max(chosen, key=lambda pos: out[pos][0])
        if any(out[pos][0] >= out[best][0] for pos in members if pos != best):
            score, i, why = out[best]
            out[best] = (top + STEP, i, f"{why}; {reason}")
    return out


def ratio_words(components: Sequence[str], share: float = 0.1,
                least: int | None = None) -> frozenset[str]:
    """Words (4+ letters) the COMPONENTs use almost only in ratios ("total", mostly in the
    denominator: "Calcium.ionized/Calcium.total"): in at least `least` ratio components
    (default: 1 in 2,000 components, at least 3) and in at most `share` as many others."""
    least = least if least is not None else max(3, len(components) // 2000)
    plain: dict[str, int] = {}
    ratio: dict[str, int] = {}
    for comp in components:
        counts = ratio if "/" in comp else plain
        for w in set(base_tokens(comp)):
            counts[w] = counts.get(w, 0) + 1
    return frozenset(w for w, n in ratio.items()
                     if n >= least and len(w) >= 4 and w.isalpha()
                     and plain.get(w, 0) <= share * n)


def plain_components(components: Sequence[str]) -> list[bool]:
    """Whether each COMPONENT names one analyte, no ratio (a word LOINC leaves implied in
    it, "total", counts as named)."""
    return [bool(c) and "/" not in c for c in components]


#: The other form of a quantity a local name without a unit often leaves open: a count or a
#: percentage of cells, a mass or a substance (LOINC PROPERTY codes).
COUNTERPARTS = {"NFr": "NCnc", "NCnc": "NFr", "MCnc": "SCnc", "SCnc": "MCnc", "MRat": "SRat",
                "SRat": "MRat", "MCnt": "SCnt", "SCnt": "MCnt"}


def with_counterpart(ranked: Sequence[tuple[float, int, str]],
                     term: Callable[[int], tuple[str, Mapping[str, str], str]], limit: int
                     ) -> list[tuple[float, int, str]]:
    """`ranked` (best first) with the other form of the first suggestion (its count for a
    percentage, its mass for a substance concentration: same analyte and SYSTEM) moved up
    to the last of the first `limit` places when none of them has it, so that a curator sees
    both forms a name without a unit leaves open. The first `limit - 1` places stay."""
    out = list(ranked)
    if limit < 3 or len(out) <= limit:
        return out
    _, first, _ = term(out[0][1])
    wanted = COUNTERPARTS.get(first.get("PROPERTY", ""))
    if wanted is None:
        return out
    key = (without_per_hundred(term(out[0][1])[2]).strip(), first.get("SYSTEM", ""))

    def other_form(i: int) -> bool:
        _, p, component = term(i)
        return p.get("PROPERTY") == wanted and (
            without_per_hundred(component).strip(), p.get("SYSTEM", "")) == key

    if any(other_form(i) for _, i, _ in out[1:limit]):
        return out
    for pos in range(limit, len(out)):
        if other_form(out[pos][1]):
            score, i, why = out.pop(pos)
            out.insert(limit - 1, (score, i, f"{why}; the other form ({wanted}) of the first "
                                             "suggestion: the name does not say which"))
            break
    return out
