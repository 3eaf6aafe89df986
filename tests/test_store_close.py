"""Closing a Store while other threads read through their SQLite hot connections (a warm-up
thread, a job's lease renewer) never crashes the process: a hot connection is closed only
between reads; the reading thread then gets an error it can handle."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

RACE = textwrap.dedent("""
    import sqlite3, sys, threading, time
    from termserver.store import Store

    url = sys.argv[1]
    Store(url).close()
    for _ in range(20):
        store = Store(url)
        stop = threading.Event()

        def reader() -> None:
            while not stop.is_set():
                try:
                    store._hot_query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                                     "FROM n WHERE i < 20000) SELECT count(*) FROM n", ())
                except sqlite3.ProgrammingError:  # closed: the thread's read ends there
                    return

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.02)
        store.close()
        stop.set()
        for t in threads:
            t.join()
    print("ok")
""")


def test_closing_a_store_under_running_reads_does_not_crash(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", RACE, f"sqlite:///{tmp_path / 't.db'}"],
                          capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]  # before the fix: -11, a segfault
    assert done.stdout.strip() == "ok"
