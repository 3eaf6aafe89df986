"""Export a map project's decisions as text: FHIR ConceptMap (R4, R5), CSV, SSSOM TSV and
OMOP `source_to_concept_map` CSV.

* `fhir-r4`, `fhir-r5`, `sssom`, `omop` carry what a publish stores (mappings.publish): the
  accepted main decisions and explicit `not-related-to` targets of rejected ones.
* `csv` is the curator's work file: every decision given (any status, any reviewer), one row
  per target, a decision without target as one row with empty target columns. It is the format
  `mappings.mapimport.decisions_from_csv` reads back. Its `comment` column holds the target's
  comment, else the decision's.
* SSSOM (https://mapping-commons.github.io/sssom/): a `#`-prefixed YAML metadata block
  (curie_map, mapping_set_id = the ConceptMap url, license, …) then the mappings table.
  Predicates: equivalent → skos:exactMatch, source-is-narrower-than-target → skos:broadMatch
  (the object is broader), source-is-broader-than-target → skos:narrowMatch, related-to →
  skos:relatedMatch, not-related-to → skos:relatedMatch with predicate_modifier `Not`;
  mapping_justification semapv:ManualMappingCuration.
* OMOP: OMOP concept ids are not in the terminology server; pass `omop_concepts`
  ((vocabulary_id, concept_code) → concept_id) to fill target_concept_id, else 0 is written.

Formula injection (OWASP "CSV Injection"): in the CSV, SSSOM and OMOP tables every cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet
shows it as text instead of running it. That holds for every text column, codes included:
source codes are whatever an imported list held. Only plain numbers (`-5`, `+1.5`) are left
as they are. A code such as `-ABC` is therefore exported as `'-ABC`; strip the quote when
reading such a file back into anything but a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from mappings.model import Decision, Project, SourceCode, Target
from mappings.publish import (
    concept_map_info,
    equivalence,
    map_url,
    published_decisions,
    published_elements,
    source_display,
)
from termserver.errors import InvalidRequest
from termserver.fhir.conceptmap_out import FhirRelease, concept_map_resource

__all__ = ["CSV_COLUMNS", "FORMATS", "OMOP_COLUMNS", "SSSOM_COLUMNS", "cell", "curie_prefix",
           "export_text", "omop_vocabulary"]

FORMATS = ("fhir-r4", "fhir-r5", "csv", "sssom", "omop")

CSV_COLUMNS = ("source_code", "source_display", "target_system", "target_code", "target_display",
               "relationship", "equivalence", "comment", "status", "reviewer", "updated")
SSSOM_COLUMNS = ("subject_id", "subject_label", "predicate_id", "predicate_modifier",
                 "object_id", "object_label", "mapping_justification", "author_id",
                 "author_label", "mapping_date", "confidence", "comment")
OMOP_COLUMNS = ("source_code", "source_concept_id", "source_vocabulary_id",
                "source_code_description", "target_concept_id", "target_vocabulary_id",
                "valid_start_date", "valid_end_date", "invalid_reason")

SSSOM_LICENSE = "https://w3id.org/sssom/license/all-rights-reserved"  # when none is given
PREDICATES = {
    "equivalent": "skos:exactMatch", "source-is-narrower-than-target": "skos:broadMatch",
    "source-is-broader-than-target": "skos:narrowMatch", "related-to": "skos:relatedMatch",
    "not-related-to": "skos:relatedMatch",
}
#: Well-known systems: (CURIE prefix, its expansion, OMOP vocabulary_id).
KNOWN_SYSTEMS: dict[str, tuple[str, str, str]] = {
    "http://loinc.org": ("loinc", "https://loinc.org/", "LOINC"),
    "http://snomed.info/sct": ("sctid", "http://snomed.info/id/", "SNOMED"),
    "http://fhir.de/CodeSystem/bfarm/icd-10-gm": (
        "icd10gm", "http://fhir.de/CodeSystem/bfarm/icd-10-gm/", "ICD10GM"),
    "http://fhir.de/CodeSystem/bfarm/ops": ("ops", "http://fhir.de/CodeSystem/bfarm/ops/", "OPS"),
}
_FIXED_PREFIXES = {"skos": "http://www.w3.org/2004/02/skos/core#",
                   "semapv": "https://w3id.org/semapv/vocab/"}
_ORCID = re.compile(r"^(?:https?://orcid\.org/|orcid:)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
OMOP_END_DATE = "2099-12-31"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def cell(value: object) -> str:
    """A table cell that no spreadsheet runs as a formula (OWASP: prefix a single quote).
    A carriage return becomes a line feed (the csv module quotes only that one)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        text = "'" + text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _safe(row: Sequence[object]) -> list[str]:
    return [cell(v) for v in row]


