"""Which FHIR version a client asked for: R4 by default, R5 on `fhirVersion=5.0`.

The mime-type parameter is defined at https://hl7.org/fhir/R5/http.html#version-parameter.
"""

from __future__ import annotations

from typing import Literal

FhirVersion = Literal["4.0", "5.0"]
FULL_VERSION: dict[FhirVersion, str] = {"4.0": "4.0.1", "5.0": "5.0.0"}


def requested_version(accept: str | None, content_type: str | None = None) -> FhirVersion:
    """`fhirVersion` from the Accept header (else Content-Type); anything 5.x means R5."""
    for header in (accept, content_type):
        for media in (header or "").split(","):
            for param in media.split(";")[1:]:
                name, _, value = param.strip().partition("=")
                if name.strip().lower() == "fhirversion":
                    return "5.0" if value.strip().strip('"').startswith("5") else "4.0"
    return "4.0"
