"""GET /metadata: CapabilityStatement, or TerminologyCapabilities with ?mode=terminology.
Both in the FHIR version the client asks for (Accept `fhirVersion=`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from termserver.api.deps import BaseUrlDep, FhirVersionDep, ReadStoreDep
from termserver.api.responses import FHIRJSONResponse
from termserver.builtin import resources_at
from termserver.errors import InvalidRequest
from termserver.fhir.capabilities import capability_statement, terminology_capabilities
from termserver.fhir.version import FULL_VERSION

router = APIRouter(tags=["metadata"])


@router.get("/metadata", response_class=FHIRJSONResponse)
def metadata(store: ReadStoreDep, base_url: BaseUrlDep, fhir_version: FhirVersionDep,
             mode: str = "full") -> Any:
    """CapabilityStatement (https://hl7.org/fhir/R4/http.html#capabilities)."""
    if mode in ("full", "normative"):
        return FHIRJSONResponse(capability_statement(base_url, FULL_VERSION[fhir_version]))
    if mode == "terminology":
        served = [(cs.url, cs.version) for cs in store.code_systems()]
        served += [(str(r["url"]), str(r["version"])) for r in resources_at(fhir_version)
                   if r.get("resourceType") == "CodeSystem"]
        return FHIRJSONResponse(terminology_capabilities(base_url, served))
    raise InvalidRequest(f"unknown metadata mode {mode!r}; use full, normative or terminology",
                         expression=("mode",))
