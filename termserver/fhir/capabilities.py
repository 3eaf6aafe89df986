"""CapabilityStatement and TerminologyCapabilities, built from what is really implemented."""

from __future__ import annotations

from collections.abc import Sequence

from termserver import __version__
from termserver.model import JSON, StoredCodeSystem

RELEASE_DATE = "2026-11-22"

#: Type-level interactions per stored resource type: what the API routes really serve.
INTERACTIONS = ("read", "create", "update", "delete", "search-type")
SEARCH_PARAMS = (("url", "uri"), ("version", "token"), ("name", "string"), ("title", "string"),
                 ("status", "token"), ("_id", "token"))

#: (resource type, operation name, definition) — every one has a route; a test checks that.
OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("CodeSystem", "lookup", "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup"),
    ("ValueSet", "expand", "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"),
)


def capability_statement(base_url: str, fhir_version: str = "4.0.1") -> JSON:
    resources = []
    for rtype in ("CodeSystem", "ValueSet", "ConceptMap"):
        entry: JSON = {
            "type": rtype,
            "profile": f"http://hl7.org/fhir/StructureDefinition/{rtype}",
            "interaction": [{"code": c} for c in INTERACTIONS],
            "versioning": "versioned-update",
            "updateCreate": True,
            "conditionalDelete": "not-supported",
            "searchParam": [{"name": n, "type": t} for n, t in SEARCH_PARAMS],
        }
        ops = [{"name": name, "definition": d} for t, name, d in OPERATIONS if t == rtype]
        if ops:
            entry["operation"] = ops
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "id": "termserver",
        "url": f"{base_url}/metadata",
        "version": __version__,
        "name": "TermserverCapabilityStatement",
        "title": "termserver FHIR terminology server",
        "status": "active",
        "date": RELEASE_DATE,
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/CapabilityStatement/terminology-server"],
        "software": {"name": "termserver", "version": __version__, "releaseDate": RELEASE_DATE},
        "implementation": {"description": "termserver", "url": base_url},
        "fhirVersion": fhir_version,
        "format": ["application/fhir+json", "application/json"],
        "rest": [{
            "mode": "server",
            "security": {"cors": False, "description":
                         "Writes need a bearer token when TERMSERVER_API_TOKENS is set."},
            "resource": resources,
        }],
    }


def terminology_capabilities(base_url: str, code_systems: Sequence[StoredCodeSystem]) -> JSON:
    by_url: dict[str, list[StoredCodeSystem]] = {}
    for cs in code_systems:
        by_url.setdefault(cs.url, []).append(cs)
    entries = []
    for url in sorted(by_url):
        versions = by_url[url]
        entry: JSON = {"uri": url}
        listed: list[JSON] = [{"code": cs.version} for cs in versions if cs.version]
        if listed:
            listed[-1]["isDefault"] = True  # versions arrive sorted oldest → newest
            entry["version"] = listed
        entries.append(entry)
    return {
        "resourceType": "TerminologyCapabilities",
        "id": "termserver",
        "url": f"{base_url}/metadata?mode=terminology",
        "version": __version__,
        "name": "TermserverTerminologyCapabilities",
        "title": "termserver terminology capabilities",
        "status": "active",
        "date": RELEASE_DATE,
        "kind": "instance",
        "software": {"name": "termserver", "version": __version__},
        "codeSystem": entries,
    }
