"""The hot reads' raw SQL (pre-compiled per dialect by Store) and how their rows are read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from termserver.model import Concept, ConceptDetail, ConceptProperty, Designation

#: Row kinds of DETAIL_SQL; columns (kind, a, b, c, d, e, inactive, abstract), all text but
#: the last two. Parameters: (cs_pk, code) five times.
CONCEPT, DESIGNATION, PROPERTY, PARENT, CHILD = range(5)
DETAIL_SQL = " UNION ALL ".join((
    "SELECT 0, code, display, definition, CAST(NULL AS TEXT), CAST(NULL AS TEXT), "
    "CASE WHEN inactive THEN 1 ELSE 0 END, CASE WHEN abstract THEN 1 ELSE 0 END "
    "FROM concept WHERE cs_pk = ? AND code = ?",
    "SELECT 1, language, use_system, use_code, use_display, value, NULL, NULL "
    "FROM designation WHERE cs_pk = ? AND code = ?",
    "SELECT 2, property, type, value, value_system, value_display, NULL, NULL "
    "FROM concept_property WHERE cs_pk = ? AND code = ?",
    "SELECT 3, parent, NULL, NULL, NULL, NULL, NULL, NULL "
    "FROM concept_parent WHERE cs_pk = ? AND child = ?",
    "SELECT 4, child, NULL, NULL, NULL, NULL, NULL, NULL "
    "FROM concept_parent WHERE cs_pk = ? AND parent = ?",
))


#: Closure reads: descendants, ancestors, one pair.
CLOSURE_SQL = (
    "SELECT descendant FROM concept_closure WHERE cs_pk = ? AND ancestor = ?",
    "SELECT ancestor FROM concept_ancestor WHERE cs_pk = ? AND descendant = ?",
    "SELECT 1 FROM concept_closure WHERE cs_pk = ? AND ancestor = ? AND descendant = ?",
    "SELECT code FROM concept WHERE cs_pk = ? AND code = ?",
)

#: Every version of one code system url, with its resource's id, name, title and status
#: (columns in StoredCodeSystem's order). Parameter: url.
CODE_SYSTEMS_SQL = (
    "SELECT c.pk, r.id, c.url, c.version, r.name, r.title, r.status, c.content, "
    "c.case_sensitive, c.hierarchy_meaning, c.language, c.supplements, c.concept_count "
    "FROM code_system c JOIN resource r ON r.pk = c.resource_pk WHERE c.url = ?")

#: (id, version, versionId, lastUpdated) of every stored resource of one type and url.
#: Parameters: resource type, url.
STAMPS_SQL = ("SELECT id, version, version_id, last_updated FROM resource "
              "WHERE resource_type = ? AND url = ?")


def detail(code: str, rows: Sequence[Any]) -> ConceptDetail | None:
    found: Concept | None = None
    desigs: list[Designation] = []
    props: list[ConceptProperty] = []
    parents: list[str] = []
    children: list[str] = []
    for kind, a, b, c, d, e, inactive, abstract in rows:
        if kind == DESIGNATION:
            desigs.append(Designation(code, e, a, b, c, d))
        elif kind == PROPERTY:
            props.append(ConceptProperty(code, a, c, b, d, e))
        elif kind == PARENT:
            parents.append(a)
        elif kind == CHILD:
            children.append(a)
        else:
            found = Concept(a, b, c, bool(inactive), bool(abstract))
    if found is None:
        return None
    return ConceptDetail(found, tuple(desigs), tuple(props), tuple(parents), tuple(children))
