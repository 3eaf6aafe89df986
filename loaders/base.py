"""The Loader protocol and helpers shared by all loaders. No database, no web, no FHIR JSON.

A loader's `read` yields items of these kinds (and `CodeSystemAddition`, below):

* `ResourceRecord`: a whole FHIR resource (CodeSystem, ValueSet, ConceptMap) as found, e.g. in
  an npm package; the ingest step hands it to the FHIR layer to be decomposed.
* `CodeSystemContent`: the header of one code system version plus a lazy stream of concept
  records, for release formats (ClaML, BfArM TXT, LOINC CSV, RF2, OWL) that are not FHIR.
* `ConceptMapContent`: the header of one ConceptMap plus a lazy stream of its rows
  (`MapElement`), for mapping tables that are not FHIR (BfArM Überleitung/Umsteiger).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol, TypeVar

from termserver.errors import LoadError
from termserver.model import CodeSystemInfo, ConceptMapInfo, MapElement, Record, ResourceRecord

__all__ = ["CodeSystemAddition", "CodeSystemContent", "ConceptMapContent", "LoadError",
           "LoadOptions", "Loader", "Progress", "batched"]

T = TypeVar("T")

#: Called with (units done, units total or None) as a load advances.
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class LoadOptions:
    version: str | None = None  # overrides the version a loader finds in the release
    system: str | None = None  # canonical URL, for formats that carry none (OWL)
    code_annotation: str | None = None  # OWL: annotation whose value is the code (IRI/CURIE)


@dataclass(slots=True)
class CodeSystemContent:
    info: CodeSystemInfo
    records: Iterator[Record] = field(default_factory=lambda: iter(()))


@dataclass(slots=True)
class CodeSystemAddition:
    """Records to add to a code system version already stored (e.g. a LOINC linguistic
    variant loaded on its own). `version` None: the newest stored version of `url`.
    Designations already stored in `replace_languages` and properties named in
    `replace_properties` are dropped first, so loading the same addition again replaces it.
    Only designations and properties."""

    url: str
    version: str | None
    records: Iterator[Record] = field(default_factory=lambda: iter(()))
    replace_languages: tuple[str, ...] = ()
    replace_properties: tuple[str, ...] = ()
    label: str = ""  # what is added, for the load report, e.g. "de-DE designations"
    #: the release the added file comes from (None: it cannot be known) and where that was
    #: read; checked against the target version when `check_release`
    source_version: str | None = None
    source_evidence: str = ""
    check_release: bool = False


@dataclass(slots=True)
class ConceptMapContent:
    """One ConceptMap from a release file: its header and its rows, one per (source, target);
    a source without target is one row with `target_code` None (unmatched)."""

    info: ConceptMapInfo
    elements: Iterator[MapElement] = field(default_factory=lambda: iter(()))


LoadItem = ResourceRecord | CodeSystemContent | CodeSystemAddition | ConceptMapContent


class Loader(Protocol):
    name: ClassVar[str]  # the CLI word, e.g. "fhir-package"

    def detect(self, path: Path) -> bool:
        """Cheap check whether this loader reads `path`."""
        ...

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        """Yield what `path` holds, lazily. Never writes anywhere."""
        ...


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
