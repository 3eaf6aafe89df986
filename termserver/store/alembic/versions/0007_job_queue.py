"""Schema version 7: `map_job.claimed_by` and `lease_until`, so any replica can claim a queued
job (mappings.jobs). Jobs left running by a version-6 process have no lease and are reported
failed after their heartbeat went stale, as before.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import inspect

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: The columns added, with their types (frozen: schema.map_job may change later).
COLUMNS = (("claimed_by", 80), ("lease_until", 40))


def upgrade() -> None:
    have = {c["name"] for c in inspect(op.get_bind()).get_columns("map_job")}
    for name, length in COLUMNS:
        if name not in have:
            op.add_column("map_job", sa.Column(name, sa.String(length)))
