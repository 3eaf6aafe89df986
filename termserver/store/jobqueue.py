"""The workbench job queue in `map_job` (schema version 7): any server process may claim a job.

A worker claims the oldest claimable job: queued, or running with an expired lease (the process
running it died). PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers never
wait on each other; SQLite ignores the row lock and serialises writers, and the claiming
UPDATE repeats the claimable condition, so only one worker wins a row on either backend. A
claimed job's progress, lease renewals and final state are written only while the row is
still claimed by the same worker and running: a cancelled or reclaimed job stops its old
worker at its next write. Times are ISO-8601 UTC strings (`stamp()`), compared as text:
replicas need roughly synchronised clocks (NTP), well within the lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, or_, select, update

from termserver.store.schema import map_job, map_project


def stamp_in(seconds: float) -> str:
    """`stamp()` of now plus `seconds`."""
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Claimed:
    """A job a worker just claimed (done > 0 when it resumes a reclaimed job)."""

    id: str
    project_id: str
    kind: str
    done: int
    total: int
    author: str | None
    resumed: bool


def _claimable(now: str) -> ColumnElement[bool]:
    j = map_job.c
    return or_(j.state == "queued",
               and_(j.state == "running", j.lease_until.is_not(None), j.lease_until < now))


class JobQueue:
    """Claim, renew, progress and finish queued jobs (one per engine; stateless)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def any_claimable(self) -> bool:
        """A cheap read before the claiming write (idle replicas poll with this)."""
        with self.engine.connect() as conn:
            return conn.execute(select(map_job.c.pk).where(_claimable(stamp_in(0)))
                                .limit(1)).first() is not None

    def claim(self, worker: str, lease: float) -> Claimed | None:
        """Claim the oldest claimable job for `worker` for `lease` seconds, or None."""
        now = stamp_in(0)
        j = map_job.c
        with self.engine.begin() as conn:
            row = conn.execute(select(j.pk, j.state).where(_claimable(now)).order_by(j.pk).limit(1)
                               .with_for_update(skip_locked=True)).first()
            if row is None:
                return None
            got = conn.execute(update(map_job).where(j.pk == row.pk, _claimable(now)).values(
                state="running", claimed_by=worker, lease_until=stamp_in(lease),
                heartbeat=now)).rowcount
            if got != 1:
                return None
            r = conn.execute(select(map_job, map_project.c.id.label("project_id"))
                             .join(map_project, map_project.c.pk == j.project_pk)
                             .where(j.pk == row.pk)).one()
        return Claimed(r.id, r.project_id, r.kind, int(r.done), int(r.total), r.author,
                       resumed=row.state == "running")

    def write(self, id: str, worker: str, lease: float | None = None,
              **values: Any) -> bool:
        """Change a job this worker still holds (running, claimed by it): progress, a lease
        renewal (`lease` seconds from now), a final state. False when it no longer holds it
        (cancelled, or reclaimed by another worker after its lease expired)."""
        j = map_job.c
        if lease is not None:
            values["lease_until"] = stamp_in(lease)
        with self.engine.begin() as conn:
            return conn.execute(update(map_job).where(
                j.id == id, j.claimed_by == worker, j.state == "running").values(
                heartbeat=stamp_in(0), **values)).rowcount == 1

    def leased(self, id: str) -> bool:
        """Whether some worker holds the job under a lease not expired, or it is queued (so it
        is not an orphan of a stopped process)."""
        now = stamp_in(0)
        j = map_job.c
        with self.engine.connect() as conn:
            return conn.execute(select(j.pk).where(j.id == id, or_(
                j.state == "queued",
                and_(j.state == "running", j.lease_until.is_not(None), j.lease_until >= now)))
            ).first() is not None

    def holder(self, id: str) -> str | None:
        """The worker that claimed the job last (tests, diagnostics)."""
        with self.engine.connect() as conn:
            found = conn.execute(select(map_job.c.claimed_by).where(map_job.c.id == id)).first()
        return None if found is None else found.claimed_by
