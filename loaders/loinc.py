"""Load a LOINC release (format `loinc`): the full `Loinc.csv` or `LoincTableCore.csv` layout,
as a zip, a folder or a single CSV (plain or .gz), into `http://loinc.org|{version}`.

What becomes what (names as in LOINC's FHIR CodeSystem, github.com/loinc/loinc-fhir-codesystem):

* LOINC terms: display LONG_COMMON_NAME; en-US designations SHORTNAME, DisplayName,
  CONSUMER_NAME (use system http://loinc.org, the column name as use code); the six axes and
  CLASS as properties, `Coding` (LOINC Part code + the table's name) when `Part.csv` or the
  primary Part links (`LoincPartLink_Primary.csv`) name the Part (also when the name differs
  only in case), else the name as `string` (filters by Part code then find nothing, and
  `service.filters.filter_notes` says so); STATUS, CLASSTYPE, ORDER_OBS, units and the
  other columns as `string` properties. STATUS DEPRECATED → inactive and `status` retired;
  DISCOURAGED → `status` deprecated; TRIAL → `status` experimental.
* `Part.csv` → Part concepts (LP…); `LoincPartLink_*.csv` → Part properties of terms (Search
  links skipped) and Part concepts `Part.csv` lacks; the Part files load with the table (the
  release zip or folder), not on their own; `ComponentHierarchyBySystem.csv` → parent links
  (the is-a hierarchy).
* `AnswerList.csv` → answer lists (LL…, property `Answer`) and answers (LA…, property `LIST`);
  `LoincAnswerListLink.csv` → term property `answer-list` and list property `answers-for`.
* `ConsumerName.csv`, `MapTo.csv` (property MAP_TO), `*LinguisticVariant.csv` (designations
  in the variant's language, e.g. de-DE, with use LONG_COMMON_NAME, SHORTNAME,
  LinguisticVariantDisplayName, and RELATEDNAMES2 split on ";", one designation per name).
* `LoincUniversalLabOrdersValueSet.csv` (accessory files, `Other/`) → term property ORDER_OBS
  when the table has no ORDER_OBS column (LoincTableCore).

The version comes from `--version`, else the file or folder name (`Loinc_2.78.zip`), else a
read-me, else the highest VersionLastChanged in the table. A path holding only linguistic
variants is handed to `loaders.loinc_variant` (added onto the loaded version).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from loaders.base import CodeSystemContent, LoadItem, LoadOptions, Progress
from loaders.loinc_files import (
    ANSWER_NUM,
    LIST_NUM,
    LOINC_NUM,
    PART_NUM,
    VARIANT,
    CsvFile,
    Release,
    Row,
    variant_language,
)
from loaders.loinc_lab_orders import LAB_ORDERS, order_obs
from loaders.loinc_variant import COLUMNS as VARIANT_COLUMNS
from loaders.loinc_variant import variant_designations, variant_items
from termserver.errors import LoadError
from termserver.model import (
    CodeSystemInfo,
    Concept,
    ConceptProperty,
    Designation,
    ParentLink,
    Record,
)

SYSTEM = "http://loinc.org"
LANGUAGE = "en-US"
COPYRIGHT = ("This material contains content from LOINC (http://loinc.org). LOINC is copyright "
             "© Regenstrief Institute, Inc. and the Logical Observation Identifiers Names and "
             "Codes (LOINC) Committee and is available at no cost under the license at "
             "http://loinc.org/license. LOINC® is a registered United States trademark of "
             "Regenstrief Institute, Inc.")

#: table column → Part type in Part.csv, for the axes and CLASS
AXES = {"COMPONENT": "COMPONENT", "PROPERTY": "PROPERTY", "TIME_ASPCT": "TIME",
        "SYSTEM": "SYSTEM", "SCALE_TYP": "SCALE", "METHOD_TYP": "METHOD", "CLASS": "CLASS"}
#: table columns kept as string properties when not empty
STRING_COLUMNS = (
    "STATUS", "CLASSTYPE", "ORDER_OBS", "EXAMPLE_UNITS", "EXAMPLE_UCUM_UNITS", "UNITSREQUIRED",
    "VersionFirstReleased", "VersionLastChanged", "CHNG_TYPE", "EXTERNAL_COPYRIGHT_NOTICE",
    "EXTERNAL_COPYRIGHT_LINK", "RELATEDNAMES2", "FORMULA", "EXMPL_ANSWERS", "SURVEY_QUEST_TEXT",
    "SURVEY_QUEST_SRC", "HL7_FIELD_SUBFIELD_ID", "STATUS_REASON", "STATUS_TEXT",
    "CHANGE_REASON_PUBLIC", "COMMON_TEST_RANK", "COMMON_ORDER_RANK", "HL7_ATTACHMENT_STRUCTURE",
    "PanelType", "ValidHL7AttachmentRequest")
#: table columns holding `;`-separated LOINC codes, kept as Coding properties
CODE_LIST_COLUMNS = ("AskAtOrderEntry", "AssociatedObservations")
#: table columns kept as en-US designations (use code = column name)
DESIGNATION_COLUMNS = ("SHORTNAME", "DisplayName", "CONSUMER_NAME")
#: LOINC STATUS → FHIR concept `status` (http://hl7.org/fhir/concept-properties)
FHIR_STATUS = {"DEPRECATED": "retired", "DISCOURAGED": "deprecated", "TRIAL": "experimental"}
TABLES = ("Loinc.csv", "LoincTableCore.csv", "LoincTableCore*", "Loinc_*")
VERSION_RE = re.compile(r"(?<![\d.])(\d\.\d{2,3})(?![\d])")


class LoincLoader:
    name: ClassVar[str] = "loinc"

    def detect(self, path: Path) -> bool:
        name = path.name.lower()
        return name.startswith(("loinc", "loinctablecore")) and (
            path.is_dir() or name.endswith((".zip", ".csv", ".csv.gz")))

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        release = Release(path)
        table = release.find(*TABLES)
        if table is None:
            if release.all(VARIANT):
                yield from variant_items(release, options, progress)
                return
            if any(release.find(name) for name in PART_FILES):
                raise LoadError(
                    "no LOINC table: LOINC Part files cannot be added on their own", path=str(path),
                    hint="load them with the table in one load: the release zip or folder "
                         "(AccessoryFiles/PartFile next to LoincTable/), or a folder holding "
                         "Loinc.csv or LoincTableCore.csv with Part.csv and "
                         "LoincPartLink_Primary.csv")
            raise LoadError("no LOINC table: expected Loinc.csv or LoincTableCore.csv",
                            path=str(path), hint="pass the release zip, its folder or "
                            "the table CSV")
        version = options.version or _version(path, release, table)
        parts = _part_index(release)
        info = _info(version, release, parts)
        yield CodeSystemContent(info, _records(release, table, parts, progress))


# -- version and header ------------------------------------------------------------------------


def _version(path: Path, release: Release, table: CsvFile) -> str:
    """From the path name, a read-me, or the newest VersionLastChanged of the table."""
    for name in (path.name, table.base):
        m = VERSION_RE.search(name)
        if m:
            return m.group(1)
    m = re.search(r"(?:LOINC|Version)\s+(?:version\s+)?(\d\.\d{2,3})\b", release.readme_text(),
                  re.IGNORECASE)
    if m:
        return m.group(1)
    newest: tuple[tuple[int, ...], str] | None = None
    for row in table.rows():
        value = row["VersionLastChanged"]
        if re.fullmatch(r"\d+(\.\d+)*", value):
            key = (tuple(int(p) for p in value.split(".")), value)
            newest = key if newest is None or key > newest else newest
    if newest is None:
        raise LoadError("cannot tell the LOINC version", path=table.name,
                        hint="pass --version, e.g. --version 2.78")
    return newest[1]


def _info(version: str, release: Release, parts: PartIndex) -> CodeSystemInfo:
    axis_type = "Coding" if parts else "string"
    props: list[tuple[str, str, str]] = [
        ("parent", "http://hl7.org/fhir/concept-properties#parent", "code"),
        ("child", "http://hl7.org/fhir/concept-properties#child", "code"),
        ("status", "http://hl7.org/fhir/concept-properties#status", "code"),
        *((axis, f"{SYSTEM}/property/{axis}", axis_type) for axis in AXES),
        *((c, f"{SYSTEM}/property/{c}", "string") for c in STRING_COLUMNS),
        *((c, f"{SYSTEM}/property/{c}", "Coding") for c in CODE_LIST_COLUMNS),
        ("MAP_TO", f"{SYSTEM}/property/MAP_TO", "Coding"),
        ("answer-list", f"{SYSTEM}/property/answer-list", "Coding"),
        ("answers-for", f"{SYSTEM}/property/answers-for", "Coding"),
        ("Answer", f"{SYSTEM}/property/Answer", "Coding"),
        ("LIST", f"{SYSTEM}/property/LIST", "Coding"),
    ]
    resource: dict[str, Any] = {
        "resourceType": "CodeSystem", "id": f"loinc-{version}", "url": SYSTEM,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:2.16.840.1.113883.6.1"}],
        "version": version, "name": "LOINC", "title": "LOINC Code System", "status": "active",
        "experimental": False, "publisher": "Regenstrief Institute, Inc.",
        "description": "LOINC is a freely available international standard for tests, "
                       "measurements, and observations",
        "copyright": COPYRIGHT, "caseSensitive": False, "valueSet": f"{SYSTEM}/vs",
        "hierarchyMeaning": "is-a", "compositional": False, "versionNeeded": False,
        "content": "complete", "language": LANGUAGE,
        "filter": [{"code": c, "operator": ["=", "regex"], "value": "a LOINC Part code or name"}
                   for c in AXES] + [
            {"code": c, "operator": ["=", "regex"], "value": "the column value"}
            for c in ("STATUS", "CLASSTYPE", "ORDER_OBS")] + [
            {"code": "LIST", "operator": ["="], "value": "an answer list code (LL…)"},
            {"code": "parent", "operator": ["="], "value": "a Part code"},
            {"code": "child", "operator": ["="], "value": "a Part or LOINC code"}],
        "property": [{"code": c, "uri": u, "type": t} for c, u, t in props],
    }
    return CodeSystemInfo(url=SYSTEM, version=version, name="LOINC", title="LOINC Code System",
                          status="active", content="complete", hierarchy_meaning="is-a",
                          case_sensitive=False, language=LANGUAGE, id=f"loinc-{version}",
                          resource=resource)


# -- records ---------------------------------------------------------------------------------


#: LOINC Part link property (…/property/X) → table column, for the axes
_AXIS_OF_LINK = {f"{SYSTEM}/property/{axis}": axis for axis in AXES}
#: Part files: `Part.csv` names every Part, the primary links name each term's axis Parts.
PART_FILES = ("Part.csv", "LoincPartLink_Primary.csv")


class PartIndex(dict[tuple[str, str], str]):
    """(Part type, Part name) → Part code for the axes and CLASS, from `Part.csv` and the
    primary Part links (active Parts win over others of the same name). A table value that
    differs from the Part name only in case (`Yellow Fever virus` / `Yellow fever virus`)
    finds the Part too."""

    def __init__(self) -> None:
        super().__init__()
        self.folded: dict[tuple[str, str], str] = {}
        self._settled: tuple[set[tuple[str, str]], set[tuple[str, str]]] = (set(), set())

    def code(self, kind: str, name: str) -> str | None:
        return self.get((kind, name)) or self.folded.get((kind, name.casefold()))

    def add(self, kind: str, name: str, code: str, active: bool) -> None:
        """The first active Part of a name wins, else the first Part of it."""
        for index, key, settled in ((self, (kind, name), self._settled[0]),
                                    (self.folded, (kind, name.casefold()), self._settled[1])):
            if key not in settled and (key not in index or active):
                index[key] = code
                if active:
                    settled.add(key)


def _part_index(release: Release) -> PartIndex:
    """The Part index of the release's Part files (empty without them)."""
    index = PartIndex()
    wanted = set(AXES.values())
    part_file = release.find("Part.csv")
    if part_file is not None:
        for row in part_file.rows(("PartNumber", "PartTypeName", "PartName")):
            kind = row["PartTypeName"]
            if kind in wanted and row["PartName"]:
                index.add(kind, row["PartName"], row.code("PartNumber", PART_NUM,
                                                          "LOINC Part code"),
                          row["Status"] in ("", "ACTIVE"))
    links = release.find("LoincPartLink_Primary.csv")
    if links is not None:
        for row in links.rows(("LoincNumber", "PartNumber", "PartName", "Property")):
            axis = _AXIS_OF_LINK.get(row["Property"])
            if axis is not None and row["PartName"] and (AXES[axis], row["PartName"]) \
                    not in index:
                index.add(AXES[axis], row["PartName"],
                          row.code("PartNumber", PART_NUM, "LOINC Part code"), False)
    return index


