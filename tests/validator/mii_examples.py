"""The coded elements of the MII KDS example resources, found as the HL7 validator finds them.

Each example is walked along the snapshot of the profile it claims (`meta.profile`, from the
same packages); every Coding, CodeableConcept and bound `code` yields one `Coded` item with the
binding (ValueSet and strength) of the element or of the slice the coding matches (slices are
matched on fixed/pattern `system`, `url` and pattern codings, as the validator's discriminators
do for these profiles). Extensions are walked along their own StructureDefinition. No network,
no server: only the package files.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
#: Resource types that are definitions, not instance examples.
DEFINITIONS = frozenset({
    "StructureDefinition", "ValueSet", "CodeSystem", "ConceptMap", "CapabilityStatement",
    "SearchParameter", "OperationDefinition", "ImplementationGuide", "NamingSystem",
    "StructureMap", "Questionnaire", "ActivityDefinition", "MessageDefinition",
    "GraphDefinition", "CompartmentDefinition", "ExampleScenario", "TerminologyCapabilities"})
#: Elements whose content is never terminology the validator checks against a server.
SKIP_KEYS = frozenset({"text", "meta", "id", "contained", "narrative"})
#: Quantity types (their `code` is a unit, not bound by the element's ValueSet binding).
QUANTITIES = ("Quantity", "Duration", "Age", "Distance", "Count", "Money")


@dataclass
class Packages:
    """The conformance resources and examples of a set of FHIR npm packages."""

    structure_definitions: dict[str, JSON] = field(default_factory=dict)
    value_sets: dict[str, JSON] = field(default_factory=dict)
    code_systems: dict[str, JSON] = field(default_factory=dict)
    examples: list[tuple[str, JSON]] = field(default_factory=list)  # (package, resource)

    @classmethod
    def read(cls, paths: list[Path], examples_from: set[str] | None = None) -> Packages:
        """Every package in `paths`; examples only from packages named in `examples_from`
        (all when None)."""
        out = cls()
        for path in paths:
            name = path.name.removesuffix(".tgz")
            with tarfile.open(path, "r:gz") as tar:
                for member in tar:
                    if not member.isfile() or not member.name.endswith(".json") or \
                            member.name.rsplit("/", 1)[-1].startswith("."):
                        continue
                    raw = tar.extractfile(member)
                    if raw is None:
                        continue
                    try:
                        data = json.loads(raw.read())
                    except ValueError:
                        continue
                    if isinstance(data, dict) and "resourceType" in data:
                        take = examples_from is None or name in examples_from
                        out._add(name, data, take)
        return out

    def _add(self, package: str, data: JSON, take_examples: bool) -> None:
        rtype = data["resourceType"]
        url = data.get("url")
        if rtype == "StructureDefinition" and url:
            self.structure_definitions.setdefault(url, data)
        elif rtype == "ValueSet" and url:
            self.value_sets.setdefault(url, data)
        elif rtype == "CodeSystem" and url:
            self.code_systems.setdefault(url, data)
        elif rtype == "Bundle" and take_examples:
            for entry in data.get("entry") or []:
                res = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(res, dict) and res.get("resourceType") not in DEFINITIONS:
                    self.examples.append((package, res))
        elif rtype not in DEFINITIONS and take_examples and rtype != "package":
            self.examples.append((package, data))


@dataclass(frozen=True)
class Coded:
    """One coded element of one example, with the binding the validator applies to it."""

    package: str
    resource: str  # ResourceType/id
    path: str  # the instance path, e.g. Observation.code
    kind: str  # "Coding", "CodeableConcept" or "code"
    value: Any  # the Coding / CodeableConcept JSON, or the code string
    value_set: str | None  # the binding's ValueSet canonical (may hold |version)
    strength: str | None


class Walker:
    def __init__(self, packages: Packages) -> None:
        self.packages = packages
        self._elements: dict[str, dict[str, JSON]] = {}

    def elements(self, sd_url: str) -> dict[str, JSON] | None:
        """The snapshot elements of a profile by element id (None when the profile is not in
        the packages, e.g. a core FHIR one)."""
        url = sd_url.split("|", 1)[0]
        if url not in self._elements:
            sd = self.packages.structure_definitions.get(url)
            if sd is None or "snapshot" not in sd:
                return None
            self._elements[url] = {e["id"]: e for e in sd["snapshot"]["element"] if "id" in e}
        return self._elements[url]

    def coded(self) -> Iterator[Coded]:
        for package, resource in self.packages.examples:
            rtype = resource["resourceType"]
            label = f"{rtype}/{resource.get('id', '?')}"
            profiles = (resource.get("meta") or {}).get("profile") or []
            elements = next((e for e in map(self.elements, profiles) if e is not None), None)
            yield from self._walk(package, label, resource, rtype, rtype, elements or {})

    def _walk(self, package: str, label: str, node: JSON, path: str, eid: str,
              elements: dict[str, JSON]) -> Iterator[Coded]:
        for key, value in node.items():
            if key in SKIP_KEYS or key.startswith("_") or key == "resourceType":
                continue
            child_path, child_id = f"{path}.{key}", self._child_id(eid, key, elements)
            items = value if isinstance(value, list) else [value]
            for item in items:
                yield from self._item(package, label, item, key, child_path, child_id, elements)

    def _item(self, package: str, label: str, item: Any, key: str, path: str, eid: str,
              elements: dict[str, JSON]) -> Iterator[Coded]:
        if key in ("extension", "modifierExtension") and isinstance(item, dict):
            yield from self._extension(package, label, item, path, eid, elements)
            return
        if isinstance(item, dict):
            eid = self._slice(eid, item, elements)
            binding = _binding(elements, eid)
            if isinstance(item.get("coding"), list):  # CodeableConcept
                yield Coded(package, label, path, "CodeableConcept", item, *binding)
                for coding in item["coding"]:
                    if isinstance(coding, dict):
                        cid = self._slice(f"{eid}.coding", coding, elements)
                        yield Coded(package, label, f"{path}.coding", "Coding", coding,
                                    *_binding(elements, cid, own_only=True))
                return
            if "code" in item and ("system" in item or key.endswith("Coding")
                                   or key == "coding"):
                if key.endswith(QUANTITIES):  # a choice's binding is for its coded types
                    binding = _binding(elements, f"{eid}.code", own_only=True)
                yield Coded(package, label, path, "Coding", item, *binding)
                return
            yield from self._walk(package, label, item, path, eid, elements)
        elif isinstance(item, str):
            element = _element(elements, eid)
            if element is not None and any(t.get("code") == "code"
                                           for t in element.get("type") or []):
                vs, strength = _binding(elements, eid)
                if vs is not None:
                    yield Coded(package, label, path, "code", item, vs, strength)

    def _extension(self, package: str, label: str, ext: JSON, path: str, eid: str,
                   elements: dict[str, JSON]) -> Iterator[Coded]:
        url = ext.get("url")
        if not isinstance(url, str):
            return
        own = self.elements(url)
        if own is not None:  # the extension's own definition
            sub_path, sub_id, sub_elements = f"{path}[{url}]", "Extension", own
        else:  # a sub-extension of a complex extension: its slice in the parent
            sub_id = self._slice(eid, ext, elements)
            sub_path, sub_elements = f"{path}[{url}]", elements
        for key, value in ext.items():
            if key == "url":
                continue
            items = value if isinstance(value, list) else [value]
            child_id = self._child_id(sub_id, key, sub_elements)
            for item in items:
                yield from self._item(package, label, item, key, f"{sub_path}.{key}", child_id,
                                      sub_elements)

    @staticmethod
    def _child_id(eid: str, key: str, elements: dict[str, JSON]) -> str:
        if f"{eid}.{key}" in elements:
            return f"{eid}.{key}"
        for prefix in ("value", "effective", "onset", "abatement", "deceased", "multipleBirth",
                       "occurrence", "performed", "medication", "reported", "born", "age",
                       "timing", "serviced", "location", "product", "item", "asNeeded",
                       "dose", "rate", "defaultValue", "fixed", "pattern", "answer",
                       "allowed", "used", "content", "collected", "fastingStatus"):
            if key.startswith(prefix) and key[len(prefix):][:1].isupper():
                choice = f"{eid}.{prefix}[x]"
                typed = f"{choice}:{key}"
                if typed in elements:
                    return typed
                return choice
        return f"{eid}.{key}"

    @staticmethod
    def _slice(eid: str, item: JSON, elements: dict[str, JSON]) -> str:
        """The id of the slice `item` belongs to (or `eid` when none matches)."""
        prefix = f"{eid}:"
        names = {k[len(prefix):].split(".", 1)[0] for k in elements if k.startswith(prefix)}
        for name in sorted(names, key=len, reverse=True):
            sid = f"{eid}:{name}"
            if _matches(item, sid, elements):
                return sid
        return eid


def _matches(item: JSON, sid: str, elements: dict[str, JSON]) -> bool:
    """Does `item` meet the fixed/pattern values of slice `sid` (system, url, pattern)?"""
    checks = 0
    element = elements.get(sid) or {}
    for key, want in element.items():
        if key.startswith(("pattern", "fixed")) and isinstance(want, dict):
            checks += 1
            if not _contains(item, want):
                return False
    for child in ("system", "url", "code"):
        ce = elements.get(f"{sid}.{child}") or {}
        for key, want in ce.items():
            if key.startswith(("pattern", "fixed")):
                checks += 1
                if item.get(child) != want:
                    return False
    for coding in ("coding",):
        ce = elements.get(f"{sid}.{coding}") or {}
        for key, want in ce.items():
            if key.startswith("pattern") and isinstance(want, dict):
                checks += 1
                if not any(_contains(c, want) for c in item.get("coding") or []):
                    return False
    if not checks:  # an extension slice: its type profile names the extension url
        for t in element.get("type") or []:
            if item.get("url") in (t.get("profile") or []):
                return True
        return False
    return True


def _contains(item: Any, pattern: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(item, dict) and all(_contains(item.get(k), v)
                                              for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(item, list) and all(any(_contains(i, p) for i in item)
                                              for p in pattern)
    return bool(item == pattern)


def _element(elements: dict[str, JSON], eid: str) -> JSON | None:
    """The element `eid`, else the same element outside its slices (a slice inherits the
    base element's definition where it does not restate it)."""
    while True:
        if eid in elements:
            return elements[eid]
        parts = eid.rsplit(":", 1)
        if len(parts) == 1:
            return None
        head, tail = parts
        rest = tail.split(".", 1)
        eid = head + ("." + rest[1] if len(rest) > 1 else "")


def _binding(elements: dict[str, JSON], eid: str, own_only: bool = False
             ) -> tuple[str | None, str | None]:
    """(ValueSet, strength) of the element; `own_only`: only a binding stated on exactly this
    element id (a coding slice), not the CodeableConcept's."""
    element = elements.get(eid) if own_only else _element(elements, eid)
    binding = (element or {}).get("binding") or {}
    vs = binding.get("valueSet")
    return (vs if isinstance(vs, str) else None), binding.get("strength")
