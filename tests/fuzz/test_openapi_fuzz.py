"""A property-based fuzz run (schemathesis) over every operation in /openapi.json, in process
(ASGI), on SQLite and PostgreSQL, with bearer tokens configured and sent: no answer may be a
5xx, and an answer must match the response schema where the schema declares one. The FHIR
routes' inputs are added to the schema first (`openapi_extra`). Examples are derandomized, so
a run is reproducible. Per operation: schemathesis' coverage phase (boundary values, missing
and wrongly typed inputs, other methods; TERMSERVER_FUZZ_COVERAGE of them, evenly spread),
then TERMSERVER_FUZZ_EXAMPLES generated cases in each of the positive and negative modes."""

from __future__ import annotations

import logging
import os
import traceback
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from termserver.api.app import create_app
from termserver.settings import Settings
from tests.fuzz import openapi_extra as x
from tests.fuzz.conftest import AUTH

MAX_EXAMPLES = int(os.environ.get("TERMSERVER_FUZZ_EXAMPLES", "25"))
COVERAGE_CASES = int(os.environ.get("TERMSERVER_FUZZ_COVERAGE", "40"))
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
CHECKS = [not_a_server_error, response_schema_conformance]

OPENAPI = x.augment(create_app(Settings(db="sqlite://")).openapi())
OPERATIONS = [(method.upper(), path) for path, ops in OPENAPI["paths"].items() for method in ops]

#: label → why it is not fuzzed (each must name who owns the fix).
SKIPPED: dict[str, str] = {}


@dataclass
class Finding:
    """One distinct failure: what was sent and why it failed."""

    kind: str
    request: str
    cause: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.request}\n    {self.cause}"


def _request_text(case: Any) -> str:
    query = "&".join(f"{k}={v!r}" for k, v in (case.query or {}).items())
    body = "" if case.body is schemathesis.core.NOT_SET else f" body={case.body!r}"[:400]
    return f"{case.method} {case.formatted_path}?{query}{body}"


def _cause(exc: BaseException) -> tuple[str, str]:
    """The exception line and the innermost frame in the project's code (the dedup key)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "/termserver/" in f.filename or "/mappings/" in f.filename
              or "/loaders/" in f.filename]
    where = f"{frames[-1].filename.split('/main/')[-1]}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__}: {str(exc)[:300]} (at {where})", f"{type(exc).__name__}@{where}"


class _LoggedErrors(logging.Handler):
    """Keeps the last exception the app logged (its 500 answer names only a reference)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = record.exc_info[1]


def fuzz(app: FastAPI, method: str, path: str) -> list[Finding]:
    """Coverage cases, then generated ones in both modes, against one operation: every
    distinct failure (by check, exception and the line that raised it), with its request."""
    schema = schemathesis.openapi.from_dict(OPENAPI)
    schema.app = app
    operation = schema[path][method]
    found: dict[str, Finding] = {}
    logged = _LoggedErrors()

    def run(case: Any) -> None:
        logged.last = None
        try:
            case.call_and_validate(headers=AUTH, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                title = getattr(failure, "title", type(failure).__name__)
                message = str(getattr(failure, "message", failure)).splitlines()
                cause, key = (_cause(logged.last) if logged.last else
                              (" | ".join(message[:3])[:500], message[0] if message else ""))
                found.setdefault(f"{title}:{key}", Finding(title, _request_text(case), cause))
        except Exception as exc:  # the app raised: a 500 that escaped the error handler
            cause, key = _cause(exc)
            found.setdefault(key, Finding("unhandled exception", _request_text(case), cause))

    logging.getLogger().addHandler(logged)
    try:
        coverage = list(schema.iter_coverage_cases(
            operation, generation_modes=MODES,
            generation_config=schema.config.generation_for(operation=operation,
                                                           phase="coverage")))
        for case in coverage[::max(1, -(-len(coverage) // COVERAGE_CASES))]:
            run(case)
        for mode in MODES:
            test = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                            database=None, phases=[Phase.explicit, Phase.generate],
                            suppress_health_check=list(HealthCheck))(
                given(case=operation.as_strategy(generation_mode=mode))(run))
            try:
                test()
            except Unsatisfiable:
                continue  # e.g. no way to violate an operation without inputs
    finally:
        logging.getLogger().removeHandler(logged)
    return list(found.values())


@pytest.mark.fuzz
@pytest.mark.parametrize(("method", "path"), OPERATIONS,
                         ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error_and_answers_match_the_schema(fuzz_app: FastAPI, method: str,
                                                      path: str) -> None:
    reason = SKIPPED.get(f"{method} {path}")
    if reason:
        pytest.skip(reason)
    findings = fuzz(fuzz_app, method, path)
    assert not findings, "\n".join(str(f) for f in findings)
