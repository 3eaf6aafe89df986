"""Load BfArM/DIMDI ICD-10-GM and OPS "Metadaten TXT (CSV)" releases (format `bfarm-txt`).

Reads `icd10gm{YYYY}syst_kodes.txt` / `ops{YYYY}syst_kodes.txt` plain, gzipped, in a folder, or
inside the ZIP as downloaded (also nested ZIPs, as BfArM ships them since 2022), UTF-8 or
ISO-8859-1 (detected). Chapter, group (block) and, for OPS, three-character files next to the
kodes file give the titles of the upper levels; without them the levels are still built from
the kodes fields (chapter number, first three-character code of the group), without titles.

What becomes what (property names as the ClaML loader uses them, see issue #4):

* code system `http://fhir.de/CodeSystem/bfarm/icd-10-gm` or `…/bfarm/ops`, version = the year
  from the file name (or `--version`), language `de`;
* hierarchy chapter → block → 3-char → 4-char → 5-char (OPS: … → 6-char); property `kind`
  (`chapter`, `block`, `category`); non-terminal codes (field 2 = `N`), blocks and chapters are
  abstract (`notSelectable` true);
* ICD-10-GM: the code is field 7 (no dagger, asterisk or `!`); `usage` `aster`/`optional` from
  the marker in field 6; `Para295`, `Para301`, `MortL1Code`…`MortL4Code`, `MortBCode`,
  `SexCode`, `SexReject`, `AgeLow`, `AgeHigh` (the days/years format), `AgeReject`,
  `RareDisease` (Exot), `Content` (belegt), `Infectious` (IfSG-Meldung), `EBMLabor`
  (IfSG-Labor): string values as in the file, like the ClaML loader's Meta; `UNDEF` and
  what the read-me calls irrelevant (sex `9`, age `9999`, error kind `9`) are left out;
* OPS: `Seite`, `Para17bd`, `ZusatzK`, `EinmalK` (and `DRG` in the years that have it).

The BfArM download terms require the attribution sentence, carried as `CodeSystem.copyright`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from loaders.base import CodeSystemContent, LoadItem, LoadOptions, Progress
from loaders.release_files import TextFile, decode, text_files, zip_names
from termserver.errors import LoadError
from termserver.model import CodeSystemInfo, Concept, ConceptProperty, ParentLink, Record

ICD_SYSTEM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
OPS_SYSTEM = "http://fhir.de/CodeSystem/bfarm/ops"
CONCEPT_PROPERTIES = "http://hl7.org/fhir/concept-properties"
ATTRIBUTION = ("Die Erstellung erfolgt unter Verwendung der maschinenlesbaren Fassung des "
               "Bundesinstituts für Arzneimittel und Medizinprodukte (BfArM).")

_FILE_RE = re.compile(r"(?P<kind>icd10gm|ops)(?P<year>\d{4})syst_(?P<part>kodes|kapitel|gruppen|"
                      r"dreisteller)(?:_\d{8})?\.(?:txt|csv)$", re.IGNORECASE)
#: a nested systematics ZIP, e.g. icd10gm2025syst-meta.zip inside the download
_SYST_ZIP_RE = re.compile(r"(icd10gm|ops)\d{4}syst[^/]*\.zip$")
_LIESMICH_RE = re.compile(r"(icd10gm|ops)(\d{4}).*liesmich.*\.txt$", re.IGNORECASE)
_YEAR_RE = re.compile(r"(?<!\d)(20\d{2}|19\d{2})(?!\d)")
_OID_RE = re.compile(r"OID\s+(1\.2\.276\.0\.76\.5\.\d+)")
_ICD_CODE = re.compile(r"^[A-Z]\d{2}(\.\d{1,2})?$")
_OPS_CODE = re.compile(r"^\d-\d{2}[0-9a-z](\.[0-9a-z]{1,2})?$")
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
          "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX", "XXI", "XXII", "XXIII", "XXIV",
          "XXV", "XXVI")

#: ICD-10-GM kodes.txt: (property, 0-based field) for the 28-field layout (2018 on) and the
#: 30-field layout (to 2017, with the old age format in fields 22 and 24, not loaded).
_ICD_FIELDS: dict[int, tuple[tuple[str, int], ...]] = {
    28: (("Para295", 12), ("Para301", 13), ("MortL1Code", 14), ("MortL2Code", 15),
         ("MortL3Code", 16), ("MortL4Code", 17), ("MortBCode", 18), ("SexCode", 19),
         ("SexReject", 20), ("AgeLow", 21), ("AgeHigh", 22), ("AgeReject", 23),
         ("RareDisease", 24), ("Content", 25), ("Infectious", 26), ("EBMLabor", 27)),
    30: (("Para295", 12), ("Para301", 13), ("MortL1Code", 14), ("MortL2Code", 15),
         ("MortL3Code", 16), ("MortL4Code", 17), ("MortBCode", 18), ("SexCode", 19),
         ("SexReject", 20), ("AgeLow", 22), ("AgeHigh", 24), ("AgeReject", 25),
         ("RareDisease", 26), ("Content", 27), ("Infectious", 28), ("EBMLabor", 29)),
}
#: OPS kodes.txt by field count: (property, 0-based field); fields 1-9 are the same in all.
_OPS_FIELDS: dict[int, tuple[tuple[str, int], ...]] = {
    9: (("Seite", 7),),
    10: (("Seite", 7), ("DRG", 9)),
    11: (("Seite", 7), ("Para17bd", 9), ("DRG", 10)),
    14: (("Seite", 7), ("Para17bd", 12), ("DRG", 13)),
    15: (("Seite", 7), ("Para17bd", 12), ("ZusatzK", 13), ("EinmalK", 14)),
    16: (("Seite", 7), ("Para17bd", 12), ("DRG", 13), ("ZusatzK", 14), ("EinmalK", 15)),
}
#: values the read-me defines as "irrelevant" (no restriction): left out like an absent value
_IRRELEVANT = {"SexCode": "9", "SexReject": "9", "AgeLow": "9999", "AgeHigh": "9999",
               "AgeReject": "9"}
_PROPERTY_TEXT = {
    "kind": "ClaML class kind: chapter, block or category",
    "usage": "ClaML usage: aster (*) or optional (!)",
    "Para295": "Verwendung nach § 295 SGB V (P, O, Z, V)",
    "Para301": "Verwendung nach § 301 SGB V (P, O, Z, V)",
    "MortBCode": "Bezug zur Morbiditätsliste", "SexCode": "Geschlechtsbezug (9, M, W)",
    "SexReject": "Art des Fehlers bei Geschlechtsbezug", "AgeLow": "untere Altersgrenze",
    "AgeHigh": "obere Altersgrenze", "AgeReject": "Art des Fehlers bei Altersbezug",
    "RareDisease": "Krankheit in Mitteleuropa sehr selten (J/N)",
    "Content": "Schlüsselnummer mit Inhalt belegt (J/N)", "Infectious": "IfSG-Meldung (J/N)",
    "EBMLabor": "IfSG-Labor, EBM-Laborausschlussziffer 32006 (J/N)",
    "Seite": "Seitenangabe", "Para17bd": "Gültigkeit nach § 17b/§ 17d KHG (J/N)",
    "ZusatzK": "Zusatzkode (J/N)", "EinmalK": "Einmalkode (J/N)", "DRG": "DRG-relevant",
}


@dataclass(slots=True)
class _Release:
    """One kodes file with the chapter/group/three-char files and read-me beside it."""

    kind: str  # "icd10gm" or "ops"
    year: str | None
    kodes: TextFile
    parts: dict[str, TextFile] = field(default_factory=dict)
    liesmich: TextFile | None = None


class BfarmTxtLoader:
    name: ClassVar[str] = "bfarm-txt"

    def detect(self, path: Path) -> bool:
        name = path.name.lower()
        if _FILE_RE.search(name.removesuffix(".gz")):
            return True
        return any(_kodes_name(n) or _SYST_ZIP_RE.search(n.lower())
                   for n in zip_names(path))

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        if not path.exists():
            raise LoadError("no such file or folder", path=str(path))
        files = list(text_files(path))
        releases = _releases(files)
        if not releases:
            if len(files) == 1 and path.is_file() and not path.name.lower().endswith(".zip"):
                releases = [_Release("", None, files[0])]  # a renamed kodes file
            else:
                raise LoadError("no ICD-10-GM or OPS *syst_kodes.txt found", path=str(path),
                                hint="pass the BfArM Metadaten ZIP, its folder or the "
                                     "kodes file")
        for release in releases:
            yield _content(release, options, progress)


# -- finding the files -------------------------------------------------------------------------


def _kodes_name(name: str) -> bool:
    m = _FILE_RE.search(PurePosixPath(name.replace("\\", "/")).name)
    return m is not None and m.group("part").lower() == "kodes"


def _releases(files: list[TextFile]) -> list[_Release]:
    """One release per kodes file, with the other parts of the same classification and year."""
    found: dict[tuple[str, str], _Release] = {}
    others: list[tuple[str, str, str, TextFile]] = []
    readmes: list[tuple[str, str, TextFile]] = []
    for f in files:
        base = f.base.removesuffix(".gz")
        m = _FILE_RE.search(base)
        if m is not None:
            kind, year, part = m.group("kind").lower(), m.group("year"), m.group("part").lower()
            if part == "kodes":
                if (kind, year) in found:
                    raise LoadError(f"two kodes files for {kind} {year}", path=f.name)
                found[(kind, year)] = _Release(kind, year, f)
            else:
                others.append((kind, year, part, f))
            continue
        r = _LIESMICH_RE.search(base)
        if r is not None:
            readmes.append((r.group(1).lower(), r.group(2), f))
    for kind, year, part, f in others:
        if (kind, year) in found:
            found[(kind, year)].parts[part] = f
    for kind, year, f in readmes:
        if (kind, year) in found:
            found[(kind, year)].liesmich = f
    return [found[k] for k in sorted(found)]


def _text(f: TextFile) -> str:
    return decode(f.read())


def _rows(f: TextFile) -> list[tuple[int, list[str]]]:
    out = []
    for n, line in enumerate(_text(f).splitlines(), 1):
        if line.strip():
            out.append((n, [v.strip() for v in line.split(";")]))
    if not out:
        raise LoadError("the file is empty", path=f.name)
    return out


# -- one code system version -------------------------------------------------------------------


def _content(release: _Release, options: LoadOptions,
             progress: Progress | None) -> CodeSystemContent:
    rows = _rows(release.kodes)
    kind = release.kind or _kind_from_rows(release.kodes, rows)
    version = options.version or release.year or _year_from_name(release.kodes.name)
    if version is None:
        raise LoadError("cannot tell the year of this release", path=release.kodes.name,
                        hint="pass --version, e.g. --version 2025")
    build = _IcdBuilder if kind == "icd10gm" else _OpsBuilder
    builder = build(release, rows)
    oid = None
    if release.liesmich is not None:
        m = _OID_RE.search(_text(release.liesmich))
        oid = m.group(1) if m else None
    info = _info(kind, version, builder.count, builder.property_names(), oid)
    return CodeSystemContent(info, builder.records(progress))


def _kind_from_rows(f: TextFile, rows: list[tuple[int, list[str]]]) -> str:
    values = rows[0][1]
    if len(values) in _ICD_FIELDS and _ICD_CODE.match(values[6]):
        return "icd10gm"
    if len(values) in _OPS_FIELDS and _OPS_CODE.match(values[6]):
        return "ops"
    raise LoadError("neither an ICD-10-GM nor an OPS kodes file", path=f.name, where="1",
                    hint=f"{len(values)} fields, field 7 {values[6] if len(values) > 6 else ''!r}")


def _year_from_name(name: str) -> str | None:
    found = _YEAR_RE.findall(PurePosixPath(name.replace("\\", "/")).name)
    return found[0] if found else None


def _info(kind: str, version: str, count: int, props: list[str],
          oid: str | None) -> CodeSystemInfo:
    icd = kind == "icd10gm"
    url = ICD_SYSTEM if icd else OPS_SYSTEM
    name = "ICD10GM" if icd else "OPS"
    title = f"ICD-10-GM Version {version}" if icd else \
        f"Operationen- und Prozedurenschlüssel Version {version}"
    description = (
        "Internationale statistische Klassifikation der Krankheiten und verwandter "
        "Gesundheitsprobleme, 10. Revision, German Modification" if icd else
        "Operationen- und Prozedurenschlüssel (OPS), amtliche Klassifikation zum Verschlüsseln "
        "von Operationen, Prozeduren und allgemein medizinischen Maßnahmen")
    prop_defs: list[dict[str, Any]] = [
        {"code": "parent", "uri": f"{CONCEPT_PROPERTIES}#parent", "type": "code"},
        {"code": "child", "uri": f"{CONCEPT_PROPERTIES}#child", "type": "code"},
        {"code": "notSelectable", "uri": f"{CONCEPT_PROPERTIES}#notSelectable",
         "type": "boolean"},
    ]
    prop_defs += [{"code": p, "description": _PROPERTY_TEXT.get(p, p),
                   "type": "code" if p in ("kind", "usage") else "string"} for p in props]
    identifiers = [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{oid}"}] if oid else []
    resource: dict[str, Any] = {
        "resourceType": "CodeSystem", "id": f"{'icd-10-gm' if icd else 'ops'}-{version}",
        "url": url, "version": version, "name": name, "title": title, "status": "active",
        "experimental": False, "publisher": "Bundesinstitut für Arzneimittel und "
                                            "Medizinprodukte (BfArM)",
        "description": description, "copyright": ATTRIBUTION, "caseSensitive": True,
        "valueSet": url.replace("/CodeSystem/", "/ValueSet/"), "hierarchyMeaning": "is-a",
        "compositional": False, "versionNeeded": True, "content": "complete", "count": count,
        "language": "de", "property": prop_defs,
    }
    if identifiers:
        resource["identifier"] = identifiers
    return CodeSystemInfo(url=url, version=version, name=name, title=title, status="active",
                          content="complete", hierarchy_meaning="is-a", case_sensitive=True,
                          language="de", id=resource["id"], resource=resource)


class _Builder:
    """The concepts of one release: the upper levels first, then the kodes rows."""

    fields: dict[int, tuple[tuple[str, int], ...]] = {}
    label = ""
    shortest = 3  # length of a three-character code

    def __init__(self, release: _Release, rows: list[tuple[int, list[str]]]) -> None:
        self.release, self.rows = release, rows
        width = len(rows[0][1])
        if width not in self.fields:
            raise LoadError(f"{width} fields per line; a {self.label} kodes file has "
                            f"{' or '.join(map(str, sorted(self.fields)))}",
                            path=release.kodes.name, where=str(rows[0][0]))
        self.width = width
        for n, values in rows:
            if len(values) != width:
                raise LoadError(f"{len(values)} fields where the first line has {width}",
                                path=release.kodes.name, where=str(n))
        self.codes = {self.code(values) for _, values in rows}
        if len(self.codes) != len(rows):
            raise LoadError("a code appears twice", path=release.kodes.name)
        self.chapters = self.chapter_titles()
        self.blocks = self.block_index()  # first three-char code → (block code, title, chapter)
        self.upper: list[tuple[str, str | None, str, str | None]] = []  # code, title, kind, parent
        self.build_upper()
        self.upper_codes = {code for code, *_ in self.upper}
        self.count = len(self.upper) + len(rows)

    # hooks
    def code(self, values: list[str]) -> str:
        return values[6]

    def chapter_code(self, number: str) -> str:
        return number

    def block_code(self, first: str, last: str) -> str:
        raise NotImplementedError

    def extra(self, values: list[str]) -> Iterator[ConceptProperty]:
        return iter(())

    def build_upper(self) -> None:
        for number, title in sorted(self.chapters.items(), key=lambda kv: _num(kv[0])):
            self.upper.append((self.chapter_code(number), title, "chapter", None))
        for code, title, chapter in sorted(self.blocks.values()):
            self.upper.append((code, title, "block", self.chapter_code(chapter)))

    def property_names(self) -> list[str]:
        names = ["kind", *(p for p, _ in self.fields[self.width])]
        return names

    # parts
    def chapter_titles(self) -> dict[str, str | None]:
        titles: dict[str, str | None] = {values[3]: None for _, values in self.rows}
        f = self.release.parts.get("kapitel")
        if f is not None:
            for n, values in _rows(f):
                if len(values) < 2:
                    raise LoadError("expected chapter number;title", path=f.name, where=str(n))
                titles[values[0]] = ";".join(values[1:])
        return titles

    def block_index(self) -> dict[str, tuple[str, str | None, str]]:
        """Groups by their first three-char code, from the gruppen file or the kodes rows."""
        last: dict[str, tuple[str, str]] = {}  # first → (last three-char code, chapter)
        for _, values in self.rows:
            first, three = values[4], self.three_char(values)
            known = last.get(first)
            if known is None or three > known[0]:
                last[first] = (three, values[3])
        out: dict[str, tuple[str, str | None, str]] = {
            first: (self.block_code(first, end), None, chapter)
               for first, (end, chapter) in last.items()}
        f = self.release.parts.get("gruppen")
        if f is not None:
            for n, values in _rows(f):
                parsed = self.group_row(values)
                if parsed is None:
                    raise LoadError("expected a group line (first;last;chapter;title)",
                                    path=f.name, where=str(n))
                first, end, chapter, title = parsed
                out[first] = (self.block_code(first, end), title, chapter)
        return out

    def group_row(self, values: list[str]) -> tuple[str, str, str, str] | None:
        raise NotImplementedError

    def three_char(self, values: list[str]) -> str:
        raise NotImplementedError

    # records
    def records(self, progress: Progress | None) -> Iterator[Record]:
        for code, title, kind, parent in self.upper:
            yield Concept(code, title, abstract=True)
            yield ConceptProperty(code, "kind", kind, "code")
            yield ConceptProperty(code, "notSelectable", "true", "boolean")
            if parent is not None:
                yield ParentLink(code, parent)
        fields = self.fields[self.width]
        for i, (_, values) in enumerate(self.rows, 1):
            code = self.code(values)
            terminal = values[1] != "N"
            yield Concept(code, values[8] or None, abstract=not terminal)
            yield ConceptProperty(code, "kind", "category", "code")
            if not terminal:
                yield ConceptProperty(code, "notSelectable", "true", "boolean")
            yield ParentLink(code, self.parent(code, values))
            for prop, index in fields:
                value = values[index]
                if value and value != "UNDEF" and _IRRELEVANT.get(prop) != value:
                    yield ConceptProperty(code, prop, value, "string")  # as ClaML Meta
            yield from self.extra(values)
            if progress is not None and i % 2000 == 0:
                progress(i, len(self.rows))
        if progress is not None:
            progress(len(self.rows), len(self.rows))

    def parent(self, code: str, values: list[str]) -> str:
        """The nearest shorter code present (I25.11 → I25.1 → I25), else the block."""
        head = code
        while len(head) > self.shortest:
            head = head[:-1].rstrip(".")
            if head in self.codes or head in self.upper_codes:
                return head
        return self.blocks[values[4]][0]


class _IcdBuilder(_Builder):
    fields = _ICD_FIELDS
    label = "ICD-10-GM"

    def chapter_code(self, number: str) -> str:
        n = _num(number)
        return _ROMAN[n - 1] if 0 < n <= len(_ROMAN) else number

    def block_code(self, first: str, last: str) -> str:
        return f"{first}-{last}"

    def three_char(self, values: list[str]) -> str:
        return values[6][:3]

    def group_row(self, values: list[str]) -> tuple[str, str, str, str] | None:
        if len(values) < 4 or not values[2].isdigit():
            return None
        return values[0], values[1], values[2], ";".join(values[3:])

    def property_names(self) -> list[str]:
        return ["kind", "usage", *(p for p, _ in self.fields[self.width])]

    def extra(self, values: list[str]) -> Iterator[ConceptProperty]:
        marked = values[5]
        if marked.endswith("*"):
            yield ConceptProperty(self.code(values), "usage", "aster", "code")
        elif marked.endswith("!"):
            yield ConceptProperty(self.code(values), "usage", "optional", "code")


class _OpsBuilder(_Builder):
    fields = _OPS_FIELDS
    label = "OPS"
    shortest = 4  # "5-47"

    def __init__(self, release: _Release, rows: list[tuple[int, list[str]]]) -> None:
        self.three: dict[str, tuple[str | None, str]] = {}  # three-char → (title, group)
        super().__init__(release, rows)

    def block_code(self, first: str, last: str) -> str:
        return f"{first}...{last}"

    def three_char(self, values: list[str]) -> str:
        return values[5]

    def group_row(self, values: list[str]) -> tuple[str, str, str, str] | None:
        if len(values) < 4 or not values[0].isdigit():
            return None
        return values[1], values[2], values[0], ";".join(values[3:])

    def build_upper(self) -> None:
        super().build_upper()
        for _, values in self.rows:
            if values[5] not in self.codes:
                self.three.setdefault(values[5], (None, values[4]))
        f = self.release.parts.get("dreisteller")
        if f is not None:
            for n, values in _rows(f):
                if len(values) < 4:
                    raise LoadError("expected chapter;group;code;title", path=f.name,
                                    where=str(n))
                if values[2] not in self.codes:
                    self.three[values[2]] = (";".join(values[3:]), values[1])
        for code, (title, group) in sorted(self.three.items()):
            if group not in self.blocks:
                raise LoadError(f"three-char code {code} names the unknown group {group}",
                                path=self.release.kodes.name)
            self.upper.append((code, title, "category", self.blocks[group][0]))


def _num(text: str) -> int:
    return int(text) if text.isdigit() else 0


__all__ = ["ATTRIBUTION", "ICD_SYSTEM", "OPS_SYSTEM", "BfarmTxtLoader"]
