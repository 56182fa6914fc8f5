"""Where the runs of a study run: in this process, in a local pool of worker processes, or on a
running Dask distributed cluster.

Every executor runs :func:`run_task` (the study's ``run_one`` for one rule, seed and
configuration; no file is touched) and hands each result back to the driver as soon as it is
there; the driver writes the run's files at once (atomically, the record last), so a run is
either recorded completely or not at all, whatever happens to the driver or the workers. The
results do not depend on the executor: a run is seeded from its configuration, rule and seed
only, and its rows travel back unchanged.

Threads: a worker shares the cores with the other workers of its machine. A local pool of ``N``
workers starts each worker with ``cores // N`` threads for Numba, OpenMP and BLAS, set in the
environment it starts with (``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ...: a limit set later reaches only the libraries loaded by then, and
idle threads of larger pools still cost time -- on 2 cores two such workers ran a learning run
1.5x slower each than single-threaded ones), and again at run time (Numba's
``set_num_threads``, threadpoolctl). On Dask, each task sets the Numba threads of the worker
thread that runs it and the worker process's BLAS threads to ``cores // T``, where ``T`` is the
number of worker threads on that machine (the ``nthreads`` of all the workers the scheduler
knows on the worker's host; a worker that joined later counts its own); Dask's nanny starts
worker processes with one OpenMP and BLAS thread (``distributed.nanny.pre-spawn-environ``).
Numba's compiled kernels are cached on disk (``cache=True``), so a worker process loads them
once instead of compiling them.

Worker deaths: a run whose worker process dies (killed, out of memory, a crash in native code)
is started again, at most ``retries`` more times, then recorded ``failed`` with the reason.

* Local pool: :class:`~concurrent.futures.ProcessPoolExecutor` breaks as a whole when one of
  its processes dies (every run in flight gets ``BrokenProcessPool``); the pool is rebuilt and
  the runs in flight are submitted again. Each worker reports the run it starts (on a pipe),
  and the exit codes of the dead pool's processes tell which run's worker died (the others
  were stopped by the pool, with SIGTERM): only that run is charged a death, and a run that
  had not started is not charged an attempt either. When it cannot be told (no exit code, or
  SIGTERM from outside), every run that had started is charged.
* Dask: the scheduler reschedules a task whose worker died and gives up after
  ``distributed.scheduler.allowed-failures`` deaths (a scheduler setting, default 3) with
  ``KilledWorker``: the run is then recorded ``failed``. ``retries`` does not apply there.

Every record says how many times its run was started (``attempts``). On Dask it is counted
from the start events the tasks send to the scheduler (a worker that dies within milliseconds
of starting a run may not have sent its event); a task that the scheduler reschedules because
the worker holding its finished result died is started again too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, deque

from ..engine import DivergenceError

__all__ = ["RunTask", "run_task", "Serial", "LocalPool", "DaskCluster", "make_executor",
           "DEFAULT_RETRIES", "check_scheduler", "SchedulerError", "exit_if_bootstrapping",
           "GUARD_EXIT"]

#: how many more times a run whose worker process died is started (local pool)
DEFAULT_RETRIES = 2
#: consecutive broken pools without any run started before giving up (the workers cannot start)
_MAX_IDLE_BREAKS = 3
#: seconds to wait for a Dask scheduler to answer
CONNECT_TIMEOUT = 10


@dataclasses.dataclass(frozen=True)
class RunTask:
    """One run: ``key`` (``(rule, seed)`` or ``(point, rule, seed)``), the point's ``config``
    and ``name``, a unique text of the key (the run's file stem)."""

    key: tuple
    rule: str
    seed: int
    config: object
    name: str


def failure(error) -> dict:
    """The result of a run that could not be run (its error text)."""
    return {"status": "failed", "step": None, "error": error, "rows": [], "wall_time": None}


def run_task(study, task) -> dict:
    """Run ``study.run_one`` for ``task``; return ``{status, step, error, rows, wall_time}``.

    A :class:`~brainlearn.DivergenceError` gives ``diverged`` (with the step and the rows the
    study attached as ``exc.rows``), any other exception ``failed`` with its traceback.
    """
    start = time.perf_counter()
    status, step, error, rows = "ok", None, None, []
    try:
        rows = list(study.run_one(task.config, task.rule, task.seed))
    except DivergenceError as exc:
        status = "diverged"
        step = getattr(exc, "step", None)
        step = int(step) if step is not None else -1
        rows = list(getattr(exc, "rows", None) or [])
    except (Exception, SystemExit):  # noqa: BLE001 - a failed run is a result to record
        status, error = "failed", traceback.format_exc()
    return {"status": status, "step": step, "error": error, "rows": rows,
            "wall_time": time.perf_counter() - start}


# -- threads ---------------------------------------------------------------------------------------
def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_BLAS_THREADS = [None]

#: the environment variables that size the thread pools of Numba, OpenMP and the BLAS libraries
#: when a process loads them
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@contextlib.contextmanager
def worker_environment(threads):
    """Within the block, processes started inherit ``threads`` in :data:`THREAD_VARIABLES`
    (a smaller value already set is kept), so that their thread pools have that size from the
    start: a limit set at run time reaches only the libraries loaded by then (SciPy's BLAS,
    e.g., is loaded by Numba on the first run), and idle pool threads left from a larger
    size still cost time. The variables of this process are restored afterwards."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    try:
        for name, old in saved.items():
            try:
                value = min(int(old), threads) if old else threads
            except ValueError:
                value = threads
            os.environ[name] = str(max(1, value))
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def set_threads(numba_threads, blas_threads) -> None:
    """Numba threads of the calling thread and BLAS threads of the process (performance
    settings only: a failure is ignored)."""
    try:
        import numba
        numba.set_num_threads(max(1, min(int(numba_threads), numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # noqa: BLE001
        pass
    blas_threads = max(1, int(blas_threads))
    if _BLAS_THREADS[0] != blas_threads:
        try:
            from threadpoolctl import threadpool_limits
            threadpool_limits(limits=blas_threads, user_api="blas")
            _BLAS_THREADS[0] = blas_threads
        except Exception:  # noqa: BLE001
            pass


def seeds_outermost(tasks) -> list:
    """``tasks`` reordered for workers that run at once: seeds outermost (in the order they
    first appear), the given order within a seed. Workers that start together then run
    different rules, and on a cold cache compile different kernels instead of the same ones
    twice; the study's files are merged in their own order whatever order the runs end in."""
    first = {}
    for task in tasks:
        first.setdefault(task.seed, len(first))
    return sorted(tasks, key=lambda task: first[task.seed])


# -- in this process -------------------------------------------------------------------------------
class Serial:
    """Runs one after the other in this process (``workers=1``)."""

    def describe(self) -> str:
        return "this process"

    def open(self):
        return self

    def close(self) -> None:
        pass

    def run(self, study, tasks, done) -> None:
        for task in tasks:
            done(task, run_task(study, task), 1)


# -- the __main__ guard ----------------------------------------------------------------------------
#: the exit status of a worker process that found itself running the driver's script again
GUARD_EXIT = 78


def _script_name() -> str:
    main = sys.modules.get("__mp_main__") or sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.basename(path) if path else "the script"


def _guard_text() -> str:
    return (f"each worker process imports {_script_name()}, which runs the study outside "
            "`if __name__ == \"__main__\":`: put the code that runs it under that guard")


def exit_if_bootstrapping() -> None:
    """End this process with one line on stderr (exit status :data:`GUARD_EXIT`) when it is a
    spawned worker still starting up, i.e. importing the driver's script (``__mp_main__``), and
    that script runs a study at import: it lacks the ``if __name__ == "__main__":`` guard.

    Without this check such a worker would run the whole study again (and start processes of
    its own, which :mod:`multiprocessing` refuses with a long traceback), in every worker and
    after every retry; with ``mode="force"`` it would even replace the driver's results. The
    driver's :class:`LocalPool` sees the exit status and gives up at once, recording every run
    ``failed`` with the same hint. Called by :func:`~brainlearn.studies.plan_study`,
    :func:`~brainlearn.studies.execute` and :meth:`LocalPool.run` before anything else.
    """
    if not getattr(multiprocessing.current_process(), "_inheriting", False):
        return
    print(f"brainlearn: error: {_guard_text()}", file=sys.stderr, flush=True)
    raise SystemExit(GUARD_EXIT)


# -- a local pool of worker processes --------------------------------------------------------------
_STARTS = None  # in a pool worker: the pipe on which it reports the run it starts


def _watch_parent(parent) -> None:
    """End this worker when its driver is gone (killed): no one would record its results."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(70)


def _init_worker(n_workers, starts=None, parent=None) -> None:
    """A pool worker leaves Ctrl-C to the driver (which stops it), shares the cores with the
    other workers (``NUMBA_NUM_THREADS // n_workers`` Numba threads, ``cores // n_workers`` BLAS
    threads), reports the runs it starts on ``starts`` and ends when the driver ``parent`` is
    gone."""
    global _STARTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STARTS = starts
    try:
        import numba
        numba_threads = numba.config.NUMBA_NUM_THREADS // n_workers
    except Exception:  # noqa: BLE001
        numba_threads = 1
    set_threads(numba_threads, cores() // n_workers)
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                         name="brainlearn-parent-watch").start()


def _pool_task(study, task) -> dict:
    if _STARTS is not None:
        # one small message: a single write to the pipe, atomic among the workers (no lock
        # that a dying worker could leave held)
        _STARTS.send((task.name, os.getpid()))
    return run_task(study, task)


def _drain(reader, started) -> None:
    try:
        while reader.poll():
            name, pid = reader.recv()
            started[name] = pid
    except (EOFError, OSError):
        pass


def _exit_text(code) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class LocalPool:
    """Runs in ``workers`` local worker processes (spawned), retrying a run whose worker
    process died at most ``retries`` more times (see the module docstring).

    ``keep=True`` keeps the worker processes between calls of :meth:`run` until
    :meth:`close`, so that several studies run one after the other (``execute(plan,
    executor=...)``) pay for starting them (importing brainlearn, loading the compiled
    kernels: about 1.5 s of CPU a worker) once; the pool then always has ``workers``
    processes. Without it every :meth:`run` starts and ends its own.
    """

    def __init__(self, workers, retries=DEFAULT_RETRIES, keep=False):
        self.workers, self.retries, self.keep = workers, retries, bool(keep)
        self._kept = None  # (pool, reader, writer, n) between runs, with keep

    def describe(self) -> str:
        return f"{self.workers} local worker processes"

    def open(self):
        return self

    def close(self) -> None:
        """End the kept worker processes (if any); the pool can still run again."""
        if self._kept is not None:
            pool, reader, writer, _ = self._kept
            self._kept = None
            pool.shutdown(wait=False)
            reader.close()
            writer.close()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _submit(pool, study, queue, inflight, limit, attempts) -> None:
        while queue and len(inflight) < limit:
            task = queue.popleft()
            attempts[task.key] += 1
            inflight[pool.submit(_pool_task, study, task)] = task

    def _pool(self, study, queue, attempts, done) -> tuple:
        """Run ``queue`` on one pool until it is empty or the pool breaks; return ``(broken
        runs, {run name: pid of the worker that started it}, {pid: process})``."""
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool
        ctx = multiprocessing.get_context("spawn")
        processes, started, broken, inflight = {}, {}, [], {}
        if self._kept is not None:  # the workers of an earlier run
            pool, reader, writer, n = self._kept
            self._kept = None
            _drain(reader, {})
        else:
            pool = None
            n = self.workers if self.keep else min(self.workers, len(queue))
            reader, writer = ctx.Pipe(duplex=False)
        # the workers start while the pool lives (at its submissions): they inherit the
        # thread sizes
        with worker_environment(max(1, cores() // n)):
            try:
                if pool is None:
                    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx,
                                               initializer=_init_worker,
                                               initargs=(n, writer, os.getpid()))
                # the pool's {pid: process} (private, but the only way to the exit codes)
                processes = getattr(pool, "_processes", None)
                if processes is None:  # (not an empty dict: it fills as workers start)
                    processes = {}
                # two runs per worker in flight, so that a worker never waits for the driver
                # to record a result; a run counts as started (an attempt, and a suspect when
                # the pool breaks) only once its worker reported it
                self._submit(pool, study, queue, inflight, 2 * n, attempts)
                while inflight:
                    finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                    _drain(reader, started)
                    results = []
                    for future in finished:
                        task = inflight.pop(future)
                        try:
                            results.append((task, future.result()))
                        except BrokenProcessPool:
                            broken.append(task)
                        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                            results.append((task, failure(
                                "the worker process could not run it or send its result "
                                f"back: {type(exc).__name__}: {exc}")))
                    if not broken:  # before recording: the workers go on meanwhile
                        self._submit(pool, study, queue, inflight, 2 * n, attempts)
                    for task, result in results:
                        done(task, result, attempts[task.key])
            except BaseException:
                # Ctrl-C or a failure here: stop the workers now (finished runs are recorded,
                # a run cut short leaves no record and is run again by --resume)
                for process in list(processes.values()):
                    process.terminate()
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
                raise
            finally:
                _drain(reader, started)
        if self.keep and not broken:  # the next run reuses the workers
            _drain(reader, started)
            self._kept = (pool, reader, writer, n)
            return broken, started, processes
        # a broken pool: wait until its processes are joined, so their exit codes are known;
        # else let the workers exit while the driver goes on (merging, drawing)
        pool.shutdown(wait=bool(broken))
        _drain(reader, started)
        reader.close()
        writer.close()
        return broken, started, processes

    def run(self, study, tasks, done) -> None:
        exit_if_bootstrapping()
        queue = deque(seeds_outermost(tasks))
        attempts, deaths, idle_breaks = Counter(), Counter(), 0
        while queue:
            broken, started, processes = self._pool(study, queue, attempts, done)
            if not broken:
                continue
            ran = [t for t in broken if t.name in started]
            for task in broken:
                if task.name not in started:  # never started: not an attempt
                    attempts[task.key] -= 1
            if not ran:
                idle_breaks += 1
                unguarded = any(getattr(p, "exitcode", None) == GUARD_EXIT
                                for p in list(processes.values()))
                if unguarded or idle_breaks >= _MAX_IDLE_BREAKS:
                    error = ("the worker processes could not start: " + _guard_text()
                             if unguarded else
                             "the worker processes could not start (the pool broke "
                             f"{idle_breaks} times before running anything; a script that "
                             "runs studies in worker processes needs the guard "
                             "if __name__ == '__main__':)")
                    for task in broken + list(queue):
                        done(task, failure(error), max(1, attempts[task.key]))
                    return
                queue.extendleft(reversed(broken))
                continue
            idle_breaks = 0
            codes = {t.name: getattr(processes.get(started[t.name]), "exitcode", None)
                     for t in ran}
            culprits = [t for t in ran if codes[t.name] not in (None, -signal.SIGTERM)]
            if not culprits:  # cannot tell whose worker died: every run that was running
                culprits = ran
            retry = [t for t in broken if t not in culprits]
            for task in culprits:
                deaths[task.key] += 1
                if deaths[task.key] > self.retries:
                    error = (f"the worker process running it died {deaths[task.key]} times "
                             f"(last: {_exit_text(codes[task.name])}); gave up after "
                             f"{attempts[task.key]} attempts")
                    done(task, failure(error), attempts[task.key])
                else:
                    retry.append(task)
            queue.extendleft(reversed(retry))


# -- a Dask distributed cluster --------------------------------------------------------------------
class SchedulerError(ValueError):
    """The Dask scheduler cannot be reached (bad input: one line, nothing written)."""


def check_scheduler(scheduler) -> None:
    """Bad ``scheduler`` arguments raise before anything is written: not an address, or
    ``distributed`` not installed (the ``brainlearn[dask]`` extra)."""
    if not isinstance(scheduler, str):
        if hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info"):
            return  # a distributed.Client
        raise TypeError(f"scheduler={scheduler!r}: expected the address of a Dask scheduler "
                        "(e.g. tcp://HOST:8786) or a distributed.Client")
    if not scheduler.strip():
        raise ValueError("--scheduler: expected the address of a Dask scheduler "
                         "(e.g. tcp://HOST:8786)")
    import importlib.util
    if importlib.util.find_spec("distributed") is None:
        raise ValueError(f"--scheduler {scheduler}: needs Dask distributed, which is not "
                         "installed: pip install 'brainlearn[dask]'")


def _dask_threads(host_threads) -> int:
    from distributed import get_worker
    from distributed.comm import get_address_host
    worker = get_worker()
    try:
        nthreads = worker.state.nthreads
    except AttributeError:
        nthreads = getattr(worker, "nthreads", 1)
    total = host_threads.get(get_address_host(worker.address), nthreads)
    return max(1, cores() // max(1, total, nthreads))


def _dask_task(study, task, topic, host_threads) -> dict:
    """The Dask task of one run: report its start, share the cores, run."""
    from distributed import get_worker
    try:
        get_worker().log_event(topic, task.name)
    except Exception:  # noqa: BLE001 - only the attempt count
        pass
    threads = _dask_threads(host_threads)
    set_threads(threads, threads)
    return run_task(study, task)


class DaskCluster:
    """Runs as tasks on a running Dask distributed scheduler (``scheduler``: its address, or a
    ``distributed.Client``)."""

    def __init__(self, scheduler, timeout=None):
        self.scheduler, self.timeout = scheduler, timeout
        self.client, self._own = None, False

    def describe(self) -> str:
        if isinstance(self.scheduler, str):
            return f"the Dask scheduler at {self.scheduler}"
        return "a Dask cluster"

    def open(self):
        """Connect; an unreachable scheduler raises :class:`SchedulerError` (one line)."""
        if not isinstance(self.scheduler, str):
            self.client, self._own = self.scheduler, False
            return self
        check_scheduler(self.scheduler)
        from distributed import Client
        try:
            timeout = CONNECT_TIMEOUT if self.timeout is None else self.timeout
            self.client = Client(self.scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            text = " ".join(str(exc).split()) or type(exc).__name__
            raise SchedulerError(f"--scheduler {self.scheduler}: cannot connect to a Dask "
                                 f"scheduler there ({text:.200})") from None
        self._own = True
        return self

    def close(self) -> None:
        if self.client is not None and self._own:
            self.client.close()
        self.client = None

    def _threads(self) -> tuple:
        """``(total worker threads, {host: worker threads on it})`` of the cluster now."""
        try:
            workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        except TypeError:  # an older distributed
            workers = self.client.scheduler_info().get("workers", {})
        hosts = Counter()
        for info in workers.values():
            hosts[info.get("host")] += int(info.get("nthreads", 1))
        return sum(hosts.values()), dict(hosts)

    def _starts(self, topic) -> Counter:
        try:
            return Counter(msg for _, msg in self.client.get_events(topic))
        except Exception:  # noqa: BLE001 - only the attempt count
            return Counter()

    def run(self, study, tasks, done) -> None:
        from distributed import KilledWorker, as_completed
        client = self.client
        tag = uuid.uuid4().hex[:12]
        topic = f"brainlearn-starts-{tag}"
        pending, futures = deque(seeds_outermost(tasks)), {}
        finished = as_completed(loop=client.loop)

        threads = [0.0, None]  # (when asked, (total, hosts)): the scheduler asked every 2 s

        def fill():
            # as many runs in flight as the cluster has worker threads: the scheduler then
            # gives every worker thread one run, and a worker that dies takes no queued run
            # of another with it (distributed counts a death against every task it holds)
            if threads[1] is None or time.monotonic() - threads[0] > 2.0:
                threads[:] = [time.monotonic(), self._threads()]
            total, hosts = threads[1]
            while pending and len(futures) < max(1, total):
                task = pending.popleft()
                future = client.submit(_dask_task, study, task, topic, hosts,
                                       key=f"brainlearn-{task.name}-{tag}", pure=False)
                futures[future] = task
                finished.add(future)

        try:
            fill()
            for future in finished:
                task = futures.pop(future)
                fill()  # first: the worker thread gets its next run while this one is recorded
                attempts = 1
                try:
                    result = future.result()
                except KilledWorker as exc:
                    allowed = getattr(exc, "allowed_failures", None)
                    attempts = 1 if allowed is None else allowed + 1
                    result = failure(
                        f"the worker running it died {attempts} times (distributed.KilledWorker: "
                        "the scheduler's distributed.scheduler.allowed-failures is "
                        f"{'unknown' if allowed is None else allowed}); gave up")
                except Exception as exc:  # noqa: BLE001 - the task itself could not run
                    result = failure(f"the Dask task failed: {type(exc).__name__}: {exc}")
                attempts = max(attempts, self._starts(topic)[task.name])
                future.release()
                done(task, result, attempts)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def make_executor(workers=1, scheduler=None, retries=DEFAULT_RETRIES, keep=False):
    """The executor of ``workers`` local processes (1: this process) or of ``scheduler``;
    ``keep``: a local pool keeps its workers between runs until it is closed (see
    :class:`LocalPool`)."""
    if scheduler is not None:
        return DaskCluster(scheduler)
    if workers > 1:
        return LocalPool(workers, retries, keep=keep)
    return Serial()

