"""Implicit LOINC value sets (https://loinc.org/fhir/): `http://loinc.org/vs` is all of LOINC,
`http://loinc.org/vs/{LL…}` the answers of one answer list, in list order.

Registered in `context.IMPLICIT_VALUE_SETS` by `install()`; answers from the loaded LOINC
version (the one `version` names, else the newest), so nothing is stored for them.
"""

from __future__ import annotations

import re

from termserver.model import ConceptReference, ConceptSet, Filter, ValueSetDefinition
from termserver.service import context
from termserver.service.context import TxContext

SYSTEM = "http://loinc.org"
ALL = "http://loinc.org/vs"
_ANSWER_LIST = re.compile(r"^LL\d+-\d$")
COPYRIGHT = ("This material contains content from LOINC (http://loinc.org). LOINC is copyright "
             "© Regenstrief Institute, Inc. and the Logical Observation Identifiers Names and "
             "Codes (LOINC) Committee and is available at no cost under the license at "
             "http://loinc.org/license.")


def loinc_value_set(ctx: TxContext, url: str, version: str | None) -> ValueSetDefinition | None:
    """The implicit value set `url` (version = the LOINC version), or None."""
    if url != ALL and not url.startswith(ALL + "/"):
        return None
    provider = ctx.code_system(SYSTEM, version)
    if provider is None:
        return None
    pinned = version is not None
    cs_version = provider.version
    if url == ALL:
        include = ConceptSet(system=SYSTEM, version=cs_version if pinned else None)
        return _definition(url, cs_version, "LOINC", "All LOINC codes", include,
                           {"system": SYSTEM})
    code = url[len(ALL) + 1:]
    if not _ANSWER_LIST.match(code):
        return None
    detail = provider.lookup(code)
    if detail is None:
        return None
    answers = [ConceptReference(p.value, p.value_display)
               for p in detail.properties if p.property == "Answer"]
    compose: dict[str, object] = {"system": SYSTEM}
    if answers:
        include = ConceptSet(system=SYSTEM, version=cs_version if pinned else None,
                             concepts=tuple(answers))
        compose["concept"] = [{"code": a.code, **({"display": a.display} if a.display else {})}
                              for a in answers]
    else:  # an externally defined list: no LOINC answers (never "all of LOINC")
        include = ConceptSet(system=SYSTEM, version=cs_version if pinned else None,
                             filters=(Filter("LIST", "=", code),))
        compose["filter"] = [{"property": "LIST", "op": "=", "value": code}]
    title = detail.concept.display or code
    return _definition(url, cs_version, f"LOINC_{code.replace('-', '_')}", title, include,
                       compose)


def _definition(url: str, version: str | None, name: str, title: str, include: ConceptSet,
                compose_include: dict[str, object]) -> ValueSetDefinition:
    if include.version:
        compose_include = {**compose_include, "version": include.version}
    resource = {"resourceType": "ValueSet", "url": url, **({"version": version} if version
                                                              else {}),
                "name": name, "title": title, "status": "active", "copyright": COPYRIGHT,
                "compose": {"include": [compose_include]}}
    return ValueSetDefinition(url=url, version=version, include=(include,), resource=resource)


def install() -> None:
    """Register the resolver (once) with the TxContext hook."""
    if loinc_value_set not in context.IMPLICIT_VALUE_SETS:
        context.IMPLICIT_VALUE_SETS.append(loinc_value_set)