class _Counter:
    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.n = progress, 0

    def tick(self) -> None:
        self.n += 1
        if self.progress is not None and self.n % 2000 == 0:
            self.progress(self.n, None)


def _records(release: Release, table: CsvFile, parts: PartIndex,
             progress: Progress | None) -> Iterator[Record]:
    seen: set[str] = set()  # codes already emitted as concepts
    count = _Counter(progress)
    yield from _terms(table, parts, seen, count)
    for base, reader in (("MapTo.csv", _map_to), ("Part.csv", _parts),
                         ("LoincPartLink_Primary.csv", _part_links),
                         ("LoincPartLink_Supplementary.csv", _part_links),
                         ("LoincPartLink.csv", _part_links),
                         ("ComponentHierarchyBySystem.csv", _hierarchy),
                         ("AnswerList.csv", _answer_lists),
                         ("LoincAnswerListLink.csv", _answer_list_links),
                         ("ConsumerName.csv", _consumer_names)):
        found = release.find(base)
        if found is not None:
            yield from reader(found, seen, count)
    orders = release.all(LAB_ORDERS)
    if orders and not _has_column(table, "ORDER_OBS"):  # LoincTableCore: from Other/
        for prop in order_obs(orders[0]):
            if prop.code in seen:
                count.tick()
                yield prop
    # long common names of every variant first, so that where several variants match a
    # language (de → de-AT, de-DE) a full name wins over a short display name
    variants = sorted(release.all(VARIANT), key=lambda f: f.base)
    for columns in (VARIANT_COLUMNS[:1], VARIANT_COLUMNS[1:]):
        for variant in variants:
            language = variant_language(variant.base)
            assert language is not None
            for record in variant_designations(variant, language, columns):
                count.tick()
                yield record


