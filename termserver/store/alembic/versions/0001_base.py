"""Schema version 1: resources, code systems and their concepts, ConceptMap rows.

The baseline. A database the hand-rolled migrations left at version 1 is stamped with this
revision (termserver.store.migrations); from an empty database it creates the tables of
version 1 (later revisions add what came after, and skip what is already there).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from termserver.store.schema import BASE_TABLES, metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=list(BASE_TABLES))
