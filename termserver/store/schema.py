"""The database schema (SQLAlchemy Core), identical on SQLite and PostgreSQL.

A change here needs an Alembic revision in store/alembic/versions/ (a new database is created
from these tables and stamped with the newest revision; older ones run the revisions).

Concept-level tables are keyed by (code_system, code) rather than a concept id, so streaming
loaders can write designations, properties and parent links before or after their concept
without an id map in memory.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: Who wrote a stored resource (`resource.owner`): a release loader or package load (CLI,
#: `$load`), the FHIR REST API, or the curation workbench (an imported code list, a published
#: map). The workbench never replaces or shadows a url it did not write (mappings.workbench).
OWNERS = ("loader", "api", "workbench")


def owner_of(origin: str | None) -> str:
    """The owner a write's `origin` implies: the REST API stores no origin, the workbench
    writes "workbench" (code lists) or "workbench:<project>" (published maps), loaders the
    file or package they read."""
    if origin is None:
        return "api"
    return "workbench" if origin.split(":", 1)[0] == "workbench" else "loader"


def _owner_default(context: Any) -> str:
    """Column default of `resource.owner`: derived from the row's `origin` at insert."""
    return owner_of(context.get_current_parameters().get("origin"))


metadata = MetaData()

PK = BigInteger().with_variant(Integer(), "sqlite")  # SQLite rowid alias needs INTEGER

resource = Table(
    "resource",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("resource_type", String(32), nullable=False),
    Column("id", String(64), nullable=False),
    Column("url", Text),
    Column("version", Text),  # "" never stored: NULL means no version
    Column("name", Text),
    Column("title", Text),
    Column("status", String(16)),
    Column("version_id", Integer, nullable=False, default=1),
    Column("last_updated", String(40), nullable=False),
    Column("origin", Text),  # e.g. "de.basisprofil.r4#1.5.4:package/CodeSystem-ops.json"
    Column("json", Text, nullable=False),
    # one of OWNERS, set when the row is created (schema 6; older rows: inferred from origin)
    Column("owner", String(16), default=_owner_default),
    UniqueConstraint("resource_type", "id", name="uq_resource_type_id"),
)
Index("ix_resource_canonical", resource.c.resource_type, resource.c.url, resource.c.version)

code_system = Table(
    "code_system",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("resource_pk", PK, ForeignKey("resource.pk", ondelete="CASCADE"), nullable=False,
           unique=True),
    Column("url", Text, nullable=False),
    Column("version", Text),
    Column("content", String(16), nullable=False),
    Column("hierarchy_meaning", String(32)),
    Column("case_sensitive", Boolean),
    Column("language", String(16)),
    Column("supplements", Text),
    Column("concept_count", Integer, nullable=False, default=0),
    sqlite_autoincrement=True,  # a dropped key is never handed out again (cross-process caches)
)
Index("ix_code_system_url", code_system.c.url, code_system.c.version)

concept = Table(
    "concept",
    metadata,
    Column("cs_pk", PK, ForeignKey("code_system.pk", ondelete="CASCADE"), nullable=False),
    Column("code", Text, nullable=False),
    Column("display", Text),
    Column("definition", Text),
    Column("inactive", Boolean, nullable=False, default=False),
    Column("abstract", Boolean, nullable=False, default=False),
    Column("seq", Integer, nullable=False),  # order as loaded, for stable expansions
    UniqueConstraint("cs_pk", "code", name="uq_concept_code"),
)

designation = Table(
    "designation",
    metadata,
    Column("cs_pk", PK, ForeignKey("code_system.pk", ondelete="CASCADE"), nullable=False),
    Column("code", Text, nullable=False),
    Column("language", String(35)),
    Column("use_system", Text),
    Column("use_code", Text),
    Column("use_display", Text),
    Column("value", Text, nullable=False),
)
Index("ix_designation_code", designation.c.cs_pk, designation.c.code)

