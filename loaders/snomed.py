"""Read a SNOMED CT RF2 Snapshot release (zip or folder) as one code system version.

System `http://snomed.info/sct`, version `http://snomed.info/sct/{module}/version/{yyyymmdd}`
(the edition's module and the release date), so the International edition and extensions or
editions (e.g. the German edition, module 11000274103) load side by side.

What becomes what:

* concepts → Concept (inactive when not active; display = the preferred term of the first
  language refset in `DIALECTS` order that has one, else any preferred synonym, else the FSN)
  with properties `effectiveTime`, `moduleId`, `sufficientlyDefined` (and `status` =
  inactive for an inactive one);
* active descriptions → designations (language = languageCode, use = the description type:
  FSN 900000000000003001, synonym 900000000000013009, definition 900000000000550004), each
  concept's preferred synonyms first, then its FSN, then the rest (so the first designation of
  a language is its preferred term); inactive ones → the property `inactiveDescription` (the
  term), which $validate-code reads to tell a retired display from a wrong one;
* active relationships: is-a (116680003) → parent links; other attributes → the property
  `{typeId}` = destination and a ConceptRelationship with its role group; concrete values the
  same with their value;
* active members of every other refset (simple, association, map, attribute value, …) →
  RefsetMembership with all additional fields, the map/association/value target also as
  `target` (language and OWL refsets are consumed here, not stored).

Streams: descriptions are read in five passes rather than held; memory is bounded by one
small entry per description (its acceptability) and one preferred term per concept.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ClassVar

from loaders.base import CodeSystemContent, LoadItem, LoadOptions, Progress
from termserver.errors import LoadError
from termserver.model import (
    CodeSystemInfo,
    Concept,
    ConceptProperty,
    ConceptRelationship,
    Designation,
    ParentLink,
    PropertyType,
    Record,
    RefsetMembership,
)

SYSTEM = "http://snomed.info/sct"
INTERNATIONAL = "900000000000207008"
#: Modules of the International release itself (core, model component, ICD-10 map, …).
INTERNATIONAL_MODULES = frozenset({INTERNATIONAL, "900000000000012004", "449080006",
                                   "715515008", "1303957004"})
IS_A = "116680003"
FSN = "900000000000003001"
SYNONYM = "900000000000013009"
DEFINITION = "900000000000550004"
PREFERRED = "900000000000548007"
DEFINED = "900000000000073002"
#: Language refsets whose preferred term becomes the display, best first (US, then GB English).
DIALECTS = ("900000000000509007", "900000000000508004")
USE_DISPLAY = {FSN: "Fully specified name", SYNONYM: "Synonym", DEFINITION: "Definition"}
#: The concept property holding the terms of a concept's inactive descriptions.
INACTIVE_DESCRIPTION = "inactiveDescription"

_SCTID = re.compile(r"^[1-9][0-9]{5,17}$")
_DATE = re.compile(r"^[0-9]{8}$")
_RELEASE_DATE = re.compile(r"_(\d{8})\.txt$")
_EDITION = re.compile(r"/x?sct/([0-9]+)/version/")

CONCEPT = ("id", "effectiveTime", "active", "moduleId", "definitionStatusId")
DESCRIPTION = ("id", "effectiveTime", "active", "moduleId", "conceptId", "languageCode",
               "typeId", "term", "caseSignificanceId")
RELATIONSHIP = ("id", "effectiveTime", "active", "moduleId", "sourceId", "destinationId",
                "relationshipGroup", "typeId", "characteristicTypeId", "modifierId")
CONCRETE = ("id", "effectiveTime", "active", "moduleId", "sourceId", "value",
            "relationshipGroup", "typeId", "characteristicTypeId", "modifierId")
REFSET = ("id", "effectiveTime", "active", "moduleId", "refsetId", "referencedComponentId")
#: The additional refset field that becomes RefsetMembership.target, by priority.
TARGET_FIELDS = ("targetComponentId", "mapTarget", "valueId")


@dataclass(slots=True)
class Release:
    """The Snapshot files of one release, found by their RF2 names (zip members or paths)."""

    root: Path
    names: list[str]
    archive: zipfile.ZipFile | None = None
    sizes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path) -> Release:
        if path.is_file():
            try:
                archive = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise LoadError(f"not a zip archive: {exc}", path=str(path)) from None
            infos = [i for i in archive.infolist() if not i.is_dir()]
            return cls(path, [i.filename for i in infos], archive,
                       {i.filename: i.file_size for i in infos})
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        names = [p.relative_to(path).as_posix() for p in files]
        return cls(path, names, None, {n: (path / n).stat().st_size for n in names})

    def find(self, pattern: str) -> list[str]:
        """Snapshot files whose base name matches `pattern` (a regex), in name order."""
        rx = re.compile(pattern)
        return sorted(n for n in self.names
                      if "snapshot" in n.lower() and rx.search(PurePosixPath(n).name))

    @contextmanager
    def text(self, name: str) -> Iterator[io.TextIOBase]:
        if self.archive is not None:
            with self.archive.open(name) as raw, \
                    io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
                yield handle
        else:
            with (self.root / name).open(encoding="utf-8-sig", newline="") as handle:
                yield handle

    def where(self, name: str) -> str:
        return f"{self.root}!{name}" if self.archive is not None else str(self.root / name)


class _Meter:
    """Progress in bytes over every pass the loader will make."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def tick(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)


