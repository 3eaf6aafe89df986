"""Timing one `termserver load` in a child process, for the load benchmarks."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fresh_sqlite(db: str) -> None:
    """Delete a SQLite database file (and its WAL files) so a load starts from nothing."""
    if not db.startswith("sqlite:///"):
        return
    db_file = Path(db[len("sqlite:///"):])
    db_file.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)


def reset_database(db: str) -> None:
    """An empty database: the SQLite files deleted, or PostgreSQL's public schema recreated."""
    if db.startswith("sqlite:///"):
        fresh_sqlite(db)
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def timed_load(db: str, *args: str) -> tuple[float, float, float]:
    """Run `termserver load --db DB ARGS`: (wall seconds, CPU seconds of the child, peak RSS
    MiB of any child so far)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "termserver", "load", "--db", db, *args],
                   check=True, cwd=ROOT)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024
