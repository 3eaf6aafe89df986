"""Load BfArM/DIMDI Überleitung tables ("Umsteiger") as ConceptMaps (format `bfarm-umsteiger`).

Reads `*umsteiger*.txt` plain, gzipped, in a folder, or inside the Überleitung ZIP as downloaded
(`x1gutYYYY.zip`, nested ZIPs too), UTF-8 or ISO-8859-1. The column layout is detected from
the field count:

* ICD-10-GM (4 fields, unchanged since 2004): old code; new code; `A` if the old code converts
  automatically to the new one; `A` if the new one converts automatically back;
* OPS to 2016 (7 fields): old `[0]`, new `[2]`, A-forward `[5]`, A-backward `[6]`;
* OPS from 2017 (6 fields): old `[0]`, new `[2]`, A-forward `[4]`, A-backward `[5]`.

`UNDEF` (ICD) or `None` (OPS) marks a code without predecessor or successor. The years come
from the file name (`…umsteiger_2016_2017.txt`, also with date stamps) or `--version`
(`2016-2017`, or `2017` for 2016→2017).

Each table gives two ConceptMaps, old→new and new→old, both with one group from the code
system (`http://fhir.de/CodeSystem/bfarm/icd-10-gm` or `…/bfarm/ops`) at one year to the same
system at the other year:

* a code with exactly one counterpart that has no other counterpart: `equivalent`;
* one source code, several targets (a split, seen from the old side): each target is
  `source-is-broader-than-target` (R4 `narrower`);
* several source codes, one target (a merge): `source-is-narrower-than-target` (R4 `wider`);
* both at once: `related-to`; a code deleted (or, backwards, added): unmatched (no target).

The `A` flags stay on each row as product attributes `automatic-source-to-target` and
`automatic-target-to-source` (values "true"/"false"), relative to the map's own direction.
When the `Code;Titel` lists of both years are in the same ZIP or folder, they give displays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar

from loaders.base import ConceptMapContent, LoadItem, LoadOptions, Progress
from loaders.release_files import TextFile, decode, text_files, zip_names
from termserver.errors import LoadError
from termserver.model import ConceptMapInfo, MapElement

ICD_SYSTEM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
OPS_SYSTEM = "http://fhir.de/CodeSystem/bfarm/ops"
MAP_BASE = "http://fhir.de/ConceptMap/bfarm/"
AUTO_FORWARD = "automatic-source-to-target"
AUTO_BACKWARD = "automatic-target-to-source"
ATTRIBUTION_BFARM = ("Die Erstellung erfolgt unter Verwendung der maschinenlesbaren Fassung des "
                     "Bundesinstituts für Arzneimittel und Medizinprodukte (BfArM).")
ATTRIBUTION_DIMDI = ("Die Erstellung erfolgt unter Verwendung der maschinenlesbaren Fassung des "
                     "Deutschen Instituts für Medizinische Dokumentation und Information "
                     "(DIMDI).")

_NO_CODE = frozenset({"", "UNDEF", "NONE"})
_MARKERS = "†‡*!+"
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_YEAR_PAIR = re.compile(r"(?<!\d)((?:19|20)\d{2})((?:19|20)\d{2})(?!\d)")  # umsteigererw20072008
_TITLES = re.compile(r"^(icd10gm|ops)(\d{4})syst\.txt$", re.IGNORECASE)
_OPS_CODE = re.compile(r"^\d-\d")
#: field count → (old, new, A-forward, A-backward) column indexes
_LAYOUTS: dict[int, tuple[int, int, int, int]] = {4: (0, 1, 2, 3), 6: (0, 2, 4, 5),
                                                  7: (0, 2, 5, 6)}
#: (several targets of the source, several sources of the target) → (R5, R4)
_RELATIONSHIP = {
    (False, False): ("equivalent", "equivalent"),
    (True, False): ("source-is-broader-than-target", "narrower"),
    (False, True): ("source-is-narrower-than-target", "wider"),
    (True, True): ("related-to", "relatedto"),
}


def clean_code(value: str) -> str:
    """A code without surrounding blanks and without a trailing †, *, ! or + marker."""
    return value.strip().rstrip(_MARKERS).strip()


# -- the loader --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    old: str | None
    new: str | None
    auto_forward: bool
    auto_backward: bool


@dataclass(frozen=True, slots=True)
class _Table:
    system: str
    kind: str  # "icd-10-gm" or "ops"
    old_year: str
    new_year: str
    rows: tuple[_Row, ...]
    origin: str


class UmsteigerLoader:
    name: ClassVar[str] = "bfarm-umsteiger"

    def detect(self, path: Path) -> bool:
        name = path.name.lower()
        if "umsteiger" in name and name.removesuffix(".gz").endswith((".txt", ".csv")):
            return True
        return any("umsteiger" in n.lower() for n in zip_names(path))

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        if not path.exists():
            raise LoadError("no such file or folder", path=str(path))
        files = list(text_files(path))
        tables = [f for f in files if "umsteiger" in f.base.lower()]
        if not tables and len(files) == 1 and not path.is_dir():
            tables = files  # a renamed table: the layout still tells
        if not tables:
            raise LoadError("no Überleitung (*umsteiger*.txt) found", path=str(path),
                            hint="pass the BfArM Überleitung ZIP, its folder or the table")
        titles = _titles(files)
        for done, f in enumerate(tables, 1):
            table = _table(f, options)
            yield _content(table, titles, forward=True)
            yield _content(table, titles, forward=False)
            if progress is not None:
                progress(done, len(tables))


def _titles(files: list[TextFile]) -> dict[tuple[str, str], dict[str, str]]:
    """(kind, year) → code → title, from the `Code;Titel` lists next to the table."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for f in files:
        m = _TITLES.match(f.base)
        if m is None:
            continue
        kind = "icd-10-gm" if m.group(1).lower() == "icd10gm" else "ops"
        found: dict[str, str] = {}
        for line in decode(f.read()).splitlines():
            code, sep, title = line.partition(";")
            if sep and code.strip() and code.strip().upper() not in _NO_CODE:
                found[clean_code(code)] = title.strip()
        out[(kind, m.group(2))] = found
    return out


