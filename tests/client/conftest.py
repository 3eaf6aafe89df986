"""A live server (uvicorn on a free port) with a small lab code system, a ConceptMap to a
LOINC-like target and a ValueSet, for the client and CLI tests; both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from termserver.api.app import create_app
from termserver.api.routes import bulk
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import serve_app

LAB = "http://lab.example/fhir/CodeSystem/labor"
LOINC = "http://loinc.org"
CM = "http://lab.example/fhir/ConceptMap/labor-loinc"
VS = "http://lab.example/fhir/ValueSet/elektrolyte"


def resources() -> list[dict[str, Any]]:
    cs = {"resourceType": "CodeSystem", "id": "labor", "url": LAB, "version": "2025",
          "status": "active", "content": "complete", "hierarchyMeaning": "is-a",
          "concept": [
              {"code": "ELYT", "display": "Elektrolyte", "concept": [
                  {"code": "NA", "display": "Natrium"},
                  {"code": "K", "display": "Kalium"}]},
              {"code": "CL", "display": "Chlorid"},
              {"code": "CRP", "display": "C-reaktives Protein"},
              {"code": "OLD", "display": "Altes Verfahren", "property": [
                  {"code": "status", "valueCode": "retired"}]}]}
    cm = {"resourceType": "ConceptMap", "id": "labor-loinc", "url": CM, "version": "1",
          "status": "active", "group": [{"source": LAB, "target": LOINC, "element": [
              {"code": "NA", "target": [{"code": "2951-2", "display": "Sodium [Moles/volume] "
                                         "in Serum or Plasma", "relationship": "equivalent"}]},
              {"code": "K", "target": [{"code": "2823-3", "display": "Potassium [Moles/volume]"
                                        " in Serum or Plasma", "relationship": "equivalent"}]},
              {"code": "CRP", "target": [{"code": "1988-5", "display": "C reactive protein "
                                          "[Mass/volume] in Serum or Plasma",
                                          "relationship": "source-is-broader-than-target"}]},
              {"code": "OLD", "noMap": True}]}]}
    vs = {"resourceType": "ValueSet", "id": "elektrolyte", "url": VS, "status": "active",
          "compose": {"include": [{"system": LAB, "concept": [
              {"code": "NA"}, {"code": "K"}, {"code": "CL"}]}]}}
    return [cs, cm, vs]


def app_with_bulk(settings: Settings, store: Store) -> FastAPI:
    """create_app, with the bulk routes added while the app does not register them yet."""
    app = create_app(settings, store)
    if not any(getattr(r, "path", "") == "/fhir/$translate-bulk" for r in app.routes):
        app.include_router(bulk.router, prefix="/fhir")
    return app


def load(base: str) -> None:
    with httpx.Client(base_url=base, timeout=60) as c:
        for r in resources():
            response = c.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r)
            assert response.status_code in (200, 201), response.text


@pytest.fixture
def live(settings: Settings, store: Store) -> Iterator[str]:
    """The FHIR base URL of a live server holding `resources()`."""
    with serve_app(app_with_bulk(settings, store)) as base:
        load(base)
        yield base + "/fhir"
