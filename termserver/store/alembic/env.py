"""Alembic environment: runs the revisions on the connection termserver.store.migrations
hands over (`config.attributes["connection"]`), one transaction per revision. Without one (the
`alembic` command line with `sqlalchemy.url` in its ini file) it opens that URL itself."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from termserver.store.schema import metadata


def run(connection: Connection) -> None:
    """SQLite: foreign keys off while the revisions run (a table rebuild drops the old table,
    which would cascade to its children), then checked and back on. The pragma only acts
    outside a transaction, so it is set before Alembic opens one."""
    sqlite = connection.dialect.name == "sqlite"
    before = 0
    if sqlite:
        before = int(connection.exec_driver_sql("PRAGMA foreign_keys").scalar() or 0)
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        context.configure(connection=connection, target_metadata=metadata,
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            connection.commit()
            if broken:
                raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    finally:
        if sqlite:
            connection.rollback()
            connection.exec_driver_sql(f"PRAGMA foreign_keys={before}")
            connection.commit()


def main() -> None:
    given: Connection | None = context.config.attributes.get("connection")
    if given is not None:
        run(given)
        return
    from termserver.store.engine import open_engine

    engine = open_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            run(connection)
    finally:
        engine.dispose()


main()
