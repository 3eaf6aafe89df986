"""Loads that never drop data silently: what replacing a code system version drops, accessory
files from another release, and the loader chosen by a file's content.

* Replacing `url|version` compares what the stored version held ("concept",
  "designation:{language}", "property:{name}" counts, `Writer.content_profile`) with what
  replaces it. Designation languages and properties the new content lacks entirely were
  added by separate loads (a LOINC linguistic variant, the Universal Lab Orders file) or come
  from a richer file of the same release: the load is refused (`AdditionsDropped`, nothing
  written) unless `replace`, and then the note says what was dropped.
* `release_warning`: an addition whose release differs from the version it is added to.
* `choose_loader`: `--format`, else a single CSV recognised by its header columns
  (`loaders.loinc_files.sniff`), else the loaders' own detection.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from termserver.errors import Conflict

if TYPE_CHECKING:
    from loaders.base import Loader


class AdditionsDropped(Conflict):
    """Replacing a code system version would drop designations or properties it holds."""


def replacement_note(url: str, version: str | None, before: dict[str, int],
                     after: dict[str, int], *, replace: bool) -> str:
    """The report line of replacing `url|version`; raises AdditionsDropped when designation
    languages or properties in `before` are all gone in `after` and not `replace`."""
    what = f"{url}|{version or ''}"
    counts = f"replaced {before.get('concept', 0):,} → {after.get('concept', 0):,} concepts"
    dropped = [(key, n) for key, n in sorted(before.items())
               if key != "concept" and n and not after.get(key)]
    if not dropped:
        return f"{what}: {counts}"
    listed = ", ".join(_describe(key, n) for key, n in dropped)
    if not replace:
        raise AdditionsDropped(
            f"{what}: not replaced — the new content lacks {listed} that the loaded version "
            "holds (added by separate loads such as a LOINC linguistic variant or the "
            "lab-orders file, or from a fuller file of this release); nothing was changed. "
            "Pass --replace to replace it anyway and then load those files again")
    return f"{what}: {counts}; dropped {listed} — load those files again to restore them"


def _describe(key: str, n: int) -> str:
    kind, _, name = key.partition(":")
    if kind == "designation":
        return f"{n:,} {name} designations" if name else f"{n:,} designations without language"
    return f"{n:,} {name} properties"


def release_warning(label: str, source_version: str | None, source_evidence: str,
                    target_version: str | None) -> str | None:
    """A warning when an addition (`label`) comes from another release than the version it
    is added to, or when its release cannot be known; None when they match."""
    if target_version is None:
        return None
    if source_version is None:
        return (f"warning: the release of {label} cannot be known (the file names no version "
                f"and no read-me next to it does); make sure it is from {target_version}")
    if source_version != target_version:
        return (f"warning: {label} is from release {source_version} ({source_evidence}) but "
                f"was added to version {target_version}; names of codes changed since "
                f"{source_version} may be outdated — use the files of release "
                f"{target_version} where available")
    return None


def choose_loader(path: Path, fmt: str | None) -> Loader | None:
    """The loader for `path`: `fmt` when given, else a single LOINC CSV recognised by its
    header (a renamed table, variant or lab-orders file), else the loaders' detection."""
    import loaders
    from loaders.loinc_files import sniff

    if fmt:
        return loaders.get_loader(fmt)
    found = sniff(path)
    if found is not None:
        return loaders.get_loader(found)
    return loaders.detect(path)
