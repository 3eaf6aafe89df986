"""`termserver db upgrade` and `termserver db current`: the schema's Alembic revision.

`upgrade` brings the database to the head revision under the same lock the server's automatic
upgrade takes (so it is safe next to starting servers); `current` only reads: the database's
revision, the head revision of this termserver, and whether an upgrade is needed.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any) -> None:
    """The `db` command group on the main parser's subparsers."""
    db = sub.add_parser("db", help="database schema: current revision, upgrade",
                        description="database schema migrations (Alembic)")
    db.add_argument("--debug", action="store_true", help="show tracebacks")
    inner = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)
    for name, help, func in (
            ("upgrade", "upgrade the schema to the head revision", cmd_upgrade),
            ("current", "print the current and the head revision and whether an upgrade is "
             "needed", cmd_current)):
        p = inner.add_parser(name, help=help, description=help)
        p.add_argument("--db", help="database URL or SQLite path (default: $TERMSERVER_DB)")
        p.add_argument("--debug", action="store_true", help="show tracebacks")
        p.set_defaults(func=func)


def _open(args: argparse.Namespace) -> Any:
    from termserver.cli import _settings
    from termserver.store import Store

    return Store(_settings(args).db, migrate=False)


def cmd_current(args: argparse.Namespace) -> int:
    from termserver.cli import _settings
    from termserver.store import migrations
    from termserver.store.engine import sqlite_file

    path = sqlite_file(_settings(args).db)
    if path is not None and not path.exists():  # only reads: never creates a database
        print(f"database: {path}: no such file (nothing to report; `termserver db upgrade` "
              "creates it)")
        return 1
    store = _open(args)
    try:
        found = migrations.revision_of(store.engine)
    finally:
        store.close()
    needed = migrations.needs_upgrade(found)
    print(f"database: {store.display_url}")
    print(f"current: {_describe(found)}")
    print(f"head: {migrations.head()}")
    if not found.known:
        print("upgrade needed: no; the database is newer than this termserver")
    else:
        print("upgrade needed: " + ("yes (run `termserver db upgrade`)" if needed else "no"))
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from termserver.store import migrations

    store = _open(args)
    try:
        before = migrations.migrate(store.engine)
        after = migrations.revision_of(store.engine)
    finally:
        store.close()
    if before.empty:
        print(f"{store.display_url}: created the schema at revision {after.revision}")
    elif not migrations.needs_upgrade(before) and before.revision is not None:
        print(f"{store.display_url}: already at the head revision {after.revision}")
    else:
        print(f"{store.display_url}: upgraded from {_describe(before)} to revision "
              f"{after.revision}")
    return 0


def _describe(found: Any) -> str:
    if found.revision is None and found.legacy is not None and found.effective is not None:
        return f"{found.describe()} = revision {found.effective}"
    return str(found.describe())
