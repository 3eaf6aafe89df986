"""Schema version 6: `resource.owner` (who wrote it), inferred from `origin` for existing rows:
the workbench's own origins, none (the REST API), else a loader. Rows that have one keep it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import inspect, or_, update

from termserver.store.schema import resource

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if "owner" not in {c["name"] for c in inspect(conn).get_columns("resource")}:
        op.add_column("resource", sa.Column("owner", sa.String(16)))
    origin = resource.c.origin
    workbench = or_(origin == "workbench", origin.like("workbench:%"))
    unset = resource.c.owner.is_(None)
    conn.execute(update(resource).where(unset, workbench).values(owner="workbench"))
    conn.execute(update(resource).where(unset, origin.is_(None)).values(owner="api"))
    conn.execute(update(resource).where(unset).values(owner="loader"))
