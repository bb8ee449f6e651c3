"""The worker pool: a few forked processes, each running one engine task at a time and
killable at the deadline, and the search that feeds them tasks and keeps the incumbent
plan."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from collections.abc import Callable
from multiprocessing import connection

from .model import Prepared, Routes
from .tasks import run_task

log = logging.getLogger(__name__)

_PREP: Prepared | None = None  # set in the parent before forking workers


def _worker_main(conn) -> None:  # pragma: no cover - runs in the child
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            break
        if msg is None:
            break
        tid, task = msg
        try:
            res = run_task(_PREP, task)
        except BaseException as e:  # report, never die silently
            res = {"error": f"{type(e).__name__}: {e}"}
        try:
            conn.send((tid, res))
        except (BrokenPipeError, EOFError):
            break


class Pool:
    """A few forked workers, each fed one task at a time over a pipe; killable at a deadline.

    Forked children inherit the prepared problem (copy-on-write), so tasks only carry
    indices and routes. With workers=1 (or no fork) tasks run inline.
    """

    def __init__(self, prep: Prepared, workers: int):
        global _PREP
        self.prep = prep
        self.procs: list = []
        self.conns: list = []
        self.busy: dict[int, int] = {}  # worker -> task id
        self.inline = workers <= 1 or "fork" not in multiprocessing.get_all_start_methods()
        # load the solver libraries once here: forked workers inherit them (importing them
        # in each worker costs ~0.5 s of a short budget)
        import pyvrp  # noqa: F401
        import vroom  # noqa: F401

        if self.inline:
            return
        _PREP = prep
        ctx = multiprocessing.get_context("fork")
        for _ in range(workers):
            a, b = ctx.Pipe()
            p = ctx.Process(target=_worker_main, args=(b,), daemon=True)
            p.start()
            b.close()
            self.procs.append(p)
            self.conns.append(a)
        _PREP = None

    @property
    def size(self) -> int:
        return 1 if self.inline else len(self.procs)

    def idle(self) -> list[int]:
        return [w for w in range(self.size) if w not in self.busy]

    def submit(self, w: int, tid: int, task: dict) -> None:
        if self.inline:
            self.busy[w] = tid
            self._inline_result = (tid, run_task(self.prep, task))
            return
        self.conns[w].send((tid, task))
        self.busy[w] = tid

    def wait(self, deadline: float) -> list[tuple[int, dict]]:
        """Results that arrived before the deadline ([] if none)."""
        if self.inline:
            if not self.busy:
                return []
            self.busy.clear()
            return [self._inline_result]
        left = deadline - time.perf_counter()
        if left <= 0 or not self.busy:
            return []
        ready = connection.wait([self.conns[w] for w in self.busy], timeout=left)
        out = []
        for w in list(self.busy):
            c = self.conns[w]
            if c in ready:
                try:
                    tid, res = c.recv()
                except EOFError:
                    tid, res = self.busy[w], {"error": "worker died"}
                del self.busy[w]
                out.append((tid, res))
        return out

    def close(self) -> None:
        for w, p in enumerate(self.procs):
            if w in self.busy or not p.is_alive():
                p.kill()
            else:
                try:
                    self.conns[w].send(None)
                except (BrokenPipeError, OSError):
                    p.kill()
        for p in self.procs:
            p.join(timeout=0.5)
            if p.is_alive():
                p.kill()
                p.join(timeout=0.5)
        for c in self.conns:
            c.close()
        self.procs, self.conns, self.busy = [], [], {}


class Search:
    """Holds the incumbent plan; runs tasks on the pool until the deadline."""

    def __init__(self, prep: Prepared, pool: Pool, deadline: float, seed: int):
        self.prep, self.pool, self.deadline, self.seed = prep, pool, deadline, seed
        self.routes: Routes = {k: [] for k in range(prep.n_agents)}
        self.log: list[dict] = []
        self._tid = 0

    def run(self, tasks: list[dict], on_result: Callable[[dict, dict], None], more: Callable[[], dict | None] | None = None) -> None:
        """Run tasks (then whatever ``more()`` yields) until done or the deadline."""
        queue = list(tasks)
        live: dict[int, dict] = {}
        while True:
            for w in self.pool.idle():
                if not queue and more is not None and time.perf_counter() < self.deadline:
                    nxt = more()
                    if nxt is not None:
                        queue.append(nxt)
                if not queue:
                    break
                task = queue.pop(0)
                now = time.perf_counter()
                # the worker must be done a little before the deadline: results that
                # arrive later are lost (the worker is killed)
                grace = 0.1 + 0.0002 * len(task["visits"])
                task["seconds"] = min(task["seconds"], self.deadline - now - grace)
                if task["seconds"] <= 0.05:
                    queue.clear()
                    break
                self._tid += 1
                live[self._tid] = task
                self.pool.submit(w, self._tid, task)
            if not live:
                return
            if time.perf_counter() >= self.deadline:
                return
            for tid, res in self.pool.wait(self.deadline):
                task = live.pop(tid)
                if "error" in res:
                    log.warning("routing task failed: %s", res["error"])
                    continue
                self.log.append({"what": task.get("what"), "engine": res["engine"], "wall": round(res["wall"], 2), "keys": res["keys"]})
                on_result(task, res)
            if time.perf_counter() >= self.deadline and live:
                return
