"""The operations surface: /livez and /readyz without a token, /metrics in Prometheus format,
the access log with request ids (plain and JSON), and /docs from local assets."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from termserver.api.accesslog import classify, configure_logging
from termserver.api.app import create_app
from termserver.settings import Settings
from termserver.store import Store
from termserver.store.engine import open_engine
from termserver.store.migrations import head, schema_state
from tests.helpers import code_system

CS = "http://example.org/ops"


@pytest.fixture
def guarded(db_url: str, store: Store) -> Iterator[TestClient]:
    """A server whose reads (and writes) need tokens."""
    settings = Settings.from_env({"TERMSERVER_DB": db_url, "TERMSERVER_READ_TOKENS": "r",
                                  "TERMSERVER_API_TOKENS": "w"})
    with TestClient(create_app(settings, store)) as c:
        yield c


def _samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


# -- health ----------------------------------------------------------------------------------


def test_probes_need_no_token_where_everything_else_does(guarded: TestClient) -> None:
    assert guarded.get("/fhir/metadata").status_code == 401
    live = guarded.get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = guarded.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert guarded.get("/metrics").status_code == 401  # metrics are a read like any other
    got = guarded.get("/metrics", headers={"Authorization": "Bearer r"})
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/plain")


def test_readyz_is_503_with_the_reason_when_the_schema_is_not_current(
        client: TestClient, store: Store) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff'")
    got = client.get("/readyz")
    assert got.status_code == 503
    assert got.json() == {"status": "unavailable", "reason": (
        f"database at revision ffff, this termserver needs revision {head()}")}
    assert client.get("/livez").status_code == 200  # alive, just not ready


def test_an_unreachable_database_is_not_ready() -> None:
    engine = open_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    try:
        reason = schema_state(engine)
    finally:
        engine.dispose()
    assert reason is not None and reason.startswith("database unreachable: OperationalError")


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_parse_and_carry_the_series(client: TestClient) -> None:
    assert client.put("/fhir/CodeSystem/ops", json=code_system(CS, id="ops")).status_code in (
        200, 201)
    assert client.get("/fhir/CodeSystem/$lookup", params={"system": CS, "code": "a"}
                      ).status_code == 200
    assert client.get("/fhir/CodeSystem/$lookup", params={"system": CS, "code": "zz"}
                      ).status_code == 404
    assert client.get("/fhir/ValueSet/$nonsense").status_code in (400, 404, 405)
    assert client.get("/fhir/CodeSystem/ops").status_code == 200
    samples = _samples(client.get("/metrics").text)
    names = {s.name for s in samples}
    assert {"termserver_requests_total", "termserver_request_duration_seconds_bucket",
            "termserver_request_duration_seconds_count", "termserver_db_pool_connections",
            "termserver_ready", "process_cpu_seconds_total"} <= names

    def value(name: str, **labels: str) -> float:
        return sum(s.value for s in samples if s.name == name
                   and all(s.labels.get(k) == v for k, v in labels.items()))

    assert value("termserver_requests_total", operation="$lookup", resource="CodeSystem",
                 status="200") >= 1
    assert value("termserver_requests_total", operation="$lookup", resource="CodeSystem",
                 status="404") >= 1
    assert value("termserver_requests_total", operation="read", resource="CodeSystem",
                 status="200") >= 1
    assert value("termserver_requests_total", operation="$other", resource="ValueSet") >= 1
    assert value("termserver_request_duration_seconds_count", operation="$lookup",
                 resource="CodeSystem") >= 2
    assert value("termserver_ready") == 1
    assert value("termserver_code_system_versions", content="complete") >= 1
    assert value("termserver_concepts") >= 1
    assert {s.labels["state"] for s in samples if s.name == "termserver_db_pool_connections"} \
        >= {"checked_in", "checked_out"}
    # the operation label never takes a value from the request
    assert not any(s.labels.get("operation") == "$nonsense" for s in samples)


def test_workbench_jobs_are_counted_from_the_database(client: TestClient,
                                                      store: Store) -> None:
    from termserver.store.schema import map_job, map_project

    with store.engine.begin() as conn:
        pk = conn.execute(map_project.insert().values(
            id="p", title="p", source_system="http://s", target_system="http://t",
            language="de", created="2026-01-01")).inserted_primary_key
        for i, state in enumerate(("running", "done", "done")):
            conn.execute(map_job.insert().values(id=f"j{i}", project_pk=pk[0], kind="suggest",
                                                 state=state, started="2026-01-01"))
    samples = _samples(client.get("/metrics").text)
    jobs = {(s.labels["kind"], s.labels["state"]): s.value for s in samples
            if s.name == "termserver_workbench_jobs"}
    assert jobs == {("suggest", "running"): 1, ("suggest", "done"): 2}


def test_metrics_can_be_switched_off(db_url: str, store: Store) -> None:
    settings = Settings.from_env({"TERMSERVER_DB": db_url, "TERMSERVER_METRICS": "off"})
    with TestClient(create_app(settings, store)) as c:
        assert c.get("/metrics").status_code == 404


CHILD = """
import sys
from termserver import metrics
metrics.observe_request("$lookup", "CodeSystem", 200, 0.01)
if sys.argv[1] == "render":
    sys.stdout.write(metrics.render(lambda: []).decode())
