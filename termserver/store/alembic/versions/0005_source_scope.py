"""Schema version 5: map projects whose source codes a ValueSet restricts.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from termserver.store.schema import SOURCE_SCOPE_TABLES, metadata

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=list(SOURCE_SCOPE_TABLES))
