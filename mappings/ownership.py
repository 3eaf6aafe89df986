"""Which code system urls a curator's code list may be stored under.

The workbench import stores a local code list as a CodeSystem. It must never replace or shadow
content it did not write: a url is refused when any stored version of it was written by a
loader or the FHIR API (`resource.owner`, termserver/store/schema.py), and well-known external
canonicals (SNOMED CT, LOINC, BfArM, HL7, UCUM, any `urn:`) are refused even when not loaded,
so a list can never become the default version of a real terminology later. Re-importing a
list the workbench wrote keeps working.
"""

from __future__ import annotations

import re

from termserver.aliases import canonical_system
from termserver.errors import BusinessRule, Conflict
from termserver.store import Store, Writer

#: Canonicals of external terminologies: never a curator's local code list.
EXTERNAL = re.compile(
    r"^(?:urn:"
    r"|https?://(?:snomed\.info(?:/|$)|loinc\.org(?:/|$)|fhir\.de/CodeSystem/(?:bfarm|dimdi)/"
    r"|hl7\.org/fhir(?:/|$)|terminology\.hl7\.org(?:/|$)|unitsofmeasure\.org(?:/|$)))",
    re.IGNORECASE)


def is_external(url: str) -> bool:
    """True for a well-known external terminology's canonical (or an alias of a loaded one)."""
    return bool(EXTERNAL.match(url)) or canonical_system(url) != url


def check_import_url(store: Store, url: str, writer: Writer | None = None) -> None:
    """Refuse a code list url the workbench does not own: 422 for an external canonical, 409
    when a version of `url` was written by a loader or the FHIR API. `writer`: check inside
    its transaction (so a load in between cannot slip through)."""
    _check(store, "CodeSystem", url, writer, "a local code list")


def check_map_url(store: Store, url: str) -> None:
    """The same for the ConceptMap a project publishes (e.g. a loaded Umsteiger map)."""
    _check(store, "ConceptMap", url, None, "a project's map")


def _check(store: Store, resource_type: str, url: str, writer: Writer | None,
           what: str) -> None:
    if is_external(url):
        raise BusinessRule(f"{url} is the canonical url of an external terminology; {what} "
                           "needs its own url (e.g. https://your-site.example/"
                           f"{resource_type}/lab)", expression=("url",))
    for version, owner, origin in store.workbench.code_system_writers(
            url, writer.conn if writer is not None else None, resource_type):
        if owner != "workbench" or (origin or "").split(":", 1)[0] != "workbench":
            stored = f"{url}|{version}" if version else url
            raise Conflict(f"{resource_type} {stored} was not created by the workbench (it "
                           f"was written by {_who(owner, origin)}); {what} cannot replace "
                           "it: choose another url", expression=("url",))


def _who(owner: str | None, origin: str | None) -> str:
    if owner == "workbench" or owner is None:
        return "the FHIR API" if origin is None else "a loader"
    return {"api": "the FHIR API", "loader": "a loader"}.get(owner, owner)
