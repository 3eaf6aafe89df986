"""Alembic environment: runs the revisions on the connection termserver.store.migrations
hands over (`config.attributes["connection"]`), one transaction per revision. Without one (the
`alembic` command line with `sqlalchemy.url` in its ini file) it opens that URL itself."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from termserver.store.schema import metadata


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


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