concept_property = Table(
    "concept_property",
    metadata,
    Column("cs_pk", PK, ForeignKey("code_system.pk", ondelete="CASCADE"), nullable=False),
    Column("code", Text, nullable=False),
    Column("property", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("value_system", Text),
    Column("value_display", Text),
)
Index("ix_property_code", concept_property.c.cs_pk, concept_property.c.code)
#: The `status` rows alone (a page's details read them for every entry, and a concept has few
#: of them among many properties): revision 0009.
Index("ix_property_status", concept_property.c.cs_pk, concept_property.c.code,
      sqlite_where=concept_property.c.property == "status",
      postgresql_where=concept_property.c.property == "status")
Index("ix_property_value", concept_property.c.cs_pk, concept_property.c.property,
      concept_property.c.value)

concept_parent = Table(
    "concept_parent",
    metadata,
    Column("cs_pk", PK, ForeignKey("code_system.pk", ondelete="CASCADE"), nullable=False),
    Column("child", Text, nullable=False),
    Column("parent", Text, nullable=False),
)
Index("ix_parent_child", concept_parent.c.cs_pk, concept_parent.c.child)
Index("ix_parent_parent", concept_parent.c.cs_pk, concept_parent.c.parent)

concept_map_element = Table(
    "concept_map_element",
    metadata,
    Column("resource_pk", PK, ForeignKey("resource.pk", ondelete="CASCADE"), nullable=False),
    Column("grp", Integer, nullable=False),
    Column("source_system", Text),
    Column("source_version", Text),
    Column("source_code", Text, nullable=False),
    Column("source_display", Text),
    Column("target_system", Text),
    Column("target_version", Text),
    Column("target_code", Text),
    Column("target_display", Text),
    Column("relationship", String(32), nullable=False),
    Column("equivalence", String(32), nullable=False),
    Column("comment", Text),
    Column("depends_on", Text),  # JSON array or NULL
    Column("product", Text),  # JSON array or NULL
)
Index("ix_cme_source", concept_map_element.c.source_code, concept_map_element.c.source_system)
Index("ix_cme_target", concept_map_element.c.target_code, concept_map_element.c.target_system)
Index("ix_cme_resource", concept_map_element.c.resource_pk)

#: The tables of schema version 1 (revision 0001).
BASE_TABLES = (resource, code_system, concept, designation, concept_property, concept_parent,
               concept_map_element)

# -- $closure tables (schema version 2) ------------------------------------------------------

closure_table = Table(
    "closure_table",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("version", Integer, nullable=False, default=0),
)

closure_concept = Table(
    "closure_concept",
    metadata,
    Column("closure_pk", PK, ForeignKey("closure_table.pk", ondelete="CASCADE"),
           nullable=False),
    Column("system", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("version", Integer, nullable=False),  # the table version that added it
    UniqueConstraint("closure_pk", "system", "code", name="uq_closure_concept"),
)

closure_relation = Table(
    "closure_relation",
    metadata,
    Column("closure_pk", PK, ForeignKey("closure_table.pk", ondelete="CASCADE"),
           nullable=False),
    Column("system", Text, nullable=False),
    Column("specific", Text, nullable=False),  # subsumed by `general`
    Column("general", Text, nullable=False),
    Column("version", Integer, nullable=False),
)
Index("ix_closure_relation_version", closure_relation.c.closure_pk, closure_relation.c.version)

#: Tables added by schema version 2 (revision 0002).
CLOSURE_TABLES = (closure_table, closure_concept, closure_relation)

# -- hierarchy closure, attribute relationships, reference sets (schema version 3) -------------

#: Every (ancestor, descendant) pair of a code system's hierarchy, strict (never a code with
#: itself), filled when the code system is written: subsumption and is-a are index lookups.
#: Stored twice, keyed each way (`concept_ancestor` is the same pairs by descendant), so both
#: B-trees are written in key order: a release's millions of pairs load as appends.
concept_closure = Table(
    "concept_closure",
    metadata,
    Column("cs_pk", PK, primary_key=True),  # no foreign key check per pair; rows go with
    # their code system in Writer._drop_concepts
    Column("ancestor", Text, primary_key=True),
    Column("descendant", Text, primary_key=True),
    sqlite_with_rowid=False,
)

concept_ancestor = Table(
    "concept_ancestor",
    metadata,
    Column("cs_pk", PK, primary_key=True),
    Column("descendant", Text, primary_key=True),
    Column("ancestor", Text, primary_key=True),
    sqlite_with_rowid=False,
)

#: Defining attributes with their role group (SNOMED CT relationships and concrete values).
concept_relationship = Table(
    "concept_relationship",
    metadata,
    Column("cs_pk", PK, ForeignKey("code_system.pk", ondelete="CASCADE"), nullable=False),
    Column("source", Text, nullable=False),
    Column("type_id", Text, nullable=False),
    Column("destination", Text),  # NULL for a concrete value
    Column("grp", Integer, nullable=False, default=0),
    Column("value", Text),  # concrete value as RF2 writes it (#5, #1.5, "text")
)
Index("ix_relationship_source", concept_relationship.c.cs_pk, concept_relationship.c.source)
Index("ix_relationship_type", concept_relationship.c.cs_pk, concept_relationship.c.type_id,
      concept_relationship.c.destination)

#: Active reference set members (simple, map, association, attribute value refsets).
refset_member = Table(
    "refset_member",
    metadata,
    Column("cs_pk", PK, ForeignKey("code_system.pk", ondelete="CASCADE"), nullable=False),
    Column("refset_id", Text, nullable=False),
    Column("referenced_component_id", Text, nullable=False),
    Column("target", Text),  # mapTarget, targetComponentId or valueId
    Column("attributes", Text),  # the other additional fields as a JSON object, or NULL
)
Index("ix_refset_member_refset", refset_member.c.cs_pk, refset_member.c.refset_id,
      refset_member.c.referenced_component_id)
Index("ix_refset_member_component", refset_member.c.cs_pk,
      refset_member.c.referenced_component_id)

#: Tables added by schema version 3 (revision 0003).
HIERARCHY_TABLES = (concept_closure, concept_ancestor, concept_relationship, refset_member)

# -- curation workbench (schema version 4): map projects, decisions, audit, jobs --------------

#: A map project: one local source code system to one target scope (mappings.model.Project).
map_project = Table(
    "map_project",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("source_system", Text, nullable=False),
    Column("source_version", Text),
    Column("target_system", Text, nullable=False),
    Column("target_version", Text),
    Column("source_valueset", Text),
    Column("target_valueset", Text),
    Column("language", String(35), nullable=False),
    Column("map_url", Text),
    Column("dual", Boolean, nullable=False, default=False),
    Column("description", Text),
    Column("created", String(40), nullable=False),
)

#: The current decision per (project, source code, reviewer); MAIN reviewer is "".
map_decision = Table(
    "map_decision",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("project_pk", PK, ForeignKey("map_project.pk", ondelete="CASCADE"), nullable=False),
    Column("source_code", Text, nullable=False),
    Column("reviewer", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("comment", Text),
    Column("author", Text),
    Column("updated", String(40), nullable=False),
    Column("source_display", Text),
    Column("source_key", Text),  # normalised source display: learning across projects
    UniqueConstraint("project_pk", "reviewer", "source_code", name="uq_map_decision"),
)
Index("ix_map_decision_key", map_decision.c.source_key)
Index("ix_map_decision_status", map_decision.c.project_pk, map_decision.c.reviewer,
      map_decision.c.status)

#: The targets of a decision, in the curator's order.
map_decision_target = Table(
    "map_decision_target",
    metadata,
    Column("decision_pk", PK, ForeignKey("map_decision.pk", ondelete="CASCADE"),
           nullable=False),
    Column("seq", Integer, nullable=False),
    Column("code", Text, nullable=False),
    Column("display", Text),
    Column("relationship", String(40), nullable=False),
    Column("system", Text),
    Column("version", Text),
    Column("comment", Text),
)
Index("ix_map_decision_target", map_decision_target.c.decision_pk)

#: The audit trail, append-only: before/after are JSON objects (or NULL).
map_event = Table(
    "map_event",
    metadata,
    Column("seq", PK, primary_key=True, autoincrement=True),
    Column("project_pk", PK, ForeignKey("map_project.pk", ondelete="CASCADE"), nullable=False),
    Column("source_code", Text),
    Column("reviewer", Text, nullable=False, default=""),
    Column("action", String(32), nullable=False),
    Column("author", Text),
    Column("at", String(40), nullable=False),
    Column("before", Text),
    Column("after", Text),
)
Index("ix_map_event_code", map_event.c.project_pk, map_event.c.source_code)

#: Suggestions a batch run kept per source code, best first by rank.
map_suggestion = Table(
    "map_suggestion",
    metadata,
    Column("project_pk", PK, ForeignKey("map_project.pk", ondelete="CASCADE"), nullable=False),
    Column("source_code", Text, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("code", Text, nullable=False),
    Column("display", Text),
    Column("score", Float, nullable=False),
    Column("why", Text, nullable=False),
    Column("system", Text),
    UniqueConstraint("project_pk", "source_code", "rank", name="uq_map_suggestion"),
)

#: Background jobs (batch suggestion runs) with their progress.
map_job = Table(
    "map_job",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("project_pk", PK, ForeignKey("map_project.pk", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("author", Text),
    Column("started", String(40), nullable=False),
    Column("finished", String(40)),
    Column("error", Text),
    Column("heartbeat", String(40)),  # the last progress write of the running job
    # schema version 7: the job queue (mappings.jobs); the replica running a job holds a lease
    Column("claimed_by", String(80)),  # worker id (host:pid:random) of the running replica
    Column("lease_until", String(40)),  # ISO UTC; past it, another replica may reclaim the job
)

#: Tables added by schema version 4 (revision 0004).
WORKBENCH_TABLES = (map_project, map_decision, map_decision_target, map_event, map_suggestion,
                    map_job)

# -- schema version 5: a project's source codes restricted by a ValueSet ----------------------

#: The source codes of a project whose source is restricted by a ValueSet: the members of the
#: ValueSet's expansion in the source code system, materialised so the worklist pages in SQL.
map_source_member = Table(
    "map_source_member",
    metadata,
    Column("project_pk", PK, ForeignKey("map_project.pk", ondelete="CASCADE"), nullable=False),
    Column("code", Text, nullable=False),
    UniqueConstraint("project_pk", "code", name="uq_map_source_member"),
)

#: What the members were expanded from (source code system pk, ValueSet id/versionId): when it
#: changes, the members are expanded again.
map_source_scope = Table(
    "map_source_scope",
    metadata,
    Column("project_pk", PK, ForeignKey("map_project.pk", ondelete="CASCADE"),
           primary_key=True),
    Column("stamp", Text, nullable=False),
    Column("members", Integer, nullable=False),
)

#: Tables added by schema version 5 (revision 0005).
SOURCE_SCOPE_TABLES = (map_source_member, map_source_scope)
