"""Settings come from the environment, fail clearly, and are all documented in the README."""

from __future__ import annotations

import pytest

from termserver.errors import InvalidRequest
from termserver.settings import SETTINGS, Settings
from tests.helpers import ROOT


def test_defaults_and_overrides() -> None:
    s = Settings.from_env({"TERMSERVER_DATA_DIR": "/srv/ts", "TERMSERVER_API_TOKENS": "a, b,"})
    assert s.db == "sqlite:////srv/ts/termserver.db"
    assert s.api_tokens == frozenset({"a", "b"})
    assert s.with_overrides(db="sqlite:///x.db", base_url=None).db == "sqlite:///x.db"


def test_bad_integer_names_key_and_value() -> None:
    with pytest.raises(InvalidRequest, match="TERMSERVER_MAX_EXPANSION has value 'lots'"):
        Settings.from_env({"TERMSERVER_MAX_EXPANSION": "lots"})


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name, _, _ in SETTINGS if name not in readme]
    assert missing == []
