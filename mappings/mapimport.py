"""Import existing maps into a project as decisions: FHIR ConceptMaps (R4 or R5 JSON) and CSV.

CSV: the file `mappings.exports` writes (columns source_code, source_display, target_system,
target_code, target_display, relationship, equivalence, comment, status, reviewer, updated), or
a minimal one: `source_code,target_code[,relationship or equivalence][,comment]` with or
without that header. Comma, semicolon or tab separated. Rows of one source code (and reviewer)
form one decision; a row without target code is a decision without target. Without a status
column, a decision with targets is `accepted` and one without is `rejected` (reviewed, no
map). R4 equivalences are read as the R5 relationship the FHIR R4→R5 conversion gives.
A comment shared by all rows of a decision is the decision's comment, otherwise each row's
comment stays on its target.

ConceptMap: every group's elements; a target in the project's target system gets no explicit
system. `noMap` (R5) or an `unmatched` target (R4) makes a `rejected` decision; a group's
`unmapped` rule is not a decision and is skipped.

Bad rows are reported by line (CSV: the header is line 1) like `mappings.importer`; for a
ConceptMap the "line" is the element's position (1-based, over all groups).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loaders.bounded import (
    MAX_LISTED,
    ROWS_SETTING,
    byte_lines,
    max_lines,
    max_rows,
    parse_json,
    read_capped,
    upload_name,
)
from mappings.importer import BadRow
from mappings.model import MAIN, RELATIONSHIPS, STATUSES, Decision, Project, Status, Target
from termserver.aliases import canonical_system
from termserver.errors import InvalidRequest, LoadError, NotFound
from termserver.fhir.conceptmap import EQUIVALENCE_TO_RELATIONSHIP, map_elements
from termserver.fhir.conceptmap_out import BROADER_COMMENT
from termserver.model import UNMAPPED_SOURCE, MapElement

__all__ = ["MINIMAL_COLUMNS", "MapImport", "concept_map_json", "decisions_from_concept_map",
           "decisions_from_csv", "relationship_of"]

MINIMAL_COLUMNS = ("source_code", "target_code", "relationship", "comment")


class MapImport(list[Decision]):
    """The decisions read from a map (a list, as the workbench takes them) plus `bad_rows`."""

    def __init__(self, decisions: Iterable[Decision] = (),
                 bad_rows: Iterable[BadRow] = (), unlisted_bad_rows: int = 0) -> None:
        super().__init__(decisions)
        listed = tuple(bad_rows)
        self.bad_rows: tuple[BadRow, ...] = listed[:MAX_LISTED]
        # bad rows past the first MAX_LISTED: counted, not listed
        self.unlisted_bad_rows = unlisted_bad_rows + len(listed) - len(self.bad_rows)


def relationship_of(value: str) -> str | None:
    """The R5 relationship meant by an R5 relationship or R4 equivalence code, or None."""
    v = value.strip().lower()
    if v in RELATIONSHIPS:
        return v
    return EQUIVALENCE_TO_RELATIONSHIP.get(v)


@dataclass(slots=True)
class _Draft:
    """A decision being assembled from its rows."""

    code: str
    reviewer: str
    line: int
    status: Status | None = None
    display: str | None = None
    updated: str = ""
    targets: list[Target] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # one per row ("" for none)

    def decision(self) -> Decision:
        status: Status = self.status or ("accepted" if self.targets else "rejected")
        if self.status is None and self.targets and all(
                t.relationship == "not-related-to" for t in self.targets):
            status = "rejected"
        shared = set(self.comments)
        comment: str | None = None
        targets = list(self.targets)
        if len(shared) == 1:
            comment = shared.pop() or None
        elif targets:
            targets = [replace(t, comment=c or None) for t, c in zip(targets, self.comments,
                                                                      strict=False)]
        return Decision(self.code, status, tuple(targets), comment, self.reviewer,
                        updated=self.updated, source_display=self.display)


# -- ConceptMap -----------------------------------------------------------------------------


def decisions_from_concept_map(data: Mapping[str, Any], project: Project) -> MapImport:
    """Decisions from an R4 or R5 ConceptMap resource (a parsed JSON object)."""
    if not isinstance(data, Mapping) or data.get("resourceType") != "ConceptMap":
        raise InvalidRequest("not a ConceptMap resource")
    drafts: dict[str, _Draft] = {}
    bad: list[BadRow] = []
    position = 0
    for g, group in enumerate(_array(data.get("group"), "group")):
        if not isinstance(group, Mapping):
            continue
        for e, element in enumerate(_array(group.get("element"), f"group[{g}].element")):
            position += 1
            where = f"group[{g}].element[{e}]"
            one = {"group": [{k: v for k, v in group.items() if k not in ("element", "unmapped")}
                             | {"element": [element]}]}
            try:
                rows = [r for r in map_elements(one) if r.source_code != UNMAPPED_SOURCE]
                _check_types(rows)
            except (AttributeError, TypeError, ValueError, KeyError):
                bad.append(BadRow(position, f"{where}: not a valid ConceptMap element"))
                continue
            if not rows:
                bad.append(BadRow(position, f"{where}: no source code"))
                continue
            source = rows[0].source_system
            if source and canonical_system(source) != canonical_system(project.source_system):
                reason = (f"{where}: source system {source} is not the project's "
                          f"({project.source_system})")
                bad.append(BadRow(position, reason, rows[0].source_code))
                continue
            _add_element(drafts, rows, position, project)
    return MapImport((d.decision() for d in drafts.values()), bad)


def _array(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest(f"the ConceptMap's {where} must be an array",
                             expression=(f"ConceptMap.{where}",))
    return value


def _check_types(rows: list[MapElement]) -> None:
    """Raise TypeError when a code, display or comment read from the element is not text."""
    for r in rows:
        for value in (r.source_code, r.source_display, r.source_system, r.target_code,
                      r.target_display, r.target_system, r.target_version, r.comment):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{value!r} is not a string")


def _add_element(drafts: dict[str, _Draft], rows: list[MapElement], position: int,
                 project: Project) -> None:
    code = rows[0].source_code
    draft = drafts.setdefault(code, _Draft(code, MAIN, position))
    draft.display = draft.display or rows[0].source_display
    for r in rows:
        comment = None if r.comment == BROADER_COMMENT else r.comment
        if r.target_code is None:
            if not draft.targets:
                draft.comments.append(comment or "")
            continue
        if not draft.targets:
            draft.comments.clear()  # a comment of an `unmatched` row before real targets
        system = r.target_system and canonical_system(r.target_system)
        if system == canonical_system(project.target_system):
            system = None
        draft.targets.append(Target(r.target_code, r.target_display, r.relationship, system,
                                    r.target_version if system else None, None))
        draft.comments.append(comment or "")


# -- CSV ------------------------------------------------------------------------------------


def concept_map_json(raw: bytes, filename: str | None = None) -> Any:
    """An uploaded ConceptMap's JSON, parsed within the limits of `loaders.bounded` (memory,
    nesting depth, no NUL); a bad document is a 400 naming the upload, not the server's."""
    return parse_json(raw, upload_name(filename, "upload.json"))