def rows(release: Release, name: str, header: tuple[str, ...], meter: _Meter | None = None,
         *, exact: bool = True) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of an RF2 file after checking its header; a row with the wrong
    number of fields is a LoadError naming file and line."""
    where = release.where(name)
    with release.text(name) as handle:
        first = handle.readline()
        columns = first.rstrip("\r\n").split("\t")
        if (exact and tuple(columns) != header) or tuple(columns[:len(header)]) != header:
            raise LoadError(f"unexpected header {columns!r}; expected {list(header)!r}",
                            path=where, where="1")
        width, lineno, pending = len(columns), 1, 0
        for line in handle:
            lineno += 1
            pending += len(line)
            if pending > 1 << 20 and meter is not None:
                meter.tick(pending)
                pending = 0
            text = line.rstrip("\r\n")
            if not text:
                continue
            fields = text.split("\t")
            if len(fields) != width:
                raise LoadError(f"expected {width} tab-separated fields, found {len(fields)}",
                                path=where, where=str(lineno))
            yield lineno, fields
        if meter is not None:
            meter.tick(pending)


def _check(release: Release, name: str, lineno: int, fields: list[str],
           ids: tuple[int, ...]) -> None:
    """Common RF2 checks: effectiveTime, active, and SCTIDs in the columns `ids`."""
    problem = None
    if not _DATE.match(fields[1]):
        problem = f"bad effectiveTime {fields[1]!r}"
    elif fields[2] not in ("0", "1"):
        problem = f"bad active flag {fields[2]!r}"
    else:
        for i in ids:
            if not _SCTID.match(fields[i]):
                problem = f"bad SCTID {fields[i]!r} in column {i + 1}"
                break
    if problem is not None:
        raise LoadError(problem, path=release.where(name), where=str(lineno))


class SnomedRf2Loader:
    name: ClassVar[str] = "snomed-rf2"

    def detect(self, path: Path) -> bool:
        try:
            release = Release.open(path)
        except (LoadError, OSError):
            return False
        return bool(release.find(r"^sct2_Concept_"))

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        release = Release.open(path)
        reader = _Reader(release, progress)
        version = options.version or reader.version()
        named = _EDITION.search(version)
        module = reader.module or (named.group(1) if named else INTERNATIONAL)
        info = CodeSystemInfo(
            url=options.system or SYSTEM, version=version, name="SNOMED_CT",
            title=f"SNOMED CT (module {module})", status="active", content="complete",
            hierarchy_meaning="is-a", case_sensitive=True, language="en",
            id=f"sct-{module}-{version.rsplit('/', 1)[-1]}"[:64])
        yield CodeSystemContent(info, reader.records())


class _Reader:
    def __init__(self, release: Release, progress: Progress | None) -> None:
        self.release = release
        self.concepts = release.find(r"^sct2_Concept_")
        self.descriptions = release.find(r"^sct2_Description_")
        self.definitions = release.find(r"^sct2_TextDefinition_")
        self.relationships = release.find(r"^sct2_Relationship_")
        self.concrete = release.find(r"^sct2_RelationshipConcreteValues_")
        refsets = release.find(r"^der2_.*Refset_")
        self.languages = [n for n in refsets if "Language" in PurePosixPath(n).name]
        self.refsets = [n for n in refsets if n not in self.languages
                        and "OWL" not in PurePosixPath(n).name]
        for kind, found in (("sct2_Concept", self.concepts),
                            ("sct2_Description", self.descriptions),
                            ("sct2_Relationship", self.relationships)):
            if not found:
                raise LoadError(f"no {kind}_…Snapshot file in this release",
                                path=str(release.root), hint="an RF2 Snapshot is required")
        size = release.sizes.get
        total = sum(size(n, 0) for n in self.concepts) * 2 + \
            sum(size(n, 0) for n in self.descriptions) * 5 + \
            sum(size(n, 0) for n in (*self.definitions, *self.relationships, *self.concrete,
                                     *self.languages, *self.refsets))
        self.meter = _Meter(progress, total)
        self.module: str | None = None

    # -- identity ---------------------------------------------------------------------------

    def version(self) -> str:
        """`http://snomed.info/sct/{module}/version/{date}`: the edition module (the most
        frequent concept module outside the International ones, else the International core)
        and the release date in the file names (else the newest effectiveTime)."""
        counts: dict[str, int] = {}
        newest = ""
        for name in self.concepts:
            for lineno, f in rows(self.release, name, CONCEPT, self.meter):
                _check(self.release, name, lineno, f, (0, 3, 4))
                counts[f[3]] = counts.get(f[3], 0) + 1
                newest = max(newest, f[1])
        local = {m: n for m, n in counts.items() if m not in INTERNATIONAL_MODULES}
        self.module = max(local, key=lambda m: (local[m], m)) if local else INTERNATIONAL
        dates = [m.group(1) for n in self.concepts
                 if (m := _RELEASE_DATE.search(PurePosixPath(n).name))]
        date = max(dates) if dates else newest
        return f"{SYSTEM}/{self.module}/version/{date}"

    # -- records ----------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        accept = self._acceptability()
        preferred = self._preferred_terms(accept)
        definitions = self._definitions()
        yield from self._concepts(preferred, definitions)
        preferred.clear()
        definitions.clear()
        # designations: preferred synonyms, then FSNs, then the rest (see the module docstring)
        yield from self._designations(lambda type_id, acc: type_id != FSN and PREFERRED in acc,
                                      accept)
        yield from self._designations(lambda type_id, acc: type_id == FSN, accept)
        yield from self._designations(
            lambda type_id, acc: type_id != FSN and PREFERRED not in acc, accept)
        accept.clear()
        yield from self._inactive_descriptions()
        yield from self._relationships()
        yield from self._members()

    def _acceptability(self) -> dict[int, tuple[tuple[str, str], ...]]:
        """description id → ((language refset, acceptability), …) of its active members."""
        accept: dict[int, tuple[tuple[str, str], ...]] = {}
        shared: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
        header = (*REFSET, "acceptabilityId")
        for name in self.languages:
            for lineno, f in rows(self.release, name, header, self.meter):
                _check(self.release, name, lineno, f, (3, 4, 5, 6))
                if f[2] != "1":
                    continue
                key = int(f[5])
                value = (*accept.get(key, ()), (f[4], f[6]))
                accept[key] = shared.setdefault(value, value)
        return accept

    def _preferred_terms(self, accept: dict[int, tuple[tuple[str, str], ...]]
                         ) -> dict[str, str]:
        """concept → display: its preferred synonym in the best dialect, else its FSN."""
        best: dict[str, tuple[int, str]] = {}
        for name in self.descriptions:
            for lineno, f in rows(self.release, name, DESCRIPTION, self.meter):
                _check(self.release, name, lineno, f, (0, 3, 4, 6))
                if f[2] != "1" or f[6] == DEFINITION:
                    continue
                rank = 100  # FSN fallback
                if f[6] != FSN:
                    for refset, acceptability in accept.get(int(f[0]), ()):
                        if acceptability == PREFERRED:
                            r = DIALECTS.index(refset) if refset in DIALECTS else len(DIALECTS)
                            rank = min(rank, r)
                have = best.get(f[4])
                if have is None or rank < have[0]:
                    best[f[4]] = (rank, f[7])
        return {code: term for code, (_, term) in best.items()}

    def _definitions(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for name in self.definitions:
            for lineno, f in rows(self.release, name, DESCRIPTION, self.meter):
                _check(self.release, name, lineno, f, (0, 3, 4))
                if f[2] == "1" and (f[5] == "en" or f[4] not in found):
                    found[f[4]] = f[7]
        return found

    def _concepts(self, preferred: dict[str, str], definitions: dict[str, str]
                  ) -> Iterator[Record]:
        for name in self.concepts:
            for lineno, f in rows(self.release, name, CONCEPT, self.meter):
                _check(self.release, name, lineno, f, (0, 3, 4))
                code = f[0]
                yield Concept(code, preferred.get(code), definitions.get(code), f[2] != "1")
                t = f[1]
                yield ConceptProperty(code, "effectiveTime", f"{t[:4]}-{t[4:6]}-{t[6:]}",
                                      "dateTime")
                yield ConceptProperty(code, "moduleId", f[3], "code")
                yield ConceptProperty(code, "sufficientlyDefined",
                                      "true" if f[4] == DEFINED else "false", "boolean")
                if f[2] != "1":
                    yield ConceptProperty(code, "status", "inactive", "code")

    def _designations(self, wanted: Callable[[str, tuple[str, ...]], bool],
                      accept: dict[int, tuple[tuple[str, str], ...]]) -> Iterator[Record]:
        for name in self.descriptions:
            for _lineno, f in rows(self.release, name, DESCRIPTION, self.meter):
                if f[2] != "1":
                    continue
                acceptability = tuple(a for _, a in accept.get(int(f[0]), ()))
                if wanted(f[6], acceptability):
                    yield Designation(f[4], f[7], f[5], SYSTEM, f[6], USE_DISPLAY.get(f[6]))

    def _inactive_descriptions(self) -> Iterator[Record]:
        """Inactive descriptions → the property `inactiveDescription` (their terms), so a
        display that matches one is known as a retired display rather than a wrong one."""
        for name in self.descriptions:
            for _lineno, f in rows(self.release, name, DESCRIPTION, self.meter):
                if f[2] != "1" and f[6] != DEFINITION:
                    yield ConceptProperty(f[4], INACTIVE_DESCRIPTION, f[7], "string")

    def _relationships(self) -> Iterator[Record]:
        for name in self.relationships:
            for lineno, f in rows(self.release, name, RELATIONSHIP, self.meter):
                _check(self.release, name, lineno, f, (3, 4, 5, 7))
                if f[2] != "1":
                    continue
                source, destination, type_id = f[4], f[5], f[7]
                group = _group(self.release, name, lineno, f[6])
                if type_id == IS_A:
                    yield ParentLink(source, destination)
                    continue
                yield ConceptProperty(source, type_id, destination, "code")
                yield ConceptRelationship(source, type_id, destination, group)
        for name in self.concrete:
            for lineno, f in rows(self.release, name, CONCRETE, self.meter):
                _check(self.release, name, lineno, f, (3, 4, 7))
                if f[2] != "1":
                    continue
                value = f[5]
                kind, text = _concrete(value)
                if kind is None:
                    raise LoadError(f"bad concrete value {value!r}",
                                    path=self.release.where(name), where=str(lineno))
                yield ConceptProperty(f[4], f[7], text, kind)
                yield ConceptRelationship(f[4], f[7], None,
                                          _group(self.release, name, lineno, f[6]), value)

    def _members(self) -> Iterator[Record]:
        for name in self.refsets:
            with self.release.text(name) as handle:
                columns = tuple(handle.readline().rstrip("\r\n").split("\t"))
            if columns[:len(REFSET)] != REFSET:
                raise LoadError(f"unexpected refset header {list(columns)!r}",
                                path=self.release.where(name), where="1")
            extra = columns[len(REFSET):]
            target = next((extra.index(c) for c in TARGET_FIELDS if c in extra), None)
            for lineno, f in rows(self.release, name, columns, self.meter):
                _check(self.release, name, lineno, f, (3, 4))
                if f[2] != "1":
                    continue
                values = f[len(REFSET):]
                yield RefsetMembership(
                    f[4], f[5], values[target] if target is not None else None,
                    tuple((c, v) for c, v in zip(extra, values, strict=True) if v))


def _group(release: Release, name: str, lineno: int, text: str) -> int:
    if not text.isdigit():
        raise LoadError(f"bad relationshipGroup {text!r}", path=release.where(name),
                        where=str(lineno))
    return int(text)


def _concrete(value: str) -> tuple[PropertyType | None, str]:
    """(property type, text) of an RF2 concrete value: #5 integer, #1.5 decimal, "x" string."""
    if value.startswith("#"):
        number = value[1:]
        if re.fullmatch(r"-?[0-9]+", number):
            return "integer", number
        if re.fullmatch(r"-?[0-9]*\.[0-9]+", number):
            return "decimal", number
        return None, value
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return "string", value[1:-1]
    return None, value