def export_text(fmt: str, project: Project, decisions: Sequence[Decision],
                sources: Mapping[str, SourceCode], *, version: str | None = None,
                status: str = "draft", published: date | None = None,
                license: str | None = None,
                omop_concepts: Mapping[tuple[str, str], int] | None = None) -> tuple[str, str]:
    """(media type, text) of the project's decisions in `fmt` (one of FORMATS). `published`
    is the date written as mapping_date / valid_start_date (default today, UTC)."""
    day = published or datetime.now(UTC).date()
    if fmt in ("fhir-r4", "fhir-r5"):
        release: FhirRelease = "R4" if fmt == "fhir-r4" else "R5"
        info = concept_map_info(project, version=version, status=status)
        elements = published_elements(project, decisions, sources,
                                      source_version=info.source_version,
                                      target_version=info.target_version)
        resource = concept_map_resource(info, elements, release, date=day.isoformat())
        fhir = "4.0" if release == "R4" else "5.0"
        return (f"application/fhir+json; fhirVersion={fhir}",
                json.dumps(resource, ensure_ascii=False, indent=2) + "\n")
    if fmt == "csv":
        return "text/csv; charset=utf-8", _csv(project, decisions, sources)
    if fmt == "sssom":
        return ("text/tab-separated-values; charset=utf-8",
                _sssom(project, decisions, sources, version, day, license))
    if fmt == "omop":
        return "text/csv; charset=utf-8", _omop(project, decisions, sources, day,
                                                omop_concepts or {})
    raise InvalidRequest(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")


# -- CSV ------------------------------------------------------------------------------------


def _ordered(decisions: Sequence[Decision], sources: Mapping[str, SourceCode]
             ) -> list[Decision]:
    order = {code: i for i, code in enumerate(sources)}
    return sorted(decisions, key=lambda d: (order.get(d.source_code, len(order)),
                                            d.source_code, d.reviewer))


def _csv(project: Project, decisions: Sequence[Decision],
         sources: Mapping[str, SourceCode]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in _ordered(decisions, sources):
        if d.status == "unmapped" and not d.targets:
            continue
        display = source_display(d, sources) or ""
        rows: Sequence[Target | None] = d.targets or (None,)
        for t in rows:
            if t is None:
                target = ["", "", "", "", "", d.comment or ""]
            else:
                target = [t.system or project.target_system, t.code, t.display or "",
                          t.relationship, equivalence(t.relationship),
                          t.comment or d.comment or ""]
            writer.writerow(_safe([d.source_code, display, *target, d.status, d.reviewer,
                                   d.updated]))
    return out.getvalue()


# -- SSSOM ----------------------------------------------------------------------------------


def curie_prefix(system: str, project: Project) -> tuple[str, str]:
    """(CURIE prefix, expansion) for a system: well-known ones, the project's source system
    (prefix from the project id), else a prefix derived from the url's last segment."""
    if system in KNOWN_SYSTEMS:
        prefix, expansion, _ = KNOWN_SYSTEMS[system]
        return prefix, expansion
    if system == project.source_system:
        word = project.id
    else:
        word = system.rstrip("/").rsplit("/", 1)[-1]
    prefix = re.sub(r"[^A-Za-z0-9_]", "_", word).strip("_") or "local"
    if not prefix[0].isalpha():
        prefix = f"x{prefix}"
    return prefix, system.rstrip("/") + "/"


def _yaml(value: str) -> str:
    """A YAML scalar: a URI plain, anything else double-quoted (JSON string syntax is valid
    YAML), so a version such as 1.0 stays a string."""
    plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9_./:#%?=&~+\-]*", value)
    return value if plain else json.dumps(value, ensure_ascii=False)


def _sssom(project: Project, decisions: Sequence[Decision], sources: Mapping[str, SourceCode],
           version: str | None, day: date, license: str | None) -> str:
    pairs = published_decisions(decisions, sources)
    prefixes: dict[str, str] = dict(_FIXED_PREFIXES)
    src_prefix, src_exp = curie_prefix(project.source_system, project)
    prefixes[src_prefix] = src_exp
    rows: list[list[str]] = []
    for d, targets in pairs:
        author = d.author or ""
        orcid = _ORCID.match(author)
        if orcid:
            prefixes["orcid"] = "https://orcid.org/"
        for t in targets:
            tgt_prefix, tgt_exp = curie_prefix(t.system or project.target_system, project)
            prefixes[tgt_prefix] = tgt_exp
            rows.append([
                f"{src_prefix}:{d.source_code}", source_display(d, sources) or "",
                PREDICATES[t.relationship],
                "Not" if t.relationship == "not-related-to" else "",
                f"{tgt_prefix}:{t.code}", t.display or "", "semapv:ManualMappingCuration",
                f"orcid:{orcid.group(1)}" if orcid else "", "" if orcid else author,
                (d.updated or day.isoformat())[:10], "", t.comment or d.comment or ""])
    meta = ["curie_map:"] + [f"  {p}: {_yaml(e)}" for p, e in sorted(prefixes.items())]
    meta += [f"mapping_set_id: {_yaml(map_url(project))}",
             f"license: {_yaml(license or SSSOM_LICENSE)}",
             f"mapping_set_title: {_yaml(project.title)}",
             f"mapping_date: {day.isoformat()}"]
    if version:
        meta.append(f"mapping_set_version: {_yaml(version)}")
    if project.description:
        meta.append(f"mapping_set_description: {_yaml(project.description)}")
    out = io.StringIO()
    out.write("".join(f"#{line}\n" for line in meta))
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(SSSOM_COLUMNS)
    writer.writerows([cell(_tsv_safe(v)) for v in row] for row in rows)
    return out.getvalue()


def _tsv_safe(value: str) -> str:
    """SSSOM/TSV values may not hold tabs or line breaks."""
    return re.sub(r"[\t\r\n]+", " ", value)


# -- OMOP -----------------------------------------------------------------------------------


def omop_vocabulary(system: str) -> str:
    """The OMOP vocabulary_id of a target system ("" when it has none)."""
    known = KNOWN_SYSTEMS.get(system)
    return known[2] if known else ""


def _omop(project: Project, decisions: Sequence[Decision], sources: Mapping[str, SourceCode],
          day: date, concepts: Mapping[tuple[str, str], int]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OMOP_COLUMNS)
    source_vocabulary = re.sub(r"[^A-Za-z0-9_]", "_", project.id)[:20]
    for d, targets in published_decisions(decisions, sources):
        for t in targets:
            if t.relationship == "not-related-to":
                continue  # OMOP has no negative mappings
            vocabulary = omop_vocabulary(t.system or project.target_system)
            writer.writerow(_safe([d.source_code, 0, source_vocabulary,
                                   cell(source_display(d, sources))[:255],
                                   concepts.get((vocabulary, t.code), 0), vocabulary,
                                   day.strftime("%Y-%m-%d"), OMOP_END_DATE, ""]))
    return out.getvalue()
