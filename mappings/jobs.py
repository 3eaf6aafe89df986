"""Background batch suggestion runs, as a queue in the database that any server process works.

`start` writes a queued job row (map_job); a worker thread of some server process claims it
(termserver.store.jobqueue: `FOR UPDATE SKIP LOCKED` on PostgreSQL), holds it under a lease it
renews, and suggests the source codes in code order, writing each batch of `BATCH` codes in
one short transaction (the kept top suggestions, the "suggested" status for codes nobody
decided yet, audited) followed by the job's progress. Every replica reads progress from the
row. A job whose process died (its lease expired) is reclaimed by another replica's worker and
resumed after the codes already done (the batch in flight may be suggested again: it only
replaces the same suggestions). A cancel is honoured between batches; a failure is recorded
with its message; a clean shutdown puts a running job back in the queue.

Each server process runs a resident worker (`start_worker`, from the app's lifespan) polling
every TERMSERVER_JOB_POLL seconds (default 1, with jitter); a process without one (tests, the
CLI) starts an on-demand worker with `start` that ends once the queue is empty.
Environment: TERMSERVER_JOB_WORKER=0 (no resident worker), TERMSERVER_JOB_POLL,
TERMSERVER_JOB_LEASE (seconds, default 30), TERMSERVER_JOB_BATCH (codes per batch, default
200), TERMSERVER_JOB_PAUSE (seconds between batches, default 0: yield to interactive load).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from mappings.model import Job, Project, SourceCode, StoredSuggestion
from mappings.suggest import Suggestion
from mappings.targets import TargetScopes, learned_first, source_key, source_text, suggest_for
from mappings.textsearch import IndexNotReady
from termserver.store import Store
from termserver.store.jobqueue import Claimed, JobQueue
from termserver.store.workbench import stamp

BATCH = 200
KEEP = 5

log = logging.getLogger(__name__)

Sources = Callable[[Project], dict[str, SourceCode]]

#: Poll jitter from a private generator: the global `random` state is left alone (property-based
#: tests seed and watch it).
_JITTER = random.Random()


def _env_float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, raw, default)
        value = default
    return min(max(value, low), high)


@dataclass(frozen=True)
class QueueSettings:
    """The worker's knobs (environment, read once per runner)."""

    resident: bool = True
    poll: float = 1.0
    lease: float = 30.0
    batch: int | None = None  # None: the module's BATCH
    pause: float = 0.0

    @classmethod
    def from_env(cls) -> QueueSettings:
        batch = os.environ.get("TERMSERVER_JOB_BATCH", "").strip()
        return cls(
            resident=os.environ.get("TERMSERVER_JOB_WORKER", "1").strip().lower()
            not in ("0", "false", "no", "off"),
            poll=_env_float("TERMSERVER_JOB_POLL", 1.0, 0.05, 60.0),
            lease=_env_float("TERMSERVER_JOB_LEASE", 30.0, 1.0, 3600.0),
            batch=max(1, min(int(batch), 10_000)) if batch.isdigit() else None,
            pause=_env_float("TERMSERVER_JOB_PAUSE", 0.0, 0.0, 60.0))


