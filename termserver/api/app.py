"""create_app(settings): the only constructor of the FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mappings.workbench import Workbench
from termserver import __version__, builtin, grammar
from termserver.api import errors, ops
from termserver.api.accesslog import AccessLog, configure_logging
from termserver.api.auth import BearerAuth
from termserver.api.fastpath import FastPath
from termserver.api.fastpath_translate import TranslateFastPath
from termserver.api.limits import RequestLimits
from termserver.api.routes import (
    bulk,
    codesystem,
    conceptmap,
    metadata,
    resources,
    system,
    validate,
    valueset,
    workbench,
    workbench_login,
    workbench_ui,
)
from termserver.api.routes import normalize as normalize_routes
from termserver.api.routes.workbench_ui import STATIC_DIR
from termserver.api.security import SecurityHeaders
from termserver.model import RESOURCE_TYPES
from termserver.service import loinc_vs, snomed
from termserver.settings import Settings
from termserver.store import Store, open_store


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """The app serving FHIR at /fhir. Pass `store` to share one (tests); otherwise the
    lifespan opens `settings.db` and closes it on shutdown. With `settings.db_read` the
    lifespan also opens the read replica the terminology reads use (api.deps)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = store is None
        if own and settings.data_dir is not None:  # the default data folder may be created
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        app.state.store = store or open_store(settings.db, upgrade=settings.db_upgrade)
        if settings.db_read is not None:  # a replica: its schema comes from the primary
            app.state.read_store = Store(settings.db_read, migrate=False)
        if getattr(app.state, "workbench", None) is None:
            app.state.workbench = Workbench(app.state.store)
        jobs = app.state.workbench.jobs
        jobs.start_worker()  # claims workbench jobs queued by any replica (mappings.jobs)
        if jobs.settings.resident:  # a serving process: prepare the projects' suggestions
            app.state.workbench.warm_all()
        try:
            yield
        finally:
            jobs.stop_worker()  # a running job goes back to the queue
            if settings.db_read is not None:
                app.state.read_store.close()
                app.state.read_store = None
            if own:
                app.state.store.close()
            else:  # SQLite: a copied .db is a full backup after a clean stop
                app.state.store.checkpoint()

    app = FastAPI(title="termserver", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    if store is not None:
        app.state.store = store
    errors.install(app)
    app.add_middleware(TranslateFastPath)  # GET ConceptMap/$translate, inside FastPath
    app.add_middleware(FastPath)  # inside authentication
    app.add_middleware(BearerAuth, settings=settings)
    app.add_middleware(system.FhirVersionScope)
    app.add_middleware(SecurityHeaders)  # CSP, nosniff, … even on refusals
    app.add_middleware(RequestLimits, max_body_mb=settings.max_body_mb)  # URL and body limits
    app.add_middleware(AccessLog)  # outermost: request id, access log, request metrics
    builtin.install()
    grammar.install()  # UCUM, BCP-47, MIME types, ISO 3166 (termserver.grammar)
    snomed.install()
    loinc_vs.install()
    app.include_router(ops.router)  # /livez, /readyz
    if settings.metrics:
        app.include_router(ops.metrics_router)  # /metrics
    ops.install_docs(app)  # /docs with local Swagger UI assets
    app.include_router(metadata.router, prefix="/fhir")
    # operations before /{type}/{id}; the hottest first (routes are matched in order)
    app.include_router(codesystem.router, prefix="/fhir")
    app.include_router(validate.router, prefix="/fhir")
    app.include_router(conceptmap.router, prefix="/fhir")
    app.include_router(valueset.router, prefix="/fhir")
    app.include_router(system.router, prefix="/fhir")
    app.include_router(normalize_routes.router, prefix="/fhir")  # CodeSystem/$normalize
    app.include_router(bulk.router, prefix="/fhir")  # $translate-bulk, $lookup-bulk, …
    for rtype in RESOURCE_TYPES:
        app.include_router(resources.router_for(rtype), prefix="/fhir")
    app.include_router(workbench.router)  # /workbench/api (JSON)
    app.mount("/workbench/static", StaticFiles(directory=STATIC_DIR), name="workbench-static")
    app.include_router(workbench_ui.router)  # /workbench (curator pages)
    app.include_router(workbench_login.router)  # /workbench/login, /logout
    return app
