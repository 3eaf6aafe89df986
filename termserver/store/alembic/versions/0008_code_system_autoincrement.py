"""SQLite only: `code_system.pk` AUTOINCREMENT, so a key dropped by one process is never handed
out again to a CodeSystem another process still has cached (schema.py has had it since schema
version 6, but databases created before that kept the plain rowid key). The table is rebuilt
as SQLite's documented procedure does it (new table, copy, drop, rename) with foreign keys off
(env.py turns them off for the migration), so no child row is touched. PostgreSQL sequences
never reuse a value: nothing to do there.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Connection, text
from sqlalchemy.schema import CreateIndex, CreateTable

from termserver.store.schema import code_system

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NEW = "code_system_rebuilt"


def _table_sql(conn: Connection) -> str | None:
    found = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' "
                              "AND name = 'code_system'")).scalar()
    return None if found is None else str(found)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    sql = _table_sql(conn)
    if sql is None or "AUTOINCREMENT" in sql.upper():
        return
    if conn.execute(text("PRAGMA foreign_keys")).scalar():
        # dropping the old table would cascade to every concept
        raise RuntimeError("revision 0008 needs SQLite foreign keys off (see env.py)")
    create = str(CreateTable(code_system).compile(dialect=conn.dialect)).strip()
    head = "CREATE TABLE code_system ("
    assert create.startswith(head), create[:60]
    conn.execute(text(f"CREATE TABLE {NEW} (" + create[len(head):]))
    columns = ", ".join(c.name for c in code_system.columns)
    conn.execute(text(f"INSERT INTO {NEW} ({columns}) SELECT {columns} FROM code_system"))
    conn.execute(text("DROP TABLE code_system"))
    conn.execute(text(f"ALTER TABLE {NEW} RENAME TO code_system"))
    for index in code_system.indexes:
        conn.execute(CreateIndex(index))
