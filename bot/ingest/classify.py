"""Classification off the event loop, with a time budget per item.

Classifying is CPU work on text that comes from outside. Run on the event
loop, one pathological title would stall everything else the process does:
Telegram replies, alert delivery, /healthz. So each item is classified in a
worker thread, and an item that takes longer than its budget is given up on:
the caller stores it uncategorised instead of waiting.

A Python thread cannot be killed, so an item over budget keeps its worker
busy until it finishes on its own. Such workers are counted; while every
worker is held by one, items are not even started (they would only queue
behind them) and are reported as not classified at once.

Limit: a thread only helps against work that lets go of the GIL now and then
(pure-Python loops do). A single C call that never does, such as one
catastrophically backtracking regular expression, still holds the whole
interpreter; that is prevented on the rules side (patterns are built not to
backtrack).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from rules import RuleSet

#: Seconds one item may take. Normal items take tens of microseconds.
CLASSIFY_BUDGET = 2.0
#: Worker threads; items over budget hold one each until they finish.
CLASSIFY_WORKERS = 2


@dataclass(frozen=True)
class Classified:
    """An item's categories, tags and the rule terms that fired (all built in the worker)."""

    categories: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    matches: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class NotClassified:
    """Why an item was not classified (it is stored uncategorised)."""

    reason: str


def classify_fully(rules: RuleSet, title: str, summary: str, language: str) -> Classified:
    """Classify and build the explanation too (it is computed lazily, so force it here)."""
    result = rules.classify(title, summary, language)
    return Classified(
        categories=tuple(result.categories),
        topics=tuple(result.topics),
        entities=tuple(result.entities),
        matches={k: [hit.term for hit in v] for k, v in result.matches.items()},
    )


class _DaemonPool:
    """Up to `size` daemon worker threads taking jobs from a queue; idle ones leave.

    Not `ThreadPoolExecutor`: its threads are joined when the interpreter
    exits, so one item that never finishes would keep the process from
    stopping on SIGTERM. Daemon threads are dropped at exit, and a thread
    idle for `idle_seconds` ends, so a pool costs nothing while unused.
    """

    def __init__(self, size: int, name: str, *, idle_seconds: float = 60.0) -> None:
        self._size = size
        self._name = name
        self._idle_seconds = idle_seconds
        self._jobs: queue.SimpleQueue[tuple[Future[Classified], Callable[[], Classified]]] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._alive = 0
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable[[], Classified]) -> Future[Classified]:
        job: Future[Classified] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the classifier is closed")
            self._jobs.put((job, fn))
            if self._idle == 0 and self._alive < self._size:
                self._alive += 1
                threading.Thread(
                    target=self._work, name=f"{self._name}-{self._alive}", daemon=True
                ).start()
        return job

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                job, fn = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    # A job put while this thread timed out counted on it being idle.
                    if self._jobs.empty() or self._closed:
                        self._alive -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
            if not job.set_running_or_notify_cancel():
                continue
            try:
                job.set_result(fn())
            except BaseException as error:
                job.set_exception(error)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        # Queued jobs are cancelled; running ones finish in their (daemon) thread.
        while True:
            try:
                job, _ = self._jobs.get_nowait()
            except queue.Empty:
                return
            job.cancel()


class BudgetedClassifier:
    """Classifies items in worker threads, giving up on an item after `budget` seconds."""

    def __init__(self, *, budget: float = CLASSIFY_BUDGET, workers: int = CLASSIFY_WORKERS) -> None:
        self.budget = budget
        self.workers = workers
        self._pool = _DaemonPool(workers, "evbot-classify")
        self._lock = threading.Lock()
        self._overdue = 0  # items past their budget whose worker is still busy with them

    @property
    def overdue(self) -> int:
        """Workers still busy with items that went over budget."""
        with self._lock:
            return self._overdue

    async def classify(
        self, rules: RuleSet, title: str, summary: str, language: str
    ) -> Classified | NotClassified:
        """The item's classification, or why there is none (over budget, or all workers held)."""
        if self.overdue >= self.workers:
            return NotClassified(
                f"not classified: all {self.workers} classifier threads are still busy "
                "with earlier items that went over budget"
            )
        job = self._pool.submit(lambda: classify_fully(rules, title, summary, language))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job), self.budget)
        except TimeoutError:
            self._count_overdue(job)
            return NotClassified(f"classification took longer than {self.budget:g} s")
        except Exception as error:
            # A bug in the rules must not lose the story: it is kept, uncategorised.
            return NotClassified(f"classification failed: {type(error).__name__}: {error}")

    def _count_overdue(self, job: Future[Classified]) -> None:
        with self._lock:
            self._overdue += 1

        def finished(_: Future[Classified]) -> None:
            with self._lock:
                self._overdue -= 1

        job.add_done_callback(finished)

    def close(self) -> None:
        """Stop taking work; threads still busy finish in the background."""
        self._pool.close()
