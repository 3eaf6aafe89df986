"""Load the BfArM Alpha-ID and Alpha-ID-SE "EDV-Fassung TXT" files (format `alpha-id`).

Files as BfArM ships them, e.g. `icd10gm2025_alphaidse_edvtxt_20240927.txt` (also `.gz`, in a
folder or inside the download ZIP), UTF-8 or ISO-8859-1, one entry per line, `|`-separated:

1. validity: `1` valid for coding, `0` not (e.g. the ICD-10-GM code is not terminal);
2. the Alpha-ID, e.g. `I97525` (the concept code);
3. ICD-10-GM primary code, a dagger code marked `†` (older files `+`);
4. ICD-10-GM asterisk code (`*`);
5. ICD-10-GM additional code (`!`);
6. a second ICD-10-GM primary code;
7. Alpha-ID-SE only: the ORPHAcode (Orphanet number, digits);
8. the entry's text (the display).

Alpha-ID files without ORPHA column have 7 fields; the first Alpha-ID-SE files (2015–2018)
had 7 fields too, with the ORPHAcode in field 6 instead of a second primary code: a field 6
of digits is read as ORPHAcode.

What becomes what: code system `http://fhir.de/CodeSystem/bfarm/alpha-id` or
`…/bfarm/alpha-id-se` (file name `alphaidse`, or an ORPHA column), version = the year from the
file name (or `--version`); properties `valid` (boolean), `primary`, `asterisk`, `additional`,
`primary2` (Codings of ICD-10-GM, markers removed), `dagger` (boolean, the primary code is a
dagger code) and `orpha` (Coding of `http://www.orpha.net`); an entry with validity `0` is
`notSelectable`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from loaders.base import CodeSystemContent, LoadItem, LoadOptions, Progress
from loaders.release_files import TextFile, decode, zip_names
from loaders.release_files import text_files as _text_files
from loaders.umsteiger import ATTRIBUTION_BFARM, ATTRIBUTION_DIMDI, clean_code
from termserver.errors import LoadError
from termserver.model import CodeSystemInfo, Concept, ConceptProperty, Record

ALPHA_ID = "http://fhir.de/CodeSystem/bfarm/alpha-id"
ALPHA_ID_SE = "http://fhir.de/CodeSystem/bfarm/alpha-id-se"
ICD_SYSTEM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
ORPHANET = "http://www.orpha.net"
CONCEPT_PROPERTIES = "http://hl7.org/fhir/concept-properties"

_FILE_RE = re.compile(r"icd10(?:gm)?(?P<year>\d{4})_alphaid(?P<se>se)?_edvtxt", re.IGNORECASE)
_DAGGER = ("†", "+")

#: property code → (type, description)
PROPERTIES: dict[str, tuple[str, str]] = {
    "valid": ("boolean", "Gültigkeit: the entry may be used for coding"),
    "primary": ("Coding", "ICD-10-GM primary code (Primärschlüssel)"),
    "dagger": ("boolean", "the primary code is a dagger (†) code"),
    "asterisk": ("Coding", "ICD-10-GM asterisk code (Sternschlüssel)"),
    "additional": ("Coding", "ICD-10-GM additional code (Zusatzschlüssel, !)"),
    "primary2": ("Coding", "second ICD-10-GM primary code"),
    "orpha": ("Coding", "Orphanet number (ORPHAcode) of a rare disease"),
}


class AlphaIdLoader:
    name: ClassVar[str] = "alpha-id"

    def detect(self, path: Path) -> bool:
        name = path.name.lower()
        if _FILE_RE.search(name):
            return True
        return any(_FILE_RE.search(n) for n in zip_names(path))

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        if not path.exists():
            raise LoadError("no such file or folder", path=str(path))
        files = list(_text_files(path))
        found = [f for f in files if _FILE_RE.search(f.base)]
        if not found and len(files) == 1 and not path.is_dir():
            found = files  # a renamed file: --version names the year
        if not found:
            raise LoadError("no Alpha-ID file (*_alphaid[se]_edvtxt*.txt) found", path=str(path))
        for done, f in enumerate(found, 1):
            yield _content(f, options)
            if progress is not None:
                progress(done, len(found))


def _content(f: TextFile, options: LoadOptions) -> CodeSystemContent:
    m = _FILE_RE.search(f.base)
    version = options.version or (m.group("year") if m else None)
    if version is None:
        raise LoadError("cannot tell the year from the file name", path=f.name,
                        hint="pass --version YYYY")
    rows = _rows(f)
    se = bool(m and m.group("se")) or any(len(r) == 8 for r in rows)
    url = options.system or (ALPHA_ID_SE if se else ALPHA_ID)
    info = _info(url, version, len(rows), se)
    return CodeSystemContent(info, _records(rows))


def _rows(f: TextFile) -> list[list[str]]:
    out: list[list[str]] = []
    for n, line in enumerate(decode(f.read()).splitlines(), 1):
        if not line.strip():
            continue
        values = [v.strip() for v in line.split("|")]
        if len(values) not in (7, 8):
            raise LoadError(f"{len(values)} fields; an Alpha-ID line has 7 or 8 "
                            "`|`-separated fields", path=f.name, where=str(n))
        if values[0] not in ("0", "1") or not values[1]:
            raise LoadError("field 1 must be 0 or 1 and field 2 the Alpha-ID", path=f.name,
                            where=str(n))
        out.append(values)
    if not out:
        raise LoadError("the file is empty", path=f.name)
    return out


def _records(rows: list[list[str]]) -> Iterator[Record]:
    for values in rows:
        code, valid = values[1], values[0] == "1"
        yield Concept(code, values[-1] or None, abstract=not valid)
        yield ConceptProperty(code, "valid", "true" if valid else "false", "boolean")
        if not valid:
            yield ConceptProperty(code, "notSelectable", "true", "boolean")
        sixth = values[5]
        orpha = values[6] if len(values) == 8 else (sixth if sixth.isdigit() else "")
        primary2 = "" if len(values) == 7 and sixth.isdigit() else sixth
        for prop, raw in (("primary", values[2]), ("asterisk", values[3]),
                          ("additional", values[4]), ("primary2", primary2)):
            icd = clean_code(raw)
            if icd:
                yield ConceptProperty(code, prop, icd, "Coding", value_system=ICD_SYSTEM)
        if values[2].strip().endswith(_DAGGER):
            yield ConceptProperty(code, "dagger", "true", "boolean")
        if orpha:
            yield ConceptProperty(code, "orpha", orpha.removeprefix("ORPHA:"), "Coding",
                                  value_system=ORPHANET)


def _info(url: str, version: str, count: int, se: bool) -> CodeSystemInfo:
    label = "Alpha-ID-SE" if se else "Alpha-ID"
    props: list[dict[str, Any]] = [
        {"code": "notSelectable", "uri": f"{CONCEPT_PROPERTIES}#notSelectable",
         "type": "boolean"}]
    props += [{"code": code, "description": text, "type": kind}
              for code, (kind, text) in PROPERTIES.items() if se or code != "orpha"]
    resource: dict[str, Any] = {
        "resourceType": "CodeSystem", "id": f"{label.lower()}-{version}", "url": url,
        "version": version, "name": label.replace("-", ""), "title": f"{label} {version}",
        "status": "active", "experimental": False,
        "publisher": "Bundesinstitut für Arzneimittel und Medizinprodukte (BfArM)",
        "description": (f"{label}: Identifikationsnummern der Einträge des Alphabetischen "
                        "Verzeichnisses zur ICD-10-GM, mit ihren ICD-10-GM-Schlüsselnummern"
                        + (" und Orpha-Kennnummern (Seltene Erkrankungen)" if se else "")),
        "copyright": ATTRIBUTION_DIMDI if _year(version) <= 2020 else ATTRIBUTION_BFARM,
        "caseSensitive": True, "compositional": False, "versionNeeded": True,
        "content": "complete", "count": count, "language": "de", "property": props,
    }
    return CodeSystemInfo(url=url, version=version, name=resource["name"],
                          title=resource["title"], content="complete", case_sensitive=True,
                          language="de", id=resource["id"], resource=resource)


def _year(version: str) -> int:
    digits = re.match(r"\d{4}", version)
    return int(digits.group(0)) if digits else 9999
