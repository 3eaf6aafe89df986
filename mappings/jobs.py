"""Background batch suggestion runs: one daemon thread per job.

The thread builds (or reuses) the project's target index, suggests every source code, and
writes each batch of `BATCH` codes in one short transaction: the kept top suggestions, the
"suggested" status for codes nobody decided yet (audited), and the job's progress. A cancel
request is honoured between batches; a failure is recorded with its message.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from mappings.model import Job, Project, SourceCode, StoredSuggestion
from mappings.suggest import Suggestion
from mappings.targets import TargetScopes, learned_first, source_key, source_text, suggest_for
from mappings.textsearch import IndexNotReady
from termserver.store import Store
from termserver.store.workbench import stamp

BATCH = 200
KEEP = 5

log = logging.getLogger(__name__)


class JobRunner:
    """Starts suggestion jobs and remembers their cancel flags (process memory)."""

    def __init__(self, store: Store, scopes: TargetScopes) -> None:
        self.store = store
        self.scopes = scopes
        self._cancel: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, project: Project, sources: Callable[[], dict[str, SourceCode]],
              author: str | None) -> Job:
        job = Job(uuid.uuid4().hex[:16], project.id, "suggest", "queued", started=stamp())
        self.store.workbench.create_job(project.pk, job, author)
        flag = threading.Event()
        thread = threading.Thread(target=self._run, args=(job.id, project, sources, author, flag),
                                  name=f"suggest-{job.id}", daemon=True)
        with self._lock:
            self._cancel[job.id] = flag
            self._threads[job.id] = thread
        thread.start()
        return job

    def cancel(self, job_id: str) -> bool:
        """Ask a running job to stop; False when this process does not run it."""
        with self._lock:
            flag = self._cancel.get(job_id)
        if flag is None:
            return False
        flag.set()
        return True

    def running(self, job_id: str) -> bool:
        """Whether a thread of this process runs the job now."""
        with self._lock:
            thread = self._threads.get(job_id)
        return thread is not None and thread.is_alive()

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until the job's thread ends (tests, CLI)."""
        with self._lock:
            thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)

    def _run(self, job_id: str, project: Project, sources: Callable[[], dict[str, SourceCode]],
             author: str | None, cancel: threading.Event) -> None:
        wb = self.store.workbench
        try:
            codes = sources()
            wb.update_job(job_id, state="running", total=len(codes))
            searcher = self.scopes.searcher(project)
            wb.update_job(job_id, done=0)  # heartbeat: the index is ready
            keys = {c: source_key(source_text(s)) for c, s in codes.items()}
            learned = wb.accepted_by_key(project.target_system,
                                         sorted({k for k in keys.values() if k}))
            items = list(codes.values())
            done = 0
            for start in range(0, len(items), BATCH):
                if cancel.is_set():
                    wb.update_job(job_id, state="cancelled", done=done, finished=stamp())
                    return
                batch = items[start:start + BATCH]
                found: dict[str, list[StoredSuggestion]] = {}
                for s in batch:
                    text = source_text(s)
                    live = suggest_for(searcher, s, text, unit=s.unit, specimen=s.specimen,
                                       limit=KEEP)
                    key = keys[s.code]
                    best = learned_first(live, learned.get(key, []) if key else [], text, KEEP)
                    found[s.code] = _kept(s.code, best, project.target_system)
                wb.keep_suggestions(project.pk, found, author=author,
                                    source_keys={c: keys[c] for c in found})
                done += len(batch)
                wb.update_job(job_id, done=done)
            wb.update_job(job_id, state="done", done=done, finished=stamp())
        except IndexNotReady as exc:  # a clear state, not a crash: start it again later
            wb.update_job(job_id, state="failed", error=exc.message, finished=stamp())
        except Exception as exc:  # recorded on the job: the thread has no caller to raise to
            log.exception("suggestion job %s failed", job_id)
            wb.update_job(job_id, state="failed", error=f"{type(exc).__name__}: {exc}",
                          finished=stamp())
        finally:
            with self._lock:
                self._cancel.pop(job_id, None)
                self._threads.pop(job_id, None)


def _kept(code: str, found: list[Suggestion], system: str) -> list[StoredSuggestion]:
    return [StoredSuggestion(code, rank, s.code, s.display, s.score, s.why, system)
            for rank, s in enumerate(found, start=1)]
