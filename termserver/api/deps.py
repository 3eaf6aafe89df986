"""Request-scoped dependencies: the Store and Settings the app was created with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from termserver.fhir.version import FhirVersion, requested_version
from termserver.settings import Settings
from termserver.store import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_base_url(request: Request) -> str:
    """The FHIR base URL: TERMSERVER_BASE_URL when set, else as this request reached us."""
    settings: Settings = request.app.state.settings
    return settings.base_url or f"{str(request.base_url).rstrip('/')}/fhir"


def get_fhir_version(request: Request) -> FhirVersion:
    """The FHIR version the client asked for (Accept `fhirVersion=`), R4 by default."""
    return requested_version(request.headers.get("accept"), request.headers.get("content-type"))


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BaseUrlDep = Annotated[str, Depends(get_base_url)]
FhirVersionDep = Annotated[FhirVersion, Depends(get_fhir_version)]