def _source(source: str | Path | bytes) -> tuple[bytes, str]:
    """The map's bytes and the name for messages."""
    if isinstance(source, bytes):
        return source, "the map file"
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        path = Path(source)
        if not path.is_file():
            raise NotFound(f"no map file {source}")
        with path.open("rb") as f:
            return read_capped(f, path.name), path.name
    if "\n" not in source and source.lower().endswith((".csv", ".tsv", ".txt")):
        raise NotFound(f"no map file {source}")  # a path that is not there, not one row
    return source.encode("utf-8", "surrogatepass"), "the map text"


def _encoding(raw: bytes, label: str) -> str:
    """UTF-8 (BOM allowed) when every line decodes, else Windows-1252 when every line does."""
    for encoding in ("utf-8", "cp1252"):
        try:
            for line in byte_lines(io.BytesIO(raw), label, max_lines=max_lines()):
                if not line.isascii():
                    line.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise InvalidRequest("the map file is neither UTF-8 nor Windows-1252 text")


def _lines(raw: bytes, encoding: str, label: str) -> Iterator[str]:
    lines = byte_lines(io.BytesIO(raw), label, max_lines=max_lines())
    for number, line in enumerate(lines, start=1):
        text = line.decode(encoding)
        yield text.lstrip("\ufeff") if number == 1 else text


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def decisions_from_csv(source: str | Path | bytes, *, project: Project | None = None
                       ) -> MapImport:
    """Decisions from a CSV map (file path, bytes or text). With `project`, a target system
    equal to the project's target system is left implicit (Target.system None). At most
    `max_rows()` rows; the first MAX_LISTED bad rows are listed, the rest counted."""
    raw, label = _source(source)
    encoding = _encoding(raw, label)
    first = next((line for line in _lines(raw, encoding, label) if line.strip()), "")
    reader = csv.reader(_lines(raw, encoding, label), delimiter=_delimiter(first))
    drafts: dict[tuple[str, str], _Draft] = {}
    seen: dict[tuple[str, str, str, str], int] = {}
    bad: list[BadRow] = []
    unlisted = rows = 0
    limit = max_rows()
    columns: tuple[str, ...] | None = None
    end = 0
    try:
        for values in reader:
            line, end = end + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if columns is None:
                names = tuple(v.strip().lower().lstrip("\ufeff") for v in values)
                if "source_code" in names:
                    columns = names
                    if "target_code" not in names:
                        raise InvalidRequest("the header names source_code but no target_code")
                    continue
                columns = MINIMAL_COLUMNS
            rows += 1
            if rows > limit:
                raise LoadError(f"more than {limit:,} rows", path=label, where=str(line),
                                hint=f"the limit is set by {ROWS_SETTING}")
            row = {name: (values[i].strip() if i < len(values) else "")
                   for i, name in enumerate(columns)}
            problem = _add_row(drafts, seen, row, line, project)
            if problem is None:
                continue
            if len(bad) < MAX_LISTED:
                bad.append(problem)
            else:
                unlisted += 1
    except csv.Error as exc:
        raise LoadError(str(exc), path=label, where=str(reader.line_num)) from None
    return MapImport((d.decision() for d in drafts.values()), bad, unlisted)


