"""The operations surface: /livez, /readyz, /metrics and the offline /docs.

* `/livez`: 200 while the process answers HTTP (no database access). No token needed.
* `/readyz`: 200 when the database answers and its schema is at the head revision this program
  needs (and so does the read replica, when TERMSERVER_DB_READ is set), else 503 with the
  reason; bounded by READY_TIMEOUT. No token needed (auth.OPEN_PATHS).
* `/metrics`: Prometheus text format (termserver.metrics) plus gauges read at scrape time:
  the database connection pool, readiness, the workbench jobs in the database by kind and
  state, and what is loaded (code system versions by content, concepts). Like every read it
  needs a read token when TERMSERVER_READ_TOKENS is set (Prometheus: `authorization:
  {credentials: …}` in the scrape config); TERMSERVER_METRICS=off removes it.
* `/docs`: Swagger UI from assets shipped in the `fastapi-offline` wheel, served under
  /docs/assets, so it works without internet access.
"""

from __future__ import annotations

import asyncio
import importlib.resources
from collections.abc import Iterable
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.concurrency import run_in_threadpool

from termserver import metrics
from termserver.api.deps import read_store_of
from termserver.store import Store
from termserver.store.engine import pool_status
from termserver.store.migrations import job_states, schema_state

#: Seconds /readyz waits for the database before it answers 503.
READY_TIMEOUT = 5.0
DOCS_ASSETS = "/docs/assets"

router = APIRouter(include_in_schema=False)


@router.get("/livez")
async def livez() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    reason = await ready_reason(request.app.state.store)
    reader = read_store_of(request.app.state)
    if reason is None and reader is not request.app.state.store:
        found = await ready_reason(reader)
        reason = None if found is None else f"read replica: {found}"
    headers = {"Cache-Control": "no-store"}
    if reason is None:
        return JSONResponse({"status": "ready"}, headers=headers)
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503,
                        headers=headers)


async def ready_reason(store: Store) -> str | None:
    """None when ready, else why not (database unreachable, slow, or schema not current)."""
    try:
        return await asyncio.wait_for(run_in_threadpool(schema_state, store.engine),
                                      READY_TIMEOUT)
    except TimeoutError:
        return f"database did not answer within {READY_TIMEOUT:g} s"


metrics_router = APIRouter(include_in_schema=False)


@metrics_router.get("/metrics")
async def metrics_endpoint(request: Request) -> Response:
    store: Store = request.app.state.store
    body = await run_in_threadpool(metrics.render, lambda: _probes(store))
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def _probes(store: Store) -> Iterable[Metric]:
    """Gauges read now: pool, readiness, jobs and loaded content (the database reads only
    when it is ready)."""
    pool = GaugeMetricFamily("termserver_db_pool_connections", "Database connections of the "
                             "answering process's pool, by state", labels=["state"])
    for state, n in pool_status(store.engine).items():
        pool.add_metric([state], n)
    yield pool
    ready = schema_state(store.engine)
    yield GaugeMetricFamily("termserver_ready", "1 when the database answers and its schema "
                            "is current (as /readyz)", value=0 if ready else 1)
    if ready is None:
        jobs = GaugeMetricFamily("termserver_workbench_jobs", "Workbench jobs recorded in the "
                                 "database, by kind and state", labels=["kind", "state"])
        for (kind, state), n in sorted(job_states(store.engine).items()):
            jobs.add_metric([kind, state], n)
        yield jobs
        systems = store.code_systems()
        versions = GaugeMetricFamily("termserver_code_system_versions", "Code system versions "
                                     "loaded, by content (complete, fragment, …)",
                                     labels=["content"])
        by_content: dict[str, int] = {}
        for cs in systems:
            by_content[cs.content] = by_content.get(cs.content, 0) + 1
        for content, n in sorted(by_content.items()):
            versions.add_metric([content], n)
        yield versions
        yield GaugeMetricFamily("termserver_concepts", "Concepts in all loaded code system "
                                "versions", value=sum(cs.concept_count for cs in systems))


def _assets() -> Path:
    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from local assets (create the app with docs_url=None)."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_assets()), name="docs-assets")
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} – API",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            oauth2_redirect_url=f"{root}{redirect}")

    @app.get(redirect, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