def _table(f: TextFile, options: LoadOptions) -> _Table:
    rows, width = _rows(f)
    old_year, new_year = _years(f, options)
    kind = _kind(f, rows, width)
    system = options.system or (ICD_SYSTEM if kind == "icd-10-gm" else OPS_SYSTEM)
    return _Table(system, kind, old_year, new_year, tuple(rows), f.name)


def _rows(f: TextFile) -> tuple[list[_Row], int]:
    rows: list[_Row] = []
    width = 0
    for n, line in enumerate(decode(f.read()).splitlines(), 1):
        if not line.strip():
            continue
        values = line.split(";")
        if width == 0:
            width = len(values)
            if width not in _LAYOUTS:
                raise LoadError(f"{width} fields; an Überleitung has 4 (ICD-10-GM) or 6/7 "
                                "(OPS)", path=f.name, where=str(n))
        if len(values) != width:
            raise LoadError(f"{len(values)} fields where the file has {width}", path=f.name,
                            where=str(n))
        old, new, fwd, bwd = (values[i] for i in _LAYOUTS[width])
        row = _Row(_code(old), _code(new), fwd.strip().upper() == "A",
                   bwd.strip().upper() == "A")
        if row.old is None and row.new is None:
            raise LoadError("a row without old and new code", path=f.name, where=str(n))
        rows.append(row)
    if not rows:
        raise LoadError("the file is empty", path=f.name)
    return rows, width


def _code(value: str) -> str | None:
    code = clean_code(value)
    return None if code.upper() in _NO_CODE else code


def _years(f: TextFile, options: LoadOptions) -> tuple[str, str]:
    if options.version:
        found = _YEAR.findall(options.version)
        if len(found) == 2:
            return found[0], found[1]
        if len(found) == 1:
            return str(int(found[0]) - 1), found[0]
        raise LoadError(f"--version {options.version!r} names no years; give e.g. 2016-2017",
                        path=f.name)
    tail = f.base.lower().partition("umsteiger")[2] or f.base.lower()
    years = _YEAR.findall(tail)
    if len(years) >= 2:
        return years[0], years[-1]
    pair = _YEAR_PAIR.search(tail)
    if pair is not None:
        return pair.group(1), pair.group(2)
    raise LoadError("cannot tell the two years from the file name", path=f.name,
                    hint="pass --version OLD-NEW, e.g. --version 2016-2017")


