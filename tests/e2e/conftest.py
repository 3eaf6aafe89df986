"""A live termserver (uvicorn in a thread, SQLite in a temp folder, a free port) holding the
LOINC fixture release, and a headless Chromium page driven by Playwright.

Skipped with a reason when Playwright (python) or /usr/bin/chromium is missing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loaders.base import LoadOptions
from loaders.loinc import LoincLoader
from termserver.api.app import create_app
from termserver.ingest import load_path
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import serve_app

CHROMIUM = Path("/usr/bin/chromium")
LOINC_RELEASE = Path(__file__).resolve().parent.parent / "fixtures" / "loinc" / "release"
DEMO = Path(__file__).resolve().parent.parent.parent / "demo"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The base URL (http://127.0.0.1:PORT) of a server over a fresh SQLite database."""
    db = f"sqlite:///{tmp_path / 'e2e.db'}"
    store = Store(db)
    load_path(store, LoincLoader(), LOINC_RELEASE, LoadOptions(version="2.79"))
    try:
        with serve_app(create_app(Settings(db=db), store)) as url:
            yield url
    finally:
        store.close()


@pytest.fixture
def cold_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Store]]:
    """A server (and its store) whose LOINC needs the store's text index, which is not built
    yet: the state after an upgrade or during `termserver reindex`."""
    from termserver.store import search

    db = f"sqlite:///{tmp_path / 'cold.db'}"
    store = Store(db)
    load_path(store, LoincLoader(), LOINC_RELEASE, LoadOptions(version="2.79"))
    monkeypatch.setattr(search, "SEARCH_MIN", 1)  # after the load, which would build it
    try:
        with serve_app(create_app(Settings(db=db), store)) as url:
            yield url, store
    finally:
        store.close()


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """A server over `make run`'s demo LOINC subset (German names) and the demo project
    demo-labor (40 local lab codes); the demo packages are left out (they only take time)."""
    import contextlib
    import io
    import shutil

    from termserver.cli import _load_demo

    demo = tmp_path / "demo"
    shutil.copytree(DEMO / "loinc", demo / "loinc")
    shutil.copy(DEMO / "labor-demo.csv", demo / "labor-demo.csv")
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    store = Store(db)
    with contextlib.redirect_stdout(io.StringIO()):
        _load_demo(store, demo)
    try:
        with serve_app(create_app(Settings(db=db), store)) as url:
            yield url
    finally:
        store.close()


def _missing(reason: str) -> None:
    """Skip, or fail where the browser test is required (CI sets TERMSERVER_REQUIRE_E2E=1)."""
    if os.environ.get("TERMSERVER_REQUIRE_E2E") == "1":
        pytest.fail(f"{reason} (TERMSERVER_REQUIRE_E2E=1 requires the browser test)")
    pytest.skip(reason)


@pytest.fixture
def page() -> Iterator[Any]:
    """A fresh Chromium page (headless, no network beyond the test server)."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    try:
        from playwright import sync_api
    except ImportError:
        _missing("playwright (python) is not installed: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(15_000)
            yield context.new_page()
            context.close()
        finally:
            browser.close()