class JobRunner:
    """Queues suggestion jobs and runs one worker thread per process that claims them."""

    def __init__(self, store: Store, scopes: TargetScopes, sources: Sources | None = None,
                 settings: QueueSettings | None = None) -> None:
        self.store = store
        self.scopes = scopes
        self.sources = sources
        self.settings = settings or QueueSettings.from_env()
        self.queue = JobQueue(store.workbench.engine)
        self.worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._resident = False

    # -- the API the workbench uses --------------------------------------------------------

    def start(self, project: Project, sources: Callable[[], dict[str, SourceCode]] | None,
              author: str | None) -> Job:
        """Queue a suggest-all job of `project` (`sources` is accepted for compatibility; a
        worker reads the project's source codes when it claims the job)."""
        job = Job(uuid.uuid4().hex[:16], project.id, "suggest", "queued", started=stamp())
        self.store.workbench.create_job(project.pk, job, author)
        self._ensure_worker()
        return job

    def cancel(self, job_id: str) -> bool:
        """Ask a job this process runs to stop; False when it does not run it (the caller
        then marks the row cancelled, which stops the replica running it at its next write)."""
        with self._lock:
            flag = self._cancel.get(job_id)
        if flag is None:
            return False
        flag.set()
        return True

    def running(self, job_id: str) -> bool:
        """Whether the job is queued, or some worker (of any process) holds a live lease."""
        with self._lock:
            if job_id in self._cancel:
                return True
        return self.queue.leased(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until the job ends (any process may run it) or `timeout` passes."""
        deadline = time.monotonic() + (timeout if timeout is not None else 3600.0)
        while time.monotonic() < deadline:
            found = self.store.workbench.job(job_id)
            if found is None or found.state not in ("queued", "running"):
                return
            time.sleep(0.05)

    # -- the worker ------------------------------------------------------------------------

    def start_worker(self) -> None:
        """Start this process's resident worker (the app's lifespan), unless disabled."""
        if not self.settings.resident:
            return
        with self._lock:
            self._resident = True
            self._stop.clear()
            self._spawn()

    def stop_worker(self, timeout: float = 30.0) -> None:
        """Stop the worker: a running job goes back to the queue after its current batch."""
        with self._lock:
            self._stop.set()
            self._wake.set()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _ensure_worker(self) -> None:
        with self._lock:
            self._wake.set()
            self._stop.clear()
            self._spawn()

    def _spawn(self) -> None:  # under self._lock
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="job-worker", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = (self.queue.claim(self.worker_id, self.settings.lease)
                           if self.queue.any_claimable() else None)
            except Exception:  # the database is away for a moment: poll again later
                log.warning("job queue: claiming failed", exc_info=True)
                claimed = None
            if claimed is not None:
                self._run(claimed)
                continue
            with self._lock:
                if not self._resident and not self._wake.is_set():
                    self._thread = None  # on demand: the queue is empty, end
                    return
                self._wake.clear()
            self._wake.wait(self.settings.poll * _JITTER.uniform(0.5, 1.5))
        with self._lock:
            if self._thread is threading.current_thread():
                self._thread = None

    def _renew(self, job_id: str, done: threading.Event, lost: threading.Event) -> None:
        every = self.settings.lease / 3
        while not done.wait(every):
            try:
                if not self.queue.write(job_id, self.worker_id, lease=self.settings.lease):
                    lost.set()
                    return
            except Exception:
                log.warning("job %s: renewing the lease failed", job_id, exc_info=True)

    def _sources_of(self, project: Project) -> dict[str, SourceCode]:
        if self.sources is not None:
            return self.sources(project)
        from mappings.workbench import Workbench  # owns a project's source scope

        helper = Workbench(self.store)
        helper.scopes = self.scopes
        return helper._sources(project)

    def _run(self, claimed: Claimed) -> None:
        job_id, me, lease = claimed.id, self.worker_id, self.settings.lease
        cancel, lost, finished = threading.Event(), threading.Event(), threading.Event()
        with self._lock:
            self._cancel[job_id] = cancel
        renewer = threading.Thread(target=self._renew, args=(job_id, finished, lost),
                                   name=f"lease-{job_id}", daemon=True)
        renewer.start()
        wb = self.store.workbench
        if claimed.resumed:
            log.info("job %s: resumed by %s after %d codes", job_id, me, claimed.done)
        try:
            project = wb.project(claimed.project_id)
            if project is None:
                self.queue.write(job_id, me, state="failed", finished=stamp(),
                                 error=f"map project {claimed.project_id!r} is gone")
                return
            codes = self._sources_of(project)
            items = [codes[c] for c in sorted(codes)]  # code order: a resume skips a prefix
            if not self.queue.write(job_id, me, lease=lease, total=len(items)):
                return
            searcher = self.scopes.searcher(project)
            done = min(claimed.done, len(items))
            if not self.queue.write(job_id, me, lease=lease, done=done):  # the index is ready
                return
            keys = {s.code: source_key(source_text(s)) for s in items[done:]}
            learned = wb.accepted_by_key(project.target_system,
                                         sorted({k for k in keys.values() if k}))
            size = self.settings.batch or BATCH
            for start in range(done, len(items), size):
                if cancel.is_set():
                    self.queue.write(job_id, me, state="cancelled", done=done,
                                     finished=stamp())
                    return
                if self._stop.is_set():  # shutdown: another replica (or the next run) resumes
                    self.queue.write(job_id, me, state="queued", claimed_by=None,
                                     lease_until=None, done=done)
                    return
                if lost.is_set():
                    return
                batch = items[start:start + size]
                found: dict[str, list[StoredSuggestion]] = {}
                for s in batch:
                    text = source_text(s)
                    live = suggest_for(searcher, s, text, unit=s.unit, specimen=s.specimen,
                                       limit=KEEP)
                    key = keys[s.code]
                    best = learned_first(live, learned.get(key, []) if key else [], text, KEEP)
                    found[s.code] = _kept(s.code, best, project.target_system)
                wb.keep_suggestions(project.pk, found, author=claimed.author,
                                    source_keys={c: keys[c] for c in found})
                done += len(batch)
                if not self.queue.write(job_id, me, lease=lease, done=done):
                    return  # cancelled through another replica, or reclaimed
                if self.settings.pause and done < len(items):
                    self._stop.wait(self.settings.pause)
            self.queue.write(job_id, me, state="done", done=done, finished=stamp())
        except IndexNotReady as exc:  # a clear state, not a crash: start it again later
            self.queue.write(job_id, me, state="failed", error=exc.message, finished=stamp())
        except Exception as exc:  # recorded on the job: the thread has no caller to raise to
            log.exception("suggestion job %s failed", job_id)
            try:
                self.queue.write(job_id, me, state="failed", finished=stamp(),
                                 error=f"{type(exc).__name__}: {exc}")
            except Exception:
                log.warning("job %s: recording the failure failed", job_id, exc_info=True)
        finally:
            finished.set()
            with self._lock:
                self._cancel.pop(job_id, None)


def _kept(code: str, found: list[Suggestion], system: str) -> list[StoredSuggestion]:
    return [StoredSuggestion(code, rank, s.code, s.display, s.score, s.why, system)
            for rank, s in enumerate(found, start=1)]
