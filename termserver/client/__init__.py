"""termserver.client: a Python client for termserver's FHIR terminology operations and its
NDJSON bulk endpoints, for ETL pipelines. Needs httpx only (pandas for the `*_series`
helpers); it imports nothing of the server.

    from termserver.client import Client
    with Client("http://localhost:8080/fhir", token="…") as tx:
        tx.translate("K", "http://lab.example/codes", conceptmap="http://…/cm").best
        df["loinc"] = tx.translate_series(df["local"], system="http://lab.example/codes",
                                          conceptmap="http://…/cm")
"""

from __future__ import annotations

from termserver.client._base import LRUCache, RetryPolicy, TermserverError
from termserver.client.aio import AsyncClient
from termserver.client.results import (
    Concept,
    ExpandResult,
    Issue,
    LineError,
    LookupResult,
    Match,
    SubsumesResult,
    TranslateResult,
    ValidateResult,
)
from termserver.client.sync import Client

__all__ = ["AsyncClient", "Client", "Concept", "ExpandResult", "Issue", "LRUCache",
           "LineError", "LookupResult", "Match", "RetryPolicy", "SubsumesResult",
           "TermserverError", "TranslateResult", "ValidateResult"]
