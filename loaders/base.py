"""The Loader protocol and helpers shared by all loaders. No database, no web, no FHIR JSON.

A loader's `read` yields items of two kinds:

* `ResourceRecord`: a whole FHIR resource (CodeSystem, ValueSet, ConceptMap) as found, e.g. in
  an npm package; the ingest step hands it to the FHIR layer to be decomposed.
* `CodeSystemContent`: the header of one code system version plus a lazy stream of concept
  records, for release formats (ClaML, BfArM TXT, LOINC CSV, RF2, OWL) that are not FHIR.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol, TypeVar

from termserver.errors import LoadError
from termserver.model import CodeSystemInfo, Record, ResourceRecord

__all__ = ["CodeSystemContent", "LoadError", "LoadOptions", "Loader", "Progress", "batched"]

T = TypeVar("T")

#: Called with (units done, units total or None) as a load advances.
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class LoadOptions:
    version: str | None = None  # overrides the version a loader finds in the release
    system: str | None = None  # canonical URL, for formats that carry none (OWL)


@dataclass(slots=True)
class CodeSystemContent:
    info: CodeSystemInfo
    records: Iterator[Record] = field(default_factory=lambda: iter(()))


LoadItem = ResourceRecord | CodeSystemContent


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
