"""Typed results of the client, parsed from a FHIR Parameters / ValueSet answer or from a bulk
NDJSON result line (both give the same object). Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class LineError:
    """A bulk line the server could not answer: FHIR issue type and text."""

    code: str
    message: str
    message_id: str | None = None

    @classmethod
    def from_json(cls, data: JSON) -> LineError:
        return cls(str(data.get("code") or "exception"), str(data.get("message") or ""),
                   data.get("messageId"))


#: R4 equivalence → R5 relationship (the FHIR R5 "R4 to R5" conversion map), for an R4 answer.
EQUIVALENCE_TO_RELATIONSHIP = {
    "relatedto": "related-to", "equivalent": "equivalent", "equal": "equivalent",
    "wider": "source-is-narrower-than-target", "subsumes": "source-is-narrower-than-target",
    "narrower": "source-is-broader-than-target", "specializes": "source-is-broader-than-target",
    "inexact": "related-to", "unmatched": "not-related-to", "disjoint": "not-related-to",
}


@dataclass(frozen=True)
class Match:
    """One target of a $translate answer; `relationship` is R5's (converted from an R4
    `equivalence` when the server sent only that)."""

    relationship: str | None
    system: str | None = None
    code: str | None = None
    display: str | None = None
    version: str | None = None
    conceptmap: str | None = None
    equivalence: str | None = None

    @property
    def is_mapped(self) -> bool:
        """A target code that is not 'not-related-to' (R5) / 'disjoint'/'unmatched' (R4)."""
        return bool(self.code) and self.relationship != "not-related-to" \
            and self.equivalence not in ("disjoint", "unmatched")


@dataclass(frozen=True)
class TranslateResult:
    result: bool
    matches: tuple[Match, ...] = ()
    message: str | None = None
    error: LineError | None = None

    @property
    def best(self) -> Match | None:
        """The first mapped target (the server lists the best first), or None."""
        return next((m for m in self.matches if m.is_mapped), None)

    @classmethod
    def from_json(cls, data: JSON) -> TranslateResult:
        """From a bulk result line or a flattened Parameters (`flatten`)."""
        if "error" in data:
            err = LineError.from_json(data["error"])
            return cls(False, (), err.message, err)
        matches = []
        for m in data.get("matches") or []:
            concept = m.get("concept") if isinstance(m.get("concept"), dict) else m
            equivalence = m.get("equivalence")
            matches.append(Match(
                m.get("relationship") or EQUIVALENCE_TO_RELATIONSHIP.get(str(equivalence)),
                concept.get("system"), concept.get("code"),
                concept.get("display"), concept.get("version"),
                m.get("conceptmap") or m.get("originMap"), equivalence))
        return cls(bool(data.get("result")), tuple(matches), data.get("message"))


@dataclass(frozen=True)
class Issue:
    severity: str | None
    code: str | None
    text: str | None


@dataclass(frozen=True)
class ValidateResult:
    result: bool
    code: str | None = None
    system: str | None = None
    version: str | None = None
    display: str | None = None
    message: str | None = None
    inactive: bool | None = None
    issues: tuple[Issue, ...] = ()
    error: LineError | None = None

    @classmethod
    def from_json(cls, data: JSON) -> ValidateResult:
        if "error" in data:
            err = LineError.from_json(data["error"])
            return cls(False, message=err.message, error=err)
        issues = tuple(Issue(i.get("severity"), i.get("code"), i.get("text"))
                       for i in data.get("issues") or [])
        return cls(bool(data.get("result")), data.get("code"), data.get("system"),
                   data.get("version"), data.get("display"), data.get("message"),
                   data.get("inactive"), issues)


@dataclass(frozen=True)
class LookupResult:
    found: bool
    name: str | None = None
    version: str | None = None
    display: str | None = None
    definition: str | None = None
    abstract: bool | None = None
    inactive: bool | None = None
    designations: tuple[JSON, ...] = ()
    properties: tuple[JSON, ...] = ()
    error: LineError | None = None

    def property(self, code: str) -> Any:
        """The value of the first property `code`, or None."""
        for prop in self.properties:
            if prop.get("code") == code:
                return next((v for k, v in prop.items() if k.startswith("value")), None)
        return None

    @classmethod
    def from_json(cls, data: JSON) -> LookupResult:
        if "error" in data:
            return cls(False, error=LineError.from_json(data["error"]))
        return cls(True, data.get("name"), data.get("version"), data.get("display"),
                   data.get("definition"), data.get("abstract"), data.get("inactive"),
                   tuple(data.get("designations") or ()), tuple(data.get("properties") or ()))


@dataclass(frozen=True)
class Concept:
    system: str | None
    code: str | None
    display: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class ExpandResult:
    """A ValueSet expansion: total (if the server counted) and the concepts of this page."""

    url: str | None
    total: int | None
    offset: int
    contains: tuple[Concept, ...] = field(default=())
    resource: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_value_set(cls, vs: JSON) -> ExpandResult:
        exp = vs.get("expansion") or {}
        out: list[Concept] = []
        stack = list(reversed(exp.get("contains") or []))
        while stack:  # nested contains, flattened in document order
            c = stack.pop()
            if c.get("code"):
                out.append(Concept(c.get("system"), c.get("code"), c.get("display"),
                                   c.get("version")))
            stack.extend(reversed(c.get("contains") or []))
        return cls(vs.get("url"), exp.get("total"), int(exp.get("offset") or 0), tuple(out), vs)


@dataclass(frozen=True)
class SubsumesResult:
    """equivalent, subsumes, subsumed-by or not-subsumed."""

    outcome: str


_PLURAL = {"designation": "designations", "property": "properties", "match": "matches",
           "issues": "issues"}


def flatten(parameters: JSON) -> JSON:
    """A Parameters resource as one flat object: parts as objects, repeating parameters as
    lists under a plural name, an OperationOutcome as `issues` [{severity, code, text}]."""
    out: JSON = {}
    for prm in parameters.get("parameter") or []:
        name = prm.get("name")
        value: Any
        if "part" in prm:
            value = flatten({"parameter": prm["part"]})
        elif "resource" in prm:
            name = "issues"
            value = [{"severity": i.get("severity"), "code": i.get("code"),
                      "text": (i.get("details") or {}).get("text") or i.get("diagnostics")}
                     for i in prm["resource"].get("issue") or []]
        else:
            value = next((v for k, v in prm.items() if k.startswith("value")), None)
        if name in _PLURAL:
            if isinstance(value, list):
                out.setdefault(_PLURAL[name], []).extend(value)
            else:
                out.setdefault(_PLURAL[name], []).append(value)
        else:
            out[name] = value
    return out
