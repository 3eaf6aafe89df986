"""Load LOINC linguistic variants on their own (format `loinc-variant`) onto the LOINC version
already loaded: e.g. the 2.74 German variant `deDE15LinguisticVariant.csv` onto LOINC 2.78
(which the load report warns about: the release is read from the file's path or a read-me,
`loinc_files.release_of`; the file itself carries none). A renamed variant file is recognised
by its header but refused: its language is only in the release file name.

The language comes from the file name (`deDE15…` → de-DE, `deAT24…` → de-AT). Each row gives
designations in that language: LONG_COMMON_NAME first (the one `displayLanguage` picks), then
SHORTNAME, LinguisticVariantDisplayName and the related names (RELATEDNAMES2, split on ";":
synonyms and abbreviations such as "Ca; Kalzium" or deAT24's short names "EBV-DNA qn. PCR"),
with use system http://loinc.org and the column name as use code. A related name that repeats
another name of the same row (compared case- and space-folded) is left out. The result is a
`CodeSystemAddition`: one transaction that replaces the designations of that language in
`http://loinc.org|{--version, else the newest loaded}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from loaders.base import CodeSystemAddition, LoadItem, LoadOptions, Progress
from loaders.loinc_files import (
    LOINC_NUM,
    VARIANT,
    CsvFile,
    Release,
    release_of,
    sniff,
    variant_language,
)
from termserver.errors import LoadError
from termserver.model import Designation, Record

SYSTEM = "http://loinc.org"
#: variant columns kept as designations, in the order stored (the first is the display)
COLUMNS = ("LONG_COMMON_NAME", "SHORTNAME", "LinguisticVariantDisplayName", "RELATEDNAMES2")
#: columns holding several names separated by ";"
LISTS = frozenset({"RELATEDNAMES2"})


class LoincVariantLoader:
    name: ClassVar[str] = "loinc-variant"

    def detect(self, path: Path) -> bool:
        base = path.name[:-3] if path.name.endswith(".gz") else path.name
        return path.is_file() and (VARIANT.match(base) is not None
                                   or sniff(path) == "loinc-variant")

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        release = Release(path)
        if not release.all(VARIANT):
            if sniff(path) == "loinc-variant":
                raise LoadError("a LOINC linguistic variant, but its language cannot be told: "
                                "the language is only in the release file name", path=str(path),
                                hint="name the file as in the release, e.g. "
                                "deDE15LinguisticVariant.csv")
            raise LoadError("no LOINC linguistic variant file (e.g. "
                            "deDE15LinguisticVariant.csv)", path=str(path))
        yield from variant_items(release, options, progress)


def variant_items(release: Release, options: LoadOptions,
                  progress: Progress | None = None) -> Iterator[CodeSystemAddition]:
    """One addition per variant file of `release`, onto LOINC `options.version` (or newest),
    with the release it comes from (`release_of`) to be checked against that version."""
    source, evidence = release_of(release.path, release)
    for f in sorted(release.all(VARIANT), key=lambda f: f.base):
        language = variant_language(f.base)
        assert language is not None
        yield CodeSystemAddition(SYSTEM, options.version,
                                 _counted(variant_designations(f, language), progress),
                                 replace_languages=(language,),
                                 label=f"{language} designations from {f.base}",
                                 source_version=source, source_evidence=evidence,
                                 check_release=True)


def variant_designations(f: CsvFile, language: str,
                         columns: tuple[str, ...] = COLUMNS) -> Iterator[Record]:
    """The designations of `columns` of each row (a list column split on ";"); a name that
    repeats an earlier name of the row (in COLUMNS order, folded) is given once."""
    for row in f.rows(("LOINC_NUM", *COLUMNS[:2])):
        code = row.code("LOINC_NUM", LOINC_NUM, "LOINC code")
        seen: set[str] = set()
        for column in COLUMNS:
            for value in row_names(row[column], column in LISTS):
                key = " ".join(value.casefold().split())
                if key in seen:
                    continue
                seen.add(key)
                if column in columns:
                    yield Designation(code, value, language, SYSTEM, column, column)


def row_names(cell: str, is_list: bool) -> list[str]:
    """The names of one cell: the cell, or its ";"-separated parts (stripped, non-empty)."""
    if not is_list:
        return [cell] if cell else []
    return [part.strip() for part in cell.split(";") if part.strip()]


def _counted(records: Iterator[Record], progress: Progress | None) -> Iterator[Record]:
    for n, record in enumerate(records, start=1):
        if progress is not None and n % 2000 == 0:
            progress(n, None)
        yield record
