"""THE storage layer: the only code that imports SQLAlchemy or writes SQL.

`Store` opens a database (SQLite file or PostgreSQL URL), migrates its schema, and answers the
named queries the service and the API need. All writes go through `Store.writer()`, one
transaction per call, so a failed load or request leaves the previous content untouched.
"""

from __future__ import annotations

from termserver.store.engine import open_engine
from termserver.store.read import Store, version_key
from termserver.store.write import Writer

__all__ = ["Store", "Writer", "open_engine", "version_key"]