"""


def test_several_worker_processes_share_their_counts(tmp_path: Path) -> None:
    """PROMETHEUS_MULTIPROC_DIR: what two processes counted is summed by a third."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for arg in ("count", "count", "render"):
        done = subprocess.run([sys.executable, "-c", CHILD, arg], env=env, capture_output=True,
                              text=True, timeout=120, check=True)
    total = [s.value for s in _samples(done.stdout) if s.name == "termserver_requests_total"
             and s.labels["operation"] == "$lookup"]
    assert total == [3.0]


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("GET", "/fhir/CodeSystem/$lookup", ("$lookup", "CodeSystem")),
    ("POST", "/fhir/ValueSet/$validate-code", ("$validate-code", "ValueSet")),
    ("GET", "/fhir/ValueSet/x/$expand", ("$expand", "ValueSet")),
    ("GET", "/fhir/$versions", ("$versions", "")),
    ("GET", "/fhir/ConceptMap/$evil-invention", ("$other", "ConceptMap")),
    ("GET", "/fhir/ConceptMap", ("search", "ConceptMap")),
    ("POST", "/fhir/ConceptMap", ("create", "ConceptMap")),
    ("PUT", "/fhir/ConceptMap/a", ("update", "ConceptMap")),
    ("GET", "/fhir/Patient/a", ("other", "")),
    ("POST", "/fhir", ("batch", "")),
    ("GET", "/fhir/metadata", ("metadata", "")),
    ("GET", "/workbench/api/projects", ("workbench-api", "")),
    ("GET", "/workbench/projects/x", ("workbench-ui", "")),
    ("GET", "/readyz", ("ops", "")),
    ("GET", "/anything", ("other", "")),
])
def test_requests_are_classified_into_bounded_labels(method: str, path: str,
                                                     expected: tuple[str, str]) -> None:
    known = frozenset({"$lookup", "$validate-code", "$expand", "$versions"})
    assert classify(method, path, known) == expected


# -- access log and request ids ----------------------------------------------------------------


def test_one_access_line_per_request_with_its_id(client: TestClient,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="termserver.access"):
        sent = client.get("/fhir/CodeSystem/$lookup?system=http://x&code=secret-code",
                          headers={"X-Request-ID": "req-42.a"})
        fresh = client.get("/livez")
        bad = client.get("/livez", headers={"X-Request-ID": "two words\x7f"})
    assert sent.headers["x-request-id"] == "req-42.a"
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["x-request-id"])
    lines = [r for r in caplog.records if r.name == "termserver.access"]
    assert len(lines) == 3
    first = lines[0]
    assert (first.method, first.path, first.status, first.request_id) == (  # type: ignore[attr-defined]
        "GET", "/fhir/CodeSystem/$lookup", sent.status_code, "req-42.a")
    assert "secret-code" not in first.getMessage()  # the query string is never logged
    assert first.getMessage().startswith(f"GET /fhir/CodeSystem/$lookup {sent.status_code} ")
    assert lines[1].request_id == fresh.headers["x-request-id"]  # type: ignore[attr-defined]


def test_json_log_lines(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    try:
        client.get("/livez", headers={"X-Request-ID": "json-1"})
        err = capsys.readouterr().err
    finally:
        configure_logging("INFO", "plain")
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    access = [r for r in records if r["logger"] == "termserver.access"]
    assert len(access) == 1
    assert {k: access[0][k] for k in ("level", "method", "path", "status", "request_id")} == {
        "level": "INFO", "method": "GET", "path": "/livez", "status": 200,
        "request_id": "json-1"}
    assert isinstance(access[0]["duration_ms"], float) and "time" in access[0]


def test_plain_log_lines_carry_the_request_id(client: TestClient,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "plain")
    client.get("/livez", headers={"X-Request-ID": "plain-1"})
    err = capsys.readouterr().err
    assert re.search(r" INFO termserver\.access \[plain-1\] GET /livez 200 [0-9.]+ms$", err,
                     re.MULTILINE), err


def test_log_settings_are_checked() -> None:
    from termserver.errors import InvalidRequest

    assert Settings.from_env({"TERMSERVER_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(InvalidRequest, match="TERMSERVER_LOG_FORMAT has value 'xml'"):
        Settings.from_env({"TERMSERVER_LOG_FORMAT": "xml"})


# -- offline docs ------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_docs_use_only_local_assets(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    parser = _Links()
    parser.feed(page.text)
    urls = set(parser.urls) | set(re.findall(r"""url: ?['"]([^'"]+)['"]""", page.text))
    assert len(parser.urls) >= 3, page.text  # the script, the style sheet, the icon
    assert not re.search(r"https?://", page.text)
    for url in sorted(urls):
        assert url.startswith("/"), url
        got = client.get(url)
        assert got.status_code == 200, url
        assert got.content, url
    assert "/openapi.json" in urls
