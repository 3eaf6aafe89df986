"""Fixtures: every store-backed test runs on SQLite and, when TERMSERVER_TEST_PG_URL is set,
on the real PostgreSQL too (test ids end in [sqlite] / [postgresql])."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from termserver.api.app import create_app
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import join_background_work

PG_URL = os.environ.get("TERMSERVER_TEST_PG_URL")
# In-process apps run workbench jobs with an on-demand worker (mappings.jobs): no resident
# thread polls a database that a test is about to drop. Tests of the resident worker set 1.
os.environ.setdefault("TERMSERVER_JOB_WORKER", "0")


def pytest_report_header(config: pytest.Config) -> str:
    pg = f"postgresql ({PG_URL})" if PG_URL else "postgresql skipped (TERMSERVER_TEST_PG_URL unset)"
    return f"termserver backends: sqlite, {pg}"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(autouse=True)
def _background_work_ends_with_its_test() -> Iterator[None]:
    """Wait for the workbench's warm-up threads a test started (mappings.targets.warm): they
    read and keep the learnt lexicon, and must not outlive the database the test drops."""
    yield
    join_background_work()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'termserver.db'}"
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set TERMSERVER_TEST_PG_URL")
    _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    join_background_work()  # before the store closes under their reads
    s.close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(db=db_url, base_url="http://testserver/fhir")


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store)) as c:
        yield c
