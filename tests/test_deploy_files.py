"""deploy/: the compose file parses and wires PostgreSQL, two replicas of the Dockerfile, the
proxy and Prometheus together (no Docker engine runs the tests, so this checks the files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: deploy files not parsed")

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
REPLICAS = ("termserver-1", "termserver-2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return found


def _healthcheck_url(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_services_and_their_wiring(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", *REPLICAS, "proxy", "prometheus"}
    for name in REPLICAS:  # YAML merge keys (<<: *termserver) are resolved by the parser
        replica = services[name]
        assert replica["build"]["dockerfile"] == "Dockerfile"
        assert (DEPLOY / replica["build"]["context"] / "Dockerfile").is_file()
        db = replica["environment"]["TERMSERVER_DB"]
        assert db.startswith("postgresql+psycopg://") and "@postgres:5432/" in db
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "/readyz" in _healthcheck_url(replica)
        assert "ports" not in replica  # reached through the proxy only
        assert "TERMSERVER_SECRET" in replica["environment"]  # one key for every replica
    assert "pg_isready" in _healthcheck_url(services["postgres"])
    proxy = services["proxy"]
    assert proxy["ports"] == ["8080:8080"]
    assert {n: d["condition"] for n, d in proxy["depends_on"].items()} == \
        dict.fromkeys(REPLICAS, "service_healthy")
    assert services["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]
    for name, service in services.items():
        assert "healthcheck" in service, name
    mounted = [v.split(":")[0] for s in services.values() for v in s.get("volumes", [])
               if v.startswith("./")]
    assert sorted(mounted) == ["./Caddyfile", "./prometheus.yml"]
    for path in mounted:
        assert (DEPLOY / path).is_file()


def test_prometheus_scrapes_both_replicas(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    assert targets == [f"{name}:8080" for name in REPLICAS]
    assert set(REPLICAS) <= set(compose["services"])


def test_the_proxy_balances_ready_replicas_and_hides_metrics() -> None:
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert "reverse_proxy " + " ".join(f"{n}:8080" for n in REPLICAS) in caddy
    assert "health_uri /readyz" in caddy
    assert "@metrics path /metrics" in caddy and "respond @metrics 404" in caddy


def test_the_readme_documents_what_is_per_process() -> None:
    text = (DEPLOY / "README.md").read_text()
    for needed in ("TERMSERVER_JOB_LEASE", "cache-id", "sign-in", "2 seconds",
                   "no Docker engine"):
        assert needed in text, needed