def _add_row(drafts: dict[tuple[str, str], _Draft], seen: dict[tuple[str, str, str, str], int],
             row: dict[str, str], line: int, project: Project | None) -> BadRow | None:
    code = row.get("source_code", "")
    if any("\x00" in value for value in row.values()):
        return BadRow(line, "a NUL character (\\u0000) in the row", code.replace("\x00", ""))
    if not code:
        return BadRow(line, "no source_code")
    relationship = "equivalent"
    for column in ("relationship", "equivalence"):
        value = row.get(column, "")
        if value:
            found = relationship_of(value)
            if found is None:
                return BadRow(line, f"unknown {column} {value!r}", code)
            relationship = found
            break
    status = row.get("status", "")
    if status and status not in STATUSES:
        return BadRow(line, f"unknown status {status!r}", code)
    reviewer = row.get("reviewer", "") or MAIN
    target_code = row.get("target_code", "")
    system = row.get("target_system", "") or None
    if project is not None and system == project.target_system:
        system = None
    key = (code, reviewer, system or "", target_code)
    if key in seen:
        return BadRow(line, f"duplicate of line {seen[key]}", code)
    draft = drafts.get((code, reviewer))
    if draft is not None and status and draft.status and status != draft.status:
        return BadRow(line, f"status {status!r} differs from {draft.status!r} on line "
                            f"{draft.line}", code)
    seen[key] = line
    if draft is None:
        draft = drafts[(code, reviewer)] = _Draft(code, reviewer, line)
    draft.status = draft.status or (status or None)
    draft.display = draft.display or row.get("source_display") or None
    draft.updated = draft.updated or row.get("updated", "")
    if target_code:
        if not draft.targets:
            draft.comments.clear()
        draft.targets.append(Target(target_code, row.get("target_display") or None,
                                    relationship, system))
        draft.comments.append(row.get("comment", ""))
    elif not draft.targets:
        draft.comments.append(row.get("comment", ""))
    return None
