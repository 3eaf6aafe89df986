"""The event-loop attempt's budget (termserver.budget): deadline checks raise once it is
spent, SQLite statements are interrupted by the progress handler, and outside an attempt
nothing changes."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from termserver import budget
from termserver.errors import TooCostly
from termserver.service import deadline
from termserver.store.engine import hot_pragmas

#: A statement that runs for many seconds unless interrupted.
SLOW = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000000) "
        "SELECT COUNT(*) FROM n")


def test_checks_raise_once_the_budget_is_spent() -> None:
    deadline.check()  # no budget, no deadline: nothing
    assert deadline.remaining() is None and not budget.spent()
    with budget.within(0.05) as attempt:
        deadline.check()
        left = deadline.remaining()
        assert left is not None and 0 < left <= 0.05
        time.sleep(0.06)
        with pytest.raises(TooCostly):
            deadline.check()
        assert attempt.spent and deadline.remaining() == 0.0
    assert not budget.spent() and deadline.remaining() is None


def test_the_request_deadline_still_counts_within_a_budget() -> None:
    with deadline.limit(0.01), budget.within(10.0) as attempt:
        left = deadline.remaining()
        assert left is not None and left <= 0.01
        time.sleep(0.02)
        with pytest.raises(TooCostly):
            deadline.check()
        assert not attempt.spent


def test_sqlite_statements_stop_when_the_budget_is_spent(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    hot_pragmas(conn)  # the pragmas (and progress handler) every SQLite connection gets
    assert conn.execute("SELECT COUNT(*) FROM (SELECT 1 UNION ALL SELECT 2)").fetchone() == (2,)
    began = time.monotonic()
    with budget.within(0.02) as attempt, pytest.raises(sqlite3.OperationalError,
                                                       match="interrupted"):
        conn.execute(SLOW).fetchone()
    assert attempt.spent and time.monotonic() - began < 2.0  # unbounded: tens of seconds
    # the connection stays usable, and outside an attempt nothing is interrupted
    assert conn.execute("SELECT 40 + 2").fetchone() == (42,)
    conn.close()


def test_an_attempt_never_takes_a_pooled_connection(tmp_path: Path) -> None:
    """A pooled connection may wait (for the pool, for a lock): within an attempt taking one
    gives the attempt up, and the connection goes back to the pool unused."""
    from sqlalchemy import text

    from termserver.store.engine import open_engine

    engine = open_engine(f"sqlite:///{tmp_path / 'y.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    with budget.within(10.0) as attempt, pytest.raises(budget.Abandoned):
        engine.connect()
    assert attempt.spent
    with engine.connect() as conn:  # outside an attempt, as before; nothing was kept out
        assert conn.execute(text("SELECT 2")).scalar() == 2
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    engine.dispose()