def _terms(table: CsvFile, parts: PartIndex, seen: set[str],
           count: _Counter) -> Iterator[Record]:
    plan: _Plan | None = None
    for row in table.rows(("LOINC_NUM", "COMPONENT", "LONG_COMMON_NAME", "STATUS")):
        plan = plan or _Plan(row.columns)
        v = row.values
        code = v[plan.code].strip()
        if not LOINC_NUM.match(code):
            code = row.code("LOINC_NUM", LOINC_NUM, "LOINC code")  # raises with the line
        if code in seen:
            raise row.error(f"LOINC code {code} appears twice")
        seen.add(code)
        count.tick()
        status = v[plan.status].strip().upper()
        display = v[plan.display].strip() or row["SHORTNAME"] or code
        yield Concept(code, display, row["DefinitionDescription"] or None,
                      inactive=status == "DEPRECATED")
        for column, i in plan.designations:
            if v[i]:
                yield Designation(code, v[i].strip(), LANGUAGE, SYSTEM, column, column)
        for column, kind, i in plan.axes:
            name = v[i].strip()
            if not name or name == "-":
                continue
            part = parts.code(kind, name)
            if part is not None:
                yield ConceptProperty(code, column, part, "Coding", SYSTEM, name)
            else:
                yield ConceptProperty(code, column, name, "string")
        for column, i in plan.strings:
            value = v[i].strip()
            if value and not (value == "0" and column.startswith("COMMON_")):
                yield ConceptProperty(code, column, value, "string")
        for column, i in plan.code_lists:
            for other in filter(None, (x.strip() for x in v[i].split(";"))):
                yield ConceptProperty(code, column, other, "Coding", SYSTEM)
        if status in FHIR_STATUS:
            yield ConceptProperty(code, "status", FHIR_STATUS[status], "code")


