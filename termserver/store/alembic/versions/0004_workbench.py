"""Schema version 4: the curation workbench (map projects, decisions, audit trail, jobs).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from termserver.store.schema import WORKBENCH_TABLES, metadata

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=list(WORKBENCH_TABLES))
