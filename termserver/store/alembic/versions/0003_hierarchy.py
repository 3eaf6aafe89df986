"""Schema version 3: hierarchy closure, attribute relationships and refset members; the closure
of every stored code system is built at once.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import select

from termserver.store.schema import HIERARCHY_TABLES, code_system, metadata

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from termserver.store.write import Writer

    conn = op.get_bind()
    metadata.create_all(conn, tables=list(HIERARCHY_TABLES))
    writer = Writer(conn)
    for cs_pk in conn.execute(select(code_system.c.pk)).scalars().all():
        writer.build_closure(int(cs_pk))
