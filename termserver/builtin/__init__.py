"""Built-in FHIR core content: small core CodeSystems and ValueSets (administrative-gender,
publication-status, …) every client takes for granted. Loaded from content/*.json once, and
served at the FHIR version the client asks for (4.0.1 on R4, 5.0.0 on R5). See NOTICE.

`install()` registers the content with the TxContext hook (termserver.service.context.BUILTIN),
which consults it after the request's own resources and the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import orjson

from termserver.fhir.codesystem import code_system_info, code_system_records
from termserver.fhir.valueset import value_set_definition
from termserver.fhir.version import FULL_VERSION, FhirVersion
from termserver.model import JSON, ValueSetDefinition
from termserver.service import context
from termserver.service.provider import MemoryCodeSystem

CONTENT = Path(__file__).parent / "content"


@cache
def resources() -> tuple[JSON, ...]:
    """The built-in resources as stored in the files (version 4.0.1)."""
    return tuple(orjson.loads(p.read_bytes()) for p in sorted(CONTENT.glob("*.json")))


def resources_at(fhir_version: str) -> list[JSON]:
    """The built-in resources as a client of `fhir_version` ("4.0" or "5.0") sees them."""
    full = _full(fhir_version)
    return [{**r, "version": full} for r in resources()]


class BuiltinContent:
    """The BuiltinContent of termserver.service.context, per FHIR version, built lazily."""

    def code_systems(self, url: str, fhir_version: str) -> Sequence[MemoryCodeSystem]:
        return _code_systems(_full(fhir_version)).get(url, ())

    def value_sets(self, url: str, fhir_version: str) -> Sequence[ValueSetDefinition]:
        return _value_sets(_full(fhir_version)).get(url, ())


def install() -> None:
    """Make the built-in content visible to every TxContext (idempotent)."""
    if not any(isinstance(b, BuiltinContent) for b in context.BUILTIN):
        context.BUILTIN.append(BuiltinContent())


def _full(fhir_version: str) -> str:
    key: FhirVersion = "5.0" if fhir_version.startswith("5") else "4.0"
    return FULL_VERSION[key]


@cache
def _code_systems(full: str) -> dict[str, tuple[MemoryCodeSystem, ...]]:
    out: dict[str, tuple[MemoryCodeSystem, ...]] = {}
    for r in resources():
        if r.get("resourceType") == "CodeSystem":
            data = {**r, "version": full}
            cs = MemoryCodeSystem(code_system_info(data), list(code_system_records(data)))
            out[cs.url] = (*out.get(cs.url, ()), cs)
    return out


@cache
def _value_sets(full: str) -> dict[str, tuple[ValueSetDefinition, ...]]:
    out: dict[str, tuple[ValueSetDefinition, ...]] = {}
    for r in resources():
        if r.get("resourceType") == "ValueSet":
            vs = value_set_definition({**r, "version": full})
            out[str(vs.url)] = (*out.get(str(vs.url), ()), vs)
    return out
