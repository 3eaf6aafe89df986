"""THE storage layer: the only code that imports SQLAlchemy or writes SQL.

`Store` opens a database (SQLite file or PostgreSQL URL), migrates its schema, and answers the
named queries the service and the API need. All writes go through `Store.writer()`, one
transaction per call, so a failed load or request leaves the previous content untouched.
"""

from __future__ import annotations

from termserver.errors import SchemaError
from termserver.store.engine import open_engine
from termserver.store.read import Store, version_key
from termserver.store.write import Writer

__all__ = ["Store", "Writer", "open_engine", "open_store", "version_key"]


def open_store(url: str, *, upgrade: bool = True) -> Store:
    """A Store on `url` with its schema upgraded to the head revision; with `upgrade` False
    (TERMSERVER_DB_UPGRADE=off) the schema is left alone and must already be current."""
    store = Store(url, migrate=upgrade)
    if not upgrade:
        from termserver.store.migrations import schema_state

        reason = schema_state(store.engine)
        if reason is not None:
            store.close()
            raise SchemaError(f"{reason}: run `termserver db upgrade` (the automatic upgrade "
                              "is off: TERMSERVER_DB_UPGRADE=off)")
    return store
