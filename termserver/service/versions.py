"""Which code system version a ValueSet include (or a coding) means.

The rules follow the tx-ecosystem IG (`system-version`, `check-system-version`,
`force-system-version`, https://hl7.org/fhir/R5/valueset-operation-expand.html):

1. `force-system-version` for the system replaces any version (pinned, wildcard or unknown).
2. Else the include's own version (exact, or a pattern with `x`/`*` parts such as `1.x.x`).
3. Else `system-version` or `check-system-version` act as the default.
4. Else the latest version known.

After resolution a `check-system-version` pattern must match, or the request fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from termserver.store import version_key

Source = Literal["force", "include", "default", "check", "latest"]


def is_pattern(version: str | None) -> bool:
    """True for wildcard versions such as `1.x`, `1.0.x` or `*`."""
    if not version:
        return False
    return version == "*" or any(part in ("x", "X", "*") for part in version.split("."))


def version_matches(pattern: str | None, version: str | None) -> bool:
    """Does `version` satisfy `pattern`? No pattern matches everything; exact otherwise."""
    if not pattern or pattern == "*":
        return True
    if version is None:
        return False
    if not is_pattern(pattern):
        return pattern == version
    want, have = pattern.split("."), version.split(".")
    if len(have) < len(want):
        return False
    return all(w in ("x", "X", "*") or w == h for w, h in zip(want, have, strict=False))


def latest_matching(versions: Iterable[str | None], pattern: str | None) -> str | None:
    """The newest of `versions` that satisfies `pattern`, or None."""
    candidates = [v for v in versions if version_matches(pattern, v)]
    if not candidates:
        return None
    return max(candidates, key=version_key)


@dataclass(frozen=True, slots=True)
class VersionRules:
    """The request's version parameters, each a map system url → version (or pattern)."""

    default: Mapping[str, str] = field(default_factory=dict)  # system-version
    check: Mapping[str, str] = field(default_factory=dict)  # check-system-version
    force: Mapping[str, str] = field(default_factory=dict)  # force-system-version

    @classmethod
    def from_canonicals(cls, default: Iterable[str] = (), check: Iterable[str] = (),
                        force: Iterable[str] = ()) -> VersionRules:
        """From `url|version` canonical values as the parameters carry them."""
        return cls(_versions(default), _versions(check), _versions(force))

    def wanted(self, system: str, include_version: str | None) -> tuple[str | None, Source]:
        """The version (or pattern) an include of `system` asks for, and where it came from."""
        if system in self.force:
            return self.force[system], "force"
        if include_version:
            return include_version, "include"
        if system in self.default:
            return self.default[system], "default"
        if system in self.check:
            return self.check[system], "check"
        return None, "latest"

    def check_fails(self, system: str, version: str | None) -> str | None:
        """The check-system-version pattern that `version` violates, or None."""
        pattern = self.check.get(system)
        if pattern is None or version_matches(pattern, version):
            return None
        return pattern


def _versions(canonicals: Iterable[str]) -> dict[str, str]:
    pairs = (str(value).partition("|") for value in canonicals)
    return {url: version for url, sep, version in pairs if sep and version}