def _has_column(f: CsvFile, column: str) -> bool:
    first = next(f.rows(), None)  # the generator, dropped at once, closes the file
    return first is not None and column in first.columns


class _Plan:
    """Column positions of one table layout (full or core), resolved once per file."""

    def __init__(self, columns: dict[str, int]) -> None:
        self.code, self.status = columns["LOINC_NUM"], columns["STATUS"]
        self.display = columns["LONG_COMMON_NAME"]
        self.designations = [(c, columns[c]) for c in DESIGNATION_COLUMNS if c in columns]
        self.axes = [(c, k, columns[c]) for c, k in AXES.items() if c in columns]
        self.strings = [(c, columns[c]) for c in STRING_COLUMNS if c in columns]
        self.code_lists = [(c, columns[c]) for c in CODE_LIST_COLUMNS if c in columns]


def _map_to(f: CsvFile, seen: set[str], count: _Counter) -> Iterator[Record]:
    for row in f.rows(("LOINC", "MAP_TO")):
        count.tick()
        yield ConceptProperty(row.code("LOINC", LOINC_NUM, "LOINC code"), "MAP_TO",
                              row.code("MAP_TO", LOINC_NUM, "LOINC code"), "Coding", SYSTEM)


def _parts(f: CsvFile, seen: set[str], count: _Counter) -> Iterator[Record]:
    for row in f.rows(("PartNumber", "PartTypeName", "PartName")):
        code = row.code("PartNumber", PART_NUM, "LOINC Part code")
        if code in seen:
            continue
        seen.add(code)
        count.tick()
        status = row["Status"].upper()
        name = row["PartName"] or row["PartDisplayName"] or code
        yield Concept(code, name, inactive=status == "DEPRECATED")
        shown = row["PartDisplayName"]
        if shown and shown != name:
            yield Designation(code, shown, LANGUAGE, SYSTEM, "DisplayName", "DisplayName")
        if status:
            yield ConceptProperty(code, "STATUS", status, "string")
        if status in FHIR_STATUS:
            yield ConceptProperty(code, "status", FHIR_STATUS[status], "code")


