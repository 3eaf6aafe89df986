"""CapabilityStatement and TerminologyCapabilities, built from what is really implemented."""

from __future__ import annotations

from collections.abc import Sequence

from termserver import __version__
from termserver.model import JSON

RELEASE_DATE = "2026-11-22"

#: Type-level interactions per stored resource type: what the API routes really serve.
INTERACTIONS = ("read", "create", "update", "delete", "search-type")
SEARCH_PARAMS = (("url", "uri"), ("version", "token"), ("name", "string"), ("title", "string"),
                 ("status", "token"), ("_id", "token"))

#: (resource type, operation name, definition) — every one has a route; a test checks that.
OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("CodeSystem", "lookup", "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup"),
    ("CodeSystem", "validate-code",
     "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code"),
    ("CodeSystem", "subsumes", "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes"),
    ("ValueSet", "expand", "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"),
    ("ValueSet", "validate-code", "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code"),
    ("ValueSet", "batch-validate-code",
     "http://hl7.org/fhir/uv/tx-ecosystem/OperationDefinition/ValueSet-batch-validate-code"),
    ("ConceptMap", "translate", "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate"),
)
#: (operation name, definition) of system-level operations, served at the FHIR base.
SYSTEM_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("closure", "http://hl7.org/fhir/OperationDefinition/ConceptMap-closure"),
    ("versions", "http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions"),
    ("cache-control", "http://hl7.org/fhir/tools/OperationDefinition/cache-control"),
)
#: Custom system-level operations over NDJSON streams (api/routes/bulk.py): (name, what).
BULK_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("translate-bulk", "ConceptMap $translate for one coding per NDJSON line, streamed"),
    ("lookup-bulk", "CodeSystem $lookup for one coding per NDJSON line, streamed"),
    ("validate-code-bulk", "CodeSystem or ValueSet $validate-code for one coding per NDJSON "
     "line, streamed"),
)
#: The tx-ecosystem test suite version this server is built against (feature `test-version`).
TX_TEST_VERSION = "1.9.3"
FEATURE = "http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature"
#: $expand parameters supported, as TerminologyCapabilities.expansion.parameter lists them.
EXPANSION_PARAMETERS = (
    "activeOnly", "check-system-version", "count", "displayLanguage", "excludeNested",
    "filter", "force-system-version", "includeDefinition", "includeDesignations", "offset",
    "property", "system-version", "tx-resource",
)

#: Code systems served without loading (termserver.grammar, registered at start-up): (url,
#: version, ((filter property, operators), …)).
GRAMMAR_CODE_SYSTEMS: list[tuple[str, str | None, tuple[tuple[str, tuple[str, ...]], ...]]] = []


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
        "extension": [
            _feature("http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version",
                     {"valueCode": TX_TEST_VERSION}),
            _feature("http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/"
                     "CodeSystemAsParameter", {"valueBoolean": True}),
        ],
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
            "interaction": [{"code": "batch"}],
            "operation": [{"name": name, "definition": d} for name, d in SYSTEM_OPERATIONS] + [
                {"name": name, "definition": f"{base_url}/OperationDefinition/{name}",
                 "documentation": f"{what} (application/x-ndjson in and out; see the README)"}
                for name, what in BULK_OPERATIONS],
        }],
    }


def _feature(definition: str, value: JSON) -> JSON:
    return {"url": FEATURE, "extension": [{"url": "definition", "valueCanonical": definition},
                                          {"url": "value", **value}]}


def terminology_capabilities(base_url: str, code_systems: Sequence[tuple[str, str | None]]
                             ) -> JSON:
    """`code_systems`: (url, version) of every code system served, oldest version first."""
    by_url: dict[str, list[str | None]] = {}
    for url, version in code_systems:
        by_url.setdefault(url, []).append(version)
    filters: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
    for url, version, supported in GRAMMAR_CODE_SYSTEMS:
        by_url.setdefault(url, []).append(version)
        filters[url] = supported
    entries = []
    for url in sorted(by_url):
        entry: JSON = {"uri": url}
        listed: list[JSON] = [{"code": v} for v in dict.fromkeys(by_url[url]) if v]
        if listed:
            listed[-1]["isDefault"] = True  # versions arrive sorted oldest → newest
            entry["version"] = listed
        if filters.get(url):
            described = [{"code": p, "op": list(ops)} for p, ops in filters[url]]
            if listed:
                listed[-1]["filter"] = described
            else:
                entry["version"] = [{"isDefault": True, "filter": described}]
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
        "expansion": {"hierarchical": True, "paging": True,
                      "parameter": [{"name": n} for n in EXPANSION_PARAMETERS]},
        "translation": {"needsMap": False},
        "closure": {"translation": False},
    }
