"""Test helpers: building FHIR packages and resources on the fly, finding ../shared data."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TERMSERVER_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"
DEMO_THO = ROOT / "demo" / "hl7.terminology.r4-7.0.1.tgz"


def shared(relative: str) -> Path:
    """A path under ../shared/data, or skip the test with a clear reason when it is absent."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"needs {path} (real release data from ../shared/data; absent here)")
    return path


def make_package(path: Path, resources: list[dict[str, Any]], *, name: str = "test.pkg",
                 version: str = "1.0.0", files: dict[str, bytes] | None = None) -> Path:
    """Write a FHIR npm package .tgz holding `resources` (and extra raw `files`)."""
    manifest = {"name": name, "version": version, "fhirVersions": ["4.0.1"]}
    entries: dict[str, bytes] = {"package/package.json": json.dumps(manifest).encode()}
    for i, r in enumerate(resources):
        entries[f"package/{r['resourceType']}-{r.get('id', i)}-{i}.json"] = json.dumps(r).encode()
    entries.update(files or {})
    return write_tgz(path, entries)


def write_tgz(path: Path, entries: dict[str, bytes]) -> Path:
    """Write a gzipped tar holding `entries` (member name → bytes)."""
    with tarfile.open(path, "w:gz") as tar:
        for member, raw in entries.items():
            info = tarfile.TarInfo(member)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def code_system(url: str, version: str | None = "1.0", *, content: str = "complete",
                codes: tuple[str, ...] = ("a", "b"), id: str | None = None,
                **extra: Any) -> dict[str, Any]:
    cs: dict[str, Any] = {"resourceType": "CodeSystem", "url": url, "status": "active",
                          "content": content, "name": "Test"}
    if id:
        cs["id"] = id
    if version is not None:
        cs["version"] = version
    if content in ("complete", "fragment", "example") and codes:
        cs["concept"] = [{"code": c, "display": f"Display {c}"} for c in codes]
    cs.update(extra)
    return cs


def value_set(url: str, version: str | None = "1.0", **extra: Any) -> dict[str, Any]:
    vs: dict[str, Any] = {"resourceType": "ValueSet", "url": url, "status": "active"}
    if version is not None:
        vs["version"] = version
    vs.update(extra)
    return vs


def parameters_by_name(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A Parameters resource's parameters grouped by name (asserting it is one)."""
    assert body["resourceType"] == "Parameters", body
    out: dict[str, list[dict[str, Any]]] = {}
    for p in body["parameter"]:
        out.setdefault(p["name"], []).append(p)
    return out


@contextmanager
def serve_app(app: Any, port: int = 0) -> Iterator[str]:
    """A real uvicorn server (in a thread) for `app` on `port` of loopback (0: a free one;
    a taken port fails here, clearly); yields its base URL http://127.0.0.1:PORT and stops it
    afterwards."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                       log_level="critical"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            srv.should_exit = True
            thread.join(timeout=5)
            raise RuntimeError(f"the test server did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=15)


def parameters(*pairs: tuple[str, Any]) -> dict[str, Any]:
    """A FHIR Parameters resource from (name, value) pairs: a resource, a CodeableConcept
    (has `coding`), a Coding (other dict), a boolean or a string."""
    out: list[dict[str, Any]] = []
    for name, value in pairs:
        if isinstance(value, dict) and "resourceType" in value:
            out.append({"name": name, "resource": value})
        elif isinstance(value, dict) and "coding" in value:
            out.append({"name": name, "valueCodeableConcept": value})
        elif isinstance(value, dict):
            out.append({"name": name, "valueCoding": value})
        elif isinstance(value, bool):
            out.append({"name": name, "valueBoolean": value})
        else:
            out.append({"name": name, "valueString": value})
    return {"resourceType": "Parameters", "parameter": out}


def set_legacy_version(conn: Any, version: int) -> None:
    """Make a database look as the hand-rolled migrations (before Alembic) left it at schema
    `version`: no alembic_version, a schema_version table holding `version`."""
    from sqlalchemy import text

    from termserver.store.migrations import legacy_version

    conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    legacy_version.create(conn, checkfirst=True)
    conn.execute(legacy_version.delete())
    conn.execute(legacy_version.insert().values(version=version, applied_at="2026-01-01"))


def chunk_counter(answer: Callable[[Any, Any], Any], sizes: list[int]
                  ) -> Callable[[Any, Any], Any]:
    """A set-based service function (termserver.service.bulk: `(ctx, requests)`) that records
    the size of every chunk it is given in `sizes`."""
    def counted(ctx: Any, requests: Any) -> Any:
        sizes.append(len(requests))
        return answer(ctx, requests)
    return counted


def join_background_work() -> None:
    """Wait for the workbench's warm-up threads a test started (mappings.targets.warm) and
    the scope-word learners (mappings.textsearch.stored_scope): they read and keep what
    they learnt, and must end before their Store closes and the
    database is dropped."""
    for thread in threading.enumerate():
        if thread.name.startswith(("index-", "workbench-warm", "scope-words-")) \
                and thread.is_alive():
            thread.join(60)


@contextmanager
def indexed_api(db_url: str, monkeypatch: pytest.MonkeyPatch, code_system: dict[str, Any]
                ) -> Iterator[tuple[Any, Any]]:
    """A TestClient of an app on `db_url` with `code_system` POSTed and text-indexed however
    small it is (search.SEARCH_MIN 1); yields (client, store)."""
    from fastapi.testclient import TestClient

    from termserver.api.app import create_app
    from termserver.settings import Settings
    from termserver.store import Store, search

    monkeypatch.setattr(search, "SEARCH_MIN", 1)
    store = Store(db_url)
    try:
        with TestClient(create_app(Settings(db=db_url, base_url="http://t/fhir"), store)) as c:
            assert c.post("/fhir/CodeSystem", json=code_system).status_code == 201
            yield c, store
    finally:
        join_background_work()
        store.close()