def _part_links(f: CsvFile, seen: set[str], count: _Counter) -> Iterator[Record]:
    """Part links other than the axes (already given by the table) and Search links; a
    linked Part that `Part.csv` did not give becomes a concept (its name as display)."""
    for row in f.rows(("LoincNumber", "PartNumber", "PartName", "Property")):
        prop = row["Property"]
        if row["LinkTypeName"] == "Search":
            continue
        part = row.code("PartNumber", PART_NUM, "LOINC Part code")
        if part not in seen:
            seen.add(part)
            count.tick()
            yield Concept(part, row["PartName"] or part)
        if prop in _AXIS_OF_LINK:
            continue
        count.tick()
        code = row.code("LoincNumber", LOINC_NUM, "LOINC code")
        name = prop.rsplit("/", 1)[-1] or row["PartTypeName"]
        yield ConceptProperty(code, name, part, "Coding", SYSTEM, row["PartName"] or None)


def _hierarchy(f: CsvFile, seen: set[str], count: _Counter) -> Iterator[Record]:
    links: set[tuple[str, str]] = set()
    for row in f.rows(("IMMEDIATE_PARENT", "CODE", "CODE_TEXT")):
        code, parent = row["CODE"], row["IMMEDIATE_PARENT"]
        if not (PART_NUM.match(code) or LOINC_NUM.match(code)):
            raise row.error(f"CODE {code!r} is neither a LOINC code nor a Part code")
        count.tick()
        if code not in seen:
            seen.add(code)
            yield Concept(code, row["CODE_TEXT"] or code)
        if parent and (code, parent) not in links:
            if not PART_NUM.match(parent):
                raise row.error(f"IMMEDIATE_PARENT {parent!r} is not a LOINC Part code")
            links.add((code, parent))
            yield ParentLink(code, parent)


def _answer_lists(f: CsvFile, seen: set[str], count: _Counter) -> Iterator[Record]:
    required = ("AnswerListId", "AnswerListName", "AnswerStringId", "DisplayText")
    for row in f.rows(required):
        count.tick()
        ll = row.code("AnswerListId", LIST_NUM, "LOINC answer list code")
        name = row["AnswerListName"]
        if ll not in seen:
            seen.add(ll)
            yield Concept(ll, name or ll)
        if not row["AnswerStringId"]:
            continue  # an externally defined list has no answers here
        la = row.code("AnswerStringId", ANSWER_NUM, "LOINC answer code")
        text = row["DisplayText"]
        if la not in seen:
            seen.add(la)
            yield Concept(la, text or la)
        yield ConceptProperty(ll, "Answer", la, "Coding", SYSTEM, text or None)
        yield ConceptProperty(la, "LIST", ll, "Coding", SYSTEM, name or None)


def _answer_list_links(f: CsvFile, seen: set[str], count: _Counter) -> Iterator[Record]:
    for row in f.rows(("LoincNumber", "AnswerListId")):
        count.tick()
        code = row.code("LoincNumber", LOINC_NUM, "LOINC code")
        ll = row.code("AnswerListId", LIST_NUM, "LOINC answer list code")
        yield ConceptProperty(code, "answer-list", ll, "Coding", SYSTEM,
                              row["AnswerListName"] or None)
        yield ConceptProperty(ll, "answers-for", code, "Coding", SYSTEM,
                              row["LongCommonName"] or None)


def _consumer_names(f: CsvFile, seen: set[str], count: _Counter) -> Iterator[Record]:
    for row in f.rows(("LoincNumber", "ConsumerName")):
        value = row["ConsumerName"]
        if value:
            count.tick()
            yield Designation(row.code("LoincNumber", LOINC_NUM, "LOINC code"), value,
                              LANGUAGE, SYSTEM, "CONSUMER_NAME", "CONSUMER_NAME")


__all__ = ["LoincLoader", "Row"]
