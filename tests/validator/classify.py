"""Classifying the replay's answers: why was an answer not `true`, and is that the server's fault?

Classes that are not server defects say what the example or the loaded content lacks (a
licensed code system only present as a stub, a FHIR core ValueSet, a LOINC answer code the
core table does not hold, a wrong display in the example, ...). The defect classes are the
issue-14 defects, each recognised from the answer together with independent evidence:
- `stub-as-unknown`: an error "unknown code" for a system the server only has as a
  `content: not-present` stub (no complete version loaded);
- `hierarchy-ignored`: "not in the value set" although the ValueSet's is-a / descendent-of
  filter covers the code by the code system's own hierarchy (nesting, or a property declared
  with the URI `http://hl7.org/fhir/concept-properties#parent`, e.g. THO `subsumedBy`),
  computed here from the package files;
- `case-only-display`: a display reported wrong (error or warning) that equals one of the
  code's displays from `$lookup` except for case;
- `version-wildcard`: an issue treating an include's `version: "*"` as a literal version;
- `empty-part-filter`: "not in the value set" for a LOINC ValueSet filtering by LOINC part
  codes (LP…) without the outcome saying the part data is missing;
- `server-error`: 5xx, a timeout or a body that is not FHIR;
- `other`: a non-true answer none of the explanations fits (to be looked at).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.validator.mii_examples import JSON, Packages
from tests.validator.replay import Answer, find

DEFECTS = frozenset({"stub-as-unknown", "hierarchy-ignored", "case-only-display",
                     "version-wildcard", "empty-part-filter", "server-error", "other"})
NOTES = {
    "true": "valid, no defect seen",
    "cs-unavailable:licensed": "licensed code system not loaded (SNOMED CT; OPS, ATC, PZN, "
                               "ASK, Alpha-ID only as basisprofil stubs)",
    "cs-unavailable:grammar": "grammar-based code system not supported yet (UCUM, BCP-47, "
                              "MIME types, ISO 3166: issue 14 'Also build')",
    "cs-unavailable:fhir-core": "FHIR core code system (hl7.fhir.r4.core is not loaded)",
    "cs-unavailable:external": "other external code system not loaded (HGNC, RefSeq, "
                               "Orphanet, HPO, EDQM, ISO 11073, HGVS, …) or a non-resolvable "
                               "system URI in the example",
    "cs-version-unavailable": "the coding names a code system version that is not loaded "
                              "while others are (ICD-10-GM 2019–2024 with 2025 loaded, THO "
                              "v2 tables 2.0.0)",
    "vs-unavailable": "ValueSet not loaded (FHIR core `|4.0.1` value sets, IPS, genomics "
                      "reporting, …)",
    "loinc-content-not-loaded": "LOINC answer (LA) or part (LP) code: the LOINC core table "
                                "holds neither",
    "data-error:unknown-code": "the code does not exist in the loaded, complete code system",
    "data-error:display": "the example's display is not a display of the code",
    "data-error:no-system": "the coding has no system",
    "data-error:not-in-value-set": "the code's system is not in the value set at all",
    "not-in-value-set": "valid code, not a member by the server's evaluation (kept for "
                        "review; no defect evidence found)",
    "cannot-infer-system": "a bare `code` whose value set draws on code systems that are not "
                           "loaded (FHIR core)",
    "part-data-unavailable": "LOINC part filter; the server says the part data is not loaded",
    **{d: "**server defect** (issue 14)" for d in DEFECTS},
}
PARENT_URI = "http://hl7.org/fhir/concept-properties#parent"
LOINC = "http://loinc.org"
LOINC_PART = re.compile(r"^L[AP]\d+-\d$")

Lookup = Callable[[str, str, str | None], list[str] | None]  # displays of system#code
Stubbed = Callable[[str], bool]  # only `content: not-present` versions loaded?


def message_id(issue: JSON) -> str:
    return next((str(e.get("valueString")) for e in issue.get("extension") or []
                 if str(e.get("url", "")).endswith("operationoutcome-message-id")), "")


def tx_code(issue: JSON) -> str:
    return next((str(c.get("code")) for c in (issue.get("details") or {}).get("coding") or []),
                "")


def issue_text(issue: JSON) -> str:
    return str((issue.get("details") or {}).get("text") or issue.get("diagnostics") or "")


class Classifier:
    def __init__(self, packages: list[Packages], lookup: Lookup, stubbed: Stubbed) -> None:
        self.packages = packages
        self.lookup = lookup
        self.stubbed = stubbed
        self._parents: dict[str, dict[str, set[str]]] = {}

    def classify(self, a: Answer) -> str:
        if a.status == 0 or a.status >= 500 or a.body is None:
            return "server-error"
        issues = a.issues()
        if any("'*'" in issue_text(i) and "version" in issue_text(i) for i in issues):
            return "version-wildcard"
        if any(tx_code(i) == "invalid-display" or "Display_Name" in message_id(i)
               for i in issues) and self._case_only_display(a):
            return "case-only-display"
        if a.result is True:
            return "true"
        return self._why_not(a, issues)

    def _why_not(self, a: Answer, issues: list[JSON]) -> str:
        ids = [message_id(i) for i in issues]
        errors = [i for i in issues if i.get("severity") in ("error", "fatal")]
        system, code = a.request.system, a.request.code
        if system and self.stubbed(system) and any(
                tx_code(i) == "invalid-code" or message_id(i).startswith("Unknown_Code")
                for i in errors):
            return "stub-as-unknown"
        if "Unable_to_resolve_value_Set_" in ids:
            return "vs-unavailable"
        if "UNABLE_TO_INFER_CODESYSTEM" in ids:
            return "cannot-infer-system"
        if "UNKNOWN_CODESYSTEM_VERSION" in ids:  # other versions of it are loaded
            return "cs-version-unavailable"
        if {"UNKNOWN_CODESYSTEM", "UNKNOWN_CODESYSTEM_VERSION_NONE"} & set(ids) or any(
                tx_code(i) == "vs-invalid" and "not-present" in issue_text(i) for i in issues):
            return "cs-unavailable:" + unavailable_kind(self._unknown_system(a, issues))
        if "Coding_has_no_system__cannot_validate" in ids:
            return "data-error:no-system"
        if any(tx_code(i) == "invalid-code" or m.startswith("Unknown_Code")
               for i, m in zip(issues, ids, strict=True)):
            if system == LOINC and code and LOINC_PART.match(code):
                return "loinc-content-not-loaded"
            return "data-error:unknown-code"
        if any(tx_code(i) == "invalid-display" for i in errors):
            return "data-error:display"
        if a.request.value_set is not None:
            return self._not_member(a, issues)
        return "other"

    @staticmethod
    def _unknown_system(a: Answer, issues: list[JSON]) -> str:
        """The system an unknown-code-system issue names (else the request's)."""
        for i in issues:
            found = re.search(r"CodeSystem '([^']+)'|The system (\S+) was found", issue_text(i))
            if found:
                return found.group(1) or found.group(2)
        return a.request.system or ""

    # -- display ---------------------------------------------------------------------------

    def _case_only_display(self, a: Answer) -> bool:
        for system, code, display in self._codings(a):
            if not (system and code and display):
                continue
            known = self.lookup(system, code, None) or []
            if display not in known and display.casefold() in {k.casefold() for k in known}:
                return True
        return False

    @staticmethod
    def _codings(a: Answer) -> list[tuple[str | None, str | None, str | None]]:
        import json
        out: list[tuple[str | None, str | None, str | None]] = []
        for p in json.loads(a.request.body)["parameter"]:
            if "valueCoding" in p:
                c = p["valueCoding"]
                out.append((c.get("system"), c.get("code"), c.get("display")))
            elif "valueCodeableConcept" in p:
                out += [(c.get("system"), c.get("code"), c.get("display"))
                        for c in p["valueCodeableConcept"].get("coding") or []]
        return out

    # -- value set membership --------------------------------------------------------------

    def _not_member(self, a: Answer, issues: list[JSON]) -> str:
        vs = find(self.packages, "value_sets", a.request.value_set or "")
        if vs is None:
            return "not-in-value-set"
        includes = list(self._includes(vs))
        codings = [(s, c) for s, c, _ in self._codings(a) if s and c]
        if not codings:
            return "not-in-value-set"
        systems = {inc.get("system") for inc in includes}
        if not any(s in systems for s, _ in codings) and None not in systems:
            return "data-error:not-in-value-set"
        for s, c in codings:
            for inc in includes:
                if inc.get("system") != s:
                    continue
                if self._covered_by_hierarchy(s, c, inc):
                    return "hierarchy-ignored"
                if s == LOINC and _part_filter(inc):
                    said = any("part" in issue_text(i).lower() for i in issues)
                    return "part-data-unavailable" if said else "empty-part-filter"
                listed = {x.get("code") for x in inc.get("concept") or []}
                if c in listed and not inc.get("filter"):
                    return "other"  # enumerated in the include, yet "not in the value set"
        return "not-in-value-set"

    def _includes(self, vs: JSON, depth: int = 0) -> list[JSON]:
        out: list[JSON] = []
        for inc in (vs.get("compose") or {}).get("include") or []:
            out.append(inc)
            for ref in inc.get("valueSet") or []:
                sub = find(self.packages, "value_sets", ref)
                if sub is not None and depth < 3:
                    out += self._includes(sub, depth + 1)
        return out

    def _covered_by_hierarchy(self, system: str, code: str, inc: JSON) -> bool:
        filters = inc.get("filter") or []
        hier = [f for f in filters if f.get("op") in ("is-a", "descendent-of")
                and f.get("property") in ("concept", "code", None)]
        if not hier or len(hier) != len(filters):
            return False
        ancestors = self.ancestors(system, code)
        if not ancestors:
            return False
        return all(f.get("value") in ancestors or (f.get("op") == "is-a" and
                                                   f.get("value") == code) for f in hier)

    def ancestors(self, system: str, code: str) -> set[str]:
        """Every ancestor of `code` in the package copy of `system` (empty when unknown)."""
        parents = self._parent_map(system)
        seen: set[str] = set()
        todo = list(parents.get(code, ()))
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo += parents.get(p, ())
        return seen

    def _parent_map(self, system: str) -> dict[str, set[str]]:
        if system not in self._parents:
            cs = find(self.packages, "code_systems", system)
            self._parents[system] = parent_map(cs) if cs is not None else {}
        return self._parents[system]


def parent_map(cs: JSON) -> dict[str, set[str]]:
    """code → parent codes, from concept nesting and from properties declared as `#parent`
    (or named `parent`/`subsumedBy`), as the code system resource states them."""
    names = {p.get("code") for p in cs.get("property") or []
             if p.get("uri") == PARENT_URI or p.get("code") in ("parent", "subsumedBy")}
    out: dict[str, set[str]] = {}

    def walk(concepts: list[Any], parent: str | None) -> None:
        for c in concepts:
            code = c.get("code")
            if parent is not None:
                out.setdefault(code, set()).add(parent)
            for prop in c.get("property") or []:
                if prop.get("code") in names and isinstance(prop.get("valueCode"), str):
                    out.setdefault(code, set()).add(prop["valueCode"])
            walk(c.get("concept") or [], code)

    walk(cs.get("concept") or [], None)
    return out


LICENSED = ("http://snomed.info/sct", "http://fhir.de/CodeSystem/bfarm/", "http://fhir.de/"
            "CodeSystem/ifa/pzn", "http://fhir.de/CodeSystem/ask", "http://www.whocc.no/atc",
            "http://fhir.de/CodeSystem/dimdi/")
GRAMMAR = ("http://unitsofmeasure.org", "urn:ietf:bcp:47", "urn:ietf:bcp:13",
           "urn:iso:std:iso:3166")


def unavailable_kind(system: str) -> str:
    if system.startswith(LICENSED):
        return "licensed"
    if system.startswith(GRAMMAR):
        return "grammar"
    if system.startswith("http://hl7.org/fhir/") and "/uv/" not in system:
        return "fhir-core"
    return "external"


def _part_filter(inc: JSON) -> bool:
    return any(isinstance(f.get("value"), str) and re.match(r"^LP\d+-\d$", f["value"])
               for f in inc.get("filter") or [])
