"""The import rules of the architecture (README "Layers"), checked on the source text."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# where → module prefixes it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "loaders": ("sqlalchemy", "fastapi", "starlette", "uvicorn", "termserver.store",
                "termserver.api", "termserver.fhir", "termserver.service", "termserver.ingest",
                "mappings"),
    "termserver/model.py": ("termserver.", "loaders", "mappings", "sqlalchemy", "fastapi"),
    "termserver/errors.py": ("termserver.store", "termserver.api", "termserver.fhir",
                             "loaders", "sqlalchemy", "fastapi"),
    "termserver/fhir": ("sqlalchemy", "fastapi", "starlette", "termserver.store",
                        "termserver.service", "termserver.api", "termserver.ingest", "loaders"),
    "termserver/service": ("fastapi", "starlette", "termserver.api", "termserver.fhir",
                              "loaders", "sqlalchemy"),
    "termserver/ingest.py": ("fastapi", "starlette", "termserver.api", "sqlalchemy"),
    "termserver/api": ("sqlalchemy", "loaders"),
    "mappings": ("fastapi", "starlette", "termserver.api"),
    "termserver/grammar": ("fastapi", "starlette", "termserver.api", "termserver.store",
                           "termserver.ingest", "loaders", "sqlalchemy", "mappings"),
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(where: str) -> list[Path]:
    target = ROOT / where
    return [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))


def _banned(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p.rstrip(".") or module.startswith(p if p.endswith(".") else p + ".")
               for p in prefixes)


def test_layering() -> None:
    problems = []
    for where, banned in FORBIDDEN.items():
        for f in _files(where):
            bad = sorted(m for m in imported_modules(f) if _banned(m, banned))
            if bad:
                problems.append(f"{f.relative_to(ROOT)} imports {bad}")
    assert not problems, "\n".join(problems)


def test_only_the_store_imports_sqlalchemy() -> None:
    offenders = []
    for f in sorted((ROOT / "termserver").rglob("*.py")) + _files("loaders") + _files("mappings"):
        if "termserver/store" in f.as_posix():
            continue
        if any(_banned(m, ("sqlalchemy", "alembic")) for m in imported_modules(f)):
            offenders.append(str(f.relative_to(ROOT)))
    assert offenders == []


def test_the_core_sees_only_the_workbench_records() -> None:
    """Below the API and the CLI, termserver may use mappings' plain records (mappings.model,
    which the store persists) and nothing else of the workbench."""
    offenders = []
    for f in sorted((ROOT / "termserver").rglob("*.py")):
        rel = f.relative_to(ROOT).as_posix()
        if rel.startswith("termserver/api/") or rel == "termserver/cli.py":
            continue
        bad = sorted(m for m in imported_modules(f)
                     if _banned(m, ("mappings",)) and m != "mappings.model")
        if bad:
            offenders.append(f"{rel} imports {bad}")
    assert offenders == []


def test_the_rule_checker_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy.orm\nfrom fastapi import FastAPI\n")
    found = imported_modules(bad)
    assert _banned("sqlalchemy.orm", ("sqlalchemy",)) and "fastapi" in found
    assert not _banned("sqlalchemyx", ("sqlalchemy",))


def test_the_client_imports_only_httpx_pandas_and_the_stdlib() -> None:
    """termserver.client runs in pipelines that have only httpx (and pandas); orjson only
    where it is optional (imported under `try: … except ImportError`)."""
    allowed = ("httpx", "pandas", "termserver.client")
    offenders = []
    for f in _files("termserver/client"):
        optional = _optional_imports(f)
        bad = sorted(m for m in imported_modules(f)
                     if m.split(".")[0] not in sys.stdlib_module_names
                     and not _banned(m, allowed) and not (m == "orjson" and m in optional))
        if bad:
            offenders.append(f"{f.relative_to(ROOT)} imports {bad}")
    assert offenders == []


def _optional_imports(path: Path) -> set[str]:
    """Modules imported only inside a `try` whose handlers catch ImportError."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError",
                                                               "ModuleNotFoundError")
                for h in node.handlers):
            for inner in node.body:
                if isinstance(inner, ast.Import):
                    out.update(a.name for a in inner.names)
    return out
