"""GET /metadata: CapabilityStatement, or TerminologyCapabilities with ?mode=terminology."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from termserver.api.deps import BaseUrlDep, StoreDep
from termserver.api.responses import FHIRJSONResponse
from termserver.errors import InvalidRequest
from termserver.fhir.capabilities import capability_statement, terminology_capabilities

router = APIRouter(tags=["metadata"])


@router.get("/metadata", response_class=FHIRJSONResponse)
def metadata(store: StoreDep, base_url: BaseUrlDep, mode: str = "full") -> Any:
    """CapabilityStatement (https://hl7.org/fhir/R4/http.html#capabilities)."""
    if mode in ("full", "normative"):
        return FHIRJSONResponse(capability_statement(base_url))
    if mode == "terminology":
        return FHIRJSONResponse(terminology_capabilities(base_url, store.code_systems()))
    raise InvalidRequest(f"unknown metadata mode {mode!r}; use full, normative or terminology",
                         expression=("mode",))
