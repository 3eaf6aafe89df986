"""Schema version 9: `ix_property_status`, a partial index of the `status` properties by
concept, so a page of an expansion reads its entries' status without visiting every other
property of each concept (SNOMED CT concepts hold about ten).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import inspect

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NAME = "ix_property_status"


def upgrade() -> None:
    if any(ix["name"] == NAME for ix in inspect(op.get_bind()).get_indexes("concept_property")):
        return
    where = sa.text("property = 'status'")
    op.create_index(NAME, "concept_property", ["cs_pk", "code"], sqlite_where=where,
                    postgresql_where=where)


def downgrade() -> None:
    op.drop_index(NAME, table_name="concept_property")
