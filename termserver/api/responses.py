"""FHIR JSON responses (application/fhir+json), serialised with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

FHIR_JSON = "application/fhir+json"


class FHIRJSONResponse(JSONResponse):
    """A JSONResponse, so /openapi.json declares a JSON body (not a string) for its routes."""

    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
