"""ISO 3166 country codes (`urn:iso:std:iso:3166`: alpha-2, alpha-3 and numeric codes of
ISO 3166-1, plus the user-assigned alpha-2 ranges) and subdivision codes
(`urn:iso:std:iso:3166:-2`), from the `pycountry` package's copy of the Debian iso-codes data.
Both are finite and expand. Displays are the English short names.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pycountry

from termserver.grammar.provider import GrammarCodeSystem
from termserver.model import CodeSystemInfo, Concept, ConceptDetail, ConceptProperty, Designation

ISO3166 = "urn:iso:std:iso:3166"
ISO3166_2 = "urn:iso:std:iso:3166:-2"
#: The edition label the FHIR terminology ecosystem uses for ISO 3166-1 (tx.fhir.org answers
#: `urn:iso:std:iso:3166|2018`); the data itself is the current list shipped by pycountry.
VERSION = "2018"
USER_ASSIGNED = "User-assigned"


def _user_assigned() -> list[str]:
    """ISO 3166-1 §8.1.3 user-assigned alpha-2 codes: AA, QM–QZ, XA–XZ, ZZ."""
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    return ["AA", *[f"Q{c}" for c in letters if c >= "M"], *[f"X{c}" for c in letters], "ZZ"]


@cache
def _countries() -> dict[str, ConceptDetail]:
    out: dict[str, ConceptDetail] = {}
    for country in pycountry.countries:
        names = [country.name]
        for extra in ("official_name", "common_name"):
            value = getattr(country, extra, None)
            if value and value not in names:
                names.append(value)
        for kind in ("alpha_2", "alpha_3", "numeric"):
            code = str(getattr(country, kind))
            out[code] = ConceptDetail(
                Concept(code, country.name),
                designations=tuple(Designation(code, n, "en") for n in names[1:]),
                properties=(ConceptProperty(code, "type", kind.replace("_", "-"), "code"),))
    for code in _user_assigned():
        out.setdefault(code, ConceptDetail(Concept(code, USER_ASSIGNED), properties=(
            ConceptProperty(code, "type", "user-assigned", "code"),)))
    return dict(sorted(out.items()))


@cache
def _subdivisions() -> dict[str, ConceptDetail]:
    out: dict[str, ConceptDetail] = {}
    for sub in pycountry.subdivisions:
        parent = getattr(sub, "parent_code", None)
        props = [ConceptProperty(sub.code, "country", sub.country_code, "code")]
        if sub.type:
            props.append(ConceptProperty(sub.code, "type", sub.type, "string"))
        out[sub.code] = ConceptDetail(Concept(sub.code, sub.name), properties=tuple(props),
                                      parents=(parent,) if parent else ())
    return dict(sorted(out.items()))


class CountryCodes(GrammarCodeSystem):
    enumerable = True
    filters = {"type": ("=", "in")}

    def __init__(self) -> None:
        super().__init__(CodeSystemInfo(
            ISO3166, VERSION, name="ISO3166Part1", title="ISO 3166-1 Country Codes",
            case_sensitive=True, language="en"))

    def describe(self, code: str) -> ConceptDetail | None:
        return _countries().get(code)

    def enumerate(self) -> Iterable[ConceptDetail]:
        return _countries().values()


class SubdivisionCodes(GrammarCodeSystem):
    enumerable = True
    filters = {"country": ("=", "in"), "type": ("=", "in")}

    def __init__(self) -> None:
        super().__init__(CodeSystemInfo(
            ISO3166_2, None, name="ISO3166Part2", title="ISO 3166-2 Country Subdivision Codes",
            case_sensitive=True, language="en"))

    def describe(self, code: str) -> ConceptDetail | None:
        return _subdivisions().get(code)

    def enumerate(self) -> Iterable[ConceptDetail]:
        return _subdivisions().values()

    def descendants(self, code: str) -> set[str]:
        found: set[str] = set()
        todo = [code]
        while todo:
            here = todo.pop()
            for d in _subdivisions().values():
                if here in d.parents and d.concept.code not in found:
                    found.add(d.concept.code)
                    todo.append(d.concept.code)
        return found

    def ancestors(self, code: str) -> set[str]:
        found: set[str] = set()
        detail = _subdivisions().get(code)
        while detail is not None and detail.parents:
            parent = detail.parents[0]
            if parent in found:
                break
            found.add(parent)
            detail = _subdivisions().get(parent)
        return found
