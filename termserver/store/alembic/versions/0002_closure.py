"""Schema version 2: the $closure tables.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from termserver.store.schema import CLOSURE_TABLES, metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=list(CLOSURE_TABLES))
