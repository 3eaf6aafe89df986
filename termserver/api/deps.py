"""Request-scoped dependencies: the Stores and Settings the app was created with.

`get_store` is the primary database (writes, loads, the workbench and its job queue);
`get_read_store` the one terminology reads use: the read replica (TERMSERVER_DB_READ) when
configured, else the primary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from termserver.fhir.version import FhirVersion, requested_version
from termserver.settings import Settings
from termserver.store import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def read_store_of(state: Any) -> Store:
    """The read Store of an app's state (`state.read_store`, else the primary)."""
    found: Store | None = getattr(state, "read_store", None)
    if found is None:
        found = state.store
    assert found is not None
    return found


def get_read_store(request: Request) -> Store:
    return read_store_of(request.app.state)


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
ReadStoreDep = Annotated[Store, Depends(get_read_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BaseUrlDep = Annotated[str, Depends(get_base_url)]
FhirVersionDep = Annotated[FhirVersion, Depends(get_fhir_version)]