def _kind(f: TextFile, rows: list[_Row], width: int) -> str:
    base = f.base.lower()
    if width != 4 or base.startswith("ops") or "_ops" in base:
        return "ops"
    if "icd" in base:
        return "icd-10-gm"
    sample = next(c for r in rows for c in (r.old, r.new) if c is not None)
    return "ops" if _OPS_CODE.match(sample) else "icd-10-gm"


# -- one direction as a ConceptMap -------------------------------------------------------------


def _content(table: _Table, titles: dict[tuple[str, str], dict[str, str]],
             forward: bool) -> ConceptMapContent:
    src_year, tgt_year = ((table.old_year, table.new_year) if forward
                          else (table.new_year, table.old_year))
    pairs = [(r.old, r.new, r.auto_forward, r.auto_backward) if forward
             else (r.new, r.old, r.auto_backward, r.auto_forward) for r in table.rows]
    elements = list(_elements(table.system, src_year, tgt_year, pairs,
                              titles.get((table.kind, src_year), {}),
                              titles.get((table.kind, tgt_year), {})))
    return ConceptMapContent(_info(table, src_year, tgt_year), iter(elements))


def _elements(system: str, src_year: str, tgt_year: str,
              pairs: list[tuple[str | None, str | None, bool, bool]],
              src_titles: dict[str, str], tgt_titles: dict[str, str]) -> Iterator[MapElement]:
    """The rows of one direction, in file order; duplicates once; a deletion row only for a
    source code without any target."""
    targets: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    for src, tgt, _, _ in pairs:
        if src is not None and tgt is not None:
            targets.setdefault(src, set()).add(tgt)
            sources.setdefault(tgt, set()).add(src)
    seen: set[tuple[str, str | None]] = set()
    for src, tgt, auto, back in pairs:
        if src is None or (tgt is None and src in targets) or (src, tgt) in seen:
            continue
        seen.add((src, tgt))
        if tgt is None:
            relationship, equivalence = "not-related-to", "unmatched"
        else:
            split, merge = len(targets[src]) > 1, len(sources[tgt]) > 1
            relationship, equivalence = _RELATIONSHIP[(split, merge)]
        yield MapElement(
            group=0, source_system=system, source_version=src_year, source_code=src,
            source_display=src_titles.get(src), target_system=system, target_version=tgt_year,
            target_code=tgt, target_display=tgt_titles.get(tgt) if tgt else None,
            relationship=relationship, equivalence=equivalence,
            product=({"attribute": AUTO_FORWARD, "value": _flag(auto)},
                     {"attribute": AUTO_BACKWARD, "value": _flag(back)}))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _info(table: _Table, src_year: str, tgt_year: str) -> ConceptMapInfo:
    label = "ICD-10-GM" if table.kind == "icd-10-gm" else "OPS"
    release = max(table.old_year, table.new_year)
    return ConceptMapInfo(
        url=f"{MAP_BASE}{table.kind}-umsteiger-{src_year}-{tgt_year}", version=release,
        source_system=table.system, source_version=src_year,
        target_system=table.system, target_version=tgt_year,
        id=f"{table.kind}-umsteiger-{src_year}-{tgt_year}",
        name=f"{label.replace('-', '')}_Umsteiger_{src_year}_{tgt_year}",
        title=f"{label} Überleitung {src_year} → {tgt_year}",
        description=(f"Überleitungstabelle (Umsteiger) der {label} von Version {src_year} nach "
                     f"{tgt_year}: {table.system}|{src_year} → {table.system}|{tgt_year}. "
                     f"The BfArM A flags are the product attributes {AUTO_FORWARD} and "
                     f"{AUTO_BACKWARD}. Source: {PurePosixPath(table.origin).name}."),
        copyright=ATTRIBUTION_DIMDI if int(release) <= 2020 else ATTRIBUTION_BFARM)
