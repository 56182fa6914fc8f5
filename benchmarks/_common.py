"""Shared helpers for the benchmark scripts in this folder.

Every benchmark measures brainlearn and its references (NumPy, PyTorch when
installed) in the same process, on the same data and with the same thread
count, and prints throughputs and their ratios (see benchmarks/README.md).

Import order matters: :func:`configure_threads` sets the BLAS thread
variables, which OpenBLAS/MKL read only when they are loaded, so a script
calls it before importing NumPy, Numba or brainlearn. This module imports
nothing heavy at the top for that reason.

Contents
--------
- :func:`add_common_args` -- ``--quick``, ``--threads N``, ``--repeats K``, ``--json FILE``
- :func:`configure_threads` -- one thread count for Numba, BLAS and torch
- :func:`best_of` -- best wall time of several repeats
- :func:`best_of_interleaved` -- the same for several implementations, taken in turns
- :class:`CpuMonitor` -- CPU time that other processes used while we measured
- :func:`wait_for_quiet` -- wait (bounded) until other processes leave the CPUs alone
- :func:`import_torch` -- PyTorch or None (the torch column then shows "n/a"); import it
  before :func:`numba_threads` starts Numba's thread pool (see there)
- :func:`machine_ceiling` -- measured float32 matrix-multiply rate in GFLOP/s
- :func:`environment` / :func:`blas_names` -- versions and BLAS library names
- :func:`settle` -- :func:`wait_for_quiet` that says when it waited or gave up
- :func:`describe_environment` -- the header lines every script prints
- :func:`print_table`, :func:`fmt_rate`, :func:`fmt_giga`, :func:`fmt_ratio` -- text output
- :func:`write_json` -- results as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

__all__ = [
    "add_common_args", "configure_threads", "numba_threads", "best_of", "best_of_interleaved",
    "CpuMonitor", "wait_for_quiet", "settle", "import_torch",
    "machine_ceiling", "environment", "describe_environment", "blas_names", "print_table",
    "fmt_rate", "fmt_giga", "fmt_ratio", "write_json", "THREAD_VARS",
]

#: print every timed call (set by ``--verbose``)
VERBOSE = False

#: Environment variables read by the BLAS libraries (and OpenMP) when they load.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# -- arguments -----------------------------------------------------------------------------------
def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: fewer samples, one repeat per measurement")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="threads for Numba, BLAS and torch (default: NUMBA_NUM_THREADS if "
                             "set, else the CPUs this process may run on)")
    parser.add_argument("--repeats", type=int, default=None, metavar="K",
                        help="repeats per measurement, best taken (default 3; 1 with --quick)")
    parser.add_argument("--max-wait", type=float, default=None, metavar="S",
                        help="before each measurement, wait up to S seconds for other processes "
                             "to stop using the CPUs (default 120; 0 with --quick)")
    parser.add_argument("--verbose", action="store_true",
                        help="print the time of every call and the load of other processes")
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="also write the results as JSON to FILE")
    return parser


# -- threads -----------------------------------------------------------------------------------------
def _default_threads() -> int:
    env = os.environ.get("NUMBA_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def configure_threads(n: int | None) -> int:
    """Use ``n`` threads (default: Numba's default) for Numba, BLAS and OpenMP.

    Must run before NumPy, Numba, SciPy or torch are imported: it sets
    ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` (and
    ``NUMBA_NUM_THREADS`` when ``n`` exceeds Numba's default). Other variables
    (e.g. ``OPENBLAS_CORETYPE``) are left as they are. Torch is set separately
    with ``torch.set_num_threads`` by :func:`import_torch`.
    """
    if n is not None and n < 1:
        raise SystemExit(f"--threads must be >= 1, got {n}")
    late = [m for m in ("numpy", "numba", "scipy", "torch") if sys.modules.get(m) is not None]
    if late:
        print(f"warning: {', '.join(late)} imported before configure_threads(); the BLAS thread "
              "count may not follow --threads", file=sys.stderr)
    if n is None:
        n = _default_threads()
    elif n > _default_threads():
        os.environ["NUMBA_NUM_THREADS"] = str(n)
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    return n


def numba_threads(n: int) -> int:
    """Set and return Numba's thread count (call after :func:`configure_threads`).

    This starts Numba's thread pool: import torch first (:func:`import_torch`).
    """
    import numba
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    return numba.get_num_threads()


def start(args):
    """Common start of a benchmark: threads, imports (torch before Numba's pool) and timing
    settings. Returns ``(np, bl, torch, why_no_torch, threads, repeats, min_time, max_wait)``."""
    global VERBOSE
    threads = configure_threads(args.threads)
    VERBOSE = args.verbose

    import numpy as np
    try:
        import brainlearn as bl
    except ImportError:  # run from a checkout without PYTHONPATH
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        import brainlearn as bl

    # torch before Numba's thread pool starts, or torch may run on the wrong OpenMP runtime
    torch, why = import_torch(threads)
    threads = numba_threads(threads)
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    repeats = args.repeats or (1 if args.quick else 3)
    min_time = 0.0 if args.quick else 1.0
    max_wait = args.max_wait if args.max_wait is not None else (0.0 if args.quick else 120.0)
    return np, bl, torch, why, threads, repeats, min_time, max_wait


# -- timing ------------------------------------------------------------------------------------------
def best_of(fn, repeats: int = 3, min_time: float = 0.0, max_repeats: int = 50) -> float:
    """Best wall time (s) of ``fn()`` over ``repeats`` calls.

    Keeps calling (up to ``max_repeats``) until the calls together took at
    least ``min_time`` seconds, so very short measurements get more repeats.
    """
    best, total, k = float("inf"), 0.0, 0
    while k < repeats or (total < min_time and k < max_repeats):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        total += dt
        k += 1
    return best


def best_of_interleaved(fns: dict, repeats: int = 3, min_time: float = 0.0,
                        max_repeats: int = 50, quiet_threshold: float | None = None,
                        extra_time: float = 0.0, pause: float = 0.0) -> dict:
    """Best wall time of each callable in ``fns`` (name -> fn), taken in turns.

    Round-robin (a, b, c, a, b, c, ...) rather than all repeats of one after
    the other, so a slow spell of the machine does not fall on one
    implementation only. Each is called at least ``repeats`` times, and more
    (up to ``max_repeats``) until its calls took ``min_time`` seconds in total.

    With ``quiet_threshold``, every call is watched with :class:`CpuMonitor`;
    a call during which other processes used more CPUs than that is "noisy".
    An implementation none of whose calls was quiet gets further calls, for at
    most ``extra_time`` seconds in all, and the best quiet call is preferred.

    ``pause`` seconds of sleep before every call let the previous call's worker
    threads go idle: OpenBLAS and OpenMP threads keep spinning for a while after
    a call (OpenBLAS for about 0.1 s), which would otherwise steal a core from
    the next implementation.

    Returns ``{name: {"seconds": best, "calls": k, "quiet": bool, "foreign_cpus": x}}``
    where ``foreign_cpus`` is the other processes' load during the call kept.
    """
    stats = {k: {"seconds": float("inf"), "calls": 0, "quiet": False, "foreign_cpus": None,
                 "total": 0.0} for k in fns}
    extra_deadline = None

    def wants(k):
        st = stats[k]
        if st["calls"] < repeats or (st["total"] < min_time and st["calls"] < max_repeats):
            return True
        if quiet_threshold is None or st["quiet"] or st["calls"] >= max_repeats:
            return False
        return extra_deadline is None or time.perf_counter() < extra_deadline

    while any(wants(k) for k in fns):
        if extra_deadline is None and all(
                stats[k]["calls"] >= repeats and stats[k]["total"] >= min_time for k in fns):
            extra_deadline = time.perf_counter() + extra_time
        for k, fn in fns.items():
            if not wants(k):
                continue
            if pause > 0:
                time.sleep(pause)
            mon = CpuMonitor() if quiet_threshold is not None else None
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            load = mon.foreign_cpus() if mon is not None else None
            quiet = load is None or quiet_threshold is None or \
                load < quiet_threshold + mon.uncertainty
            if VERBOSE:
                print(f"    call {k}: {dt:.4f} s, other processes' load "
                      f"{'?' if load is None else f'{load:.2f}'} CPUs", flush=True)
            st = stats[k]
            st["calls"] += 1
            st["total"] += dt
            # a quiet call beats any noisy one; among equals, the faster
            if (quiet and not st["quiet"]) or (quiet == st["quiet"] and dt < st["seconds"]):
                st["seconds"], st["quiet"], st["foreign_cpus"] = dt, quiet, load
    for st in stats.values():
        del st["total"]
    return stats


class CpuMonitor:
    """How busy the rest of the machine was while we measured (Linux; else None).

    ``foreign_cpus()`` is the CPU time used by other processes since ``start()``,
    divided by the wall time: 0 on an idle machine, 1.0 when another process kept
    one core busy the whole time (then our figures are low and noisy). The kernel
    counts CPU time in clock ticks, so over short spans the figure is rough:
    ``uncertainty`` (set by ``foreign_cpus()``) is its error bound.
    """

    def __init__(self):
        self.uncertainty = 0.0
        self.start()

    @staticmethod
    def _busy_seconds():
        try:
            with open("/proc/stat") as fh:
                vals = [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
        return (sum(vals[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_seconds():
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def start(self):
        self._wall = time.perf_counter()
        self._busy = self._busy_seconds()
        self._own = self._own_seconds()

    def foreign_cpus(self):
        if self._busy is None:
            return None
        busy = self._busy_seconds()
        wall = time.perf_counter() - self._wall
        if busy is None or wall <= 0:
            return None
        other = (busy - self._busy) - (self._own_seconds() - self._own)
        self.uncertainty = 2.0 / (os.sysconf("SC_CLK_TCK") * wall)  # CPU times come in ticks
        return max(0.0, other / wall)


def wait_for_quiet(max_wait: float, threshold: float = 0.15, quiet_for: float = 1.0,
                   probe: float = 0.25) -> tuple[float, bool]:
    """Wait until other processes used < ``threshold`` CPUs for ``quiet_for`` seconds.

    Gives up after ``max_wait`` seconds. Returns (seconds waited, whether quiet).
    On a machine shared with test runs this keeps their load out of the figures.
    """
    t0 = time.perf_counter()
    quiet_since = None
    while True:
        mon = CpuMonitor()
        time.sleep(probe)
        load = mon.foreign_cpus()
        now = time.perf_counter()
        if load is None:
            return now - t0, True
        if load < threshold:
            quiet_since = quiet_since if quiet_since is not None else now - probe
            if now - quiet_since >= quiet_for:
                return now - t0, True
        else:
            quiet_since = None
        if now - t0 >= max_wait:
            return now - t0, False


def settle(max_wait: float) -> None:
    """:func:`wait_for_quiet` before a measurement; prints a line when it waited > 2 s or gave up."""
    if max_wait <= 0:
        return
    waited, quiet = wait_for_quiet(max_wait)
    if waited > 2 or not quiet:
        print(f"  waited {waited:.0f} s for other processes to leave the CPUs"
              + ("" if quiet else " (gave up: measuring anyway)"), flush=True)


# -- optional torch ------------------------------------------------------------------------------------
def import_torch(threads: int):
    """``(torch, None)`` with ``torch.set_num_threads(threads)``, or ``(None, reason)``.

    Call it before :func:`numba_threads` (before anything starts Numba's thread
    pool). Numba's "omp" threading layer loads the system ``libgomp.so.1``; a
    torch imported after that binds to it instead of its bundled copy (same
    soname), and on the machine this was written on its minibatch training then
    ran 3-4x slower. Imported first, torch keeps its own runtime and Numba is
    unaffected.
    """
    if "numba" in sys.modules and getattr(sys.modules["numba"], "np", None) is not None:
        pool = sys.modules.get("numba.np.ufunc.parallel")
        if pool is not None and getattr(pool, "_is_initialized", False):
            print("warning: Numba's thread pool started before torch was imported; torch may "
                  "bind to the system OpenMP runtime and run slower", file=sys.stderr)
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - any import failure means "no torch column"
        return None, f"{type(exc).__name__}: {exc}"
    torch.set_num_threads(threads)
    return torch, None


# -- machine ceiling ------------------------------------------------------------------------------------
def machine_ceiling(n: int = 1024, repeats: int = 10, quiet_threshold: float | None = 0.2,
                    extra_time: float = 0.0) -> dict:
    """Measured single-precision matrix-multiply rate (``np.dot`` of two n x n float32).

    Counts ``2 n^3`` flops per product and uses the BLAS thread count set by
    :func:`configure_threads`. Returns ``{"gflops": rate, "quiet": bool, "calls": k}``
    (see :func:`best_of_interleaved` for ``quiet``).
    """
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    np.dot(a, b, out=c)  # warm up: thread pool start, page faults
    st = best_of_interleaved({"dot": lambda: np.dot(a, b, out=c)}, repeats=repeats, min_time=0.5,
                             quiet_threshold=quiet_threshold, extra_time=extra_time)["dot"]
    return {"gflops": 2.0 * n ** 3 / st["seconds"] / 1e9, "quiet": st["quiet"], "calls": st["calls"]}


# -- environment -----------------------------------------------------------------------------------
def blas_names() -> dict:
    """BLAS library name and version of NumPy (and SciPy, whose BLAS Numba's np.dot calls)."""
    out = {}
    for mod_name in ("numpy", "scipy"):
        try:
            mod = __import__(mod_name)
            cfg = mod.show_config(mode="dicts")
            blas = cfg["Build Dependencies"]["blas"]
            out[mod_name] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
        except Exception:  # noqa: BLE001 - informational only
            continue
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(threads: int, torch=None) -> dict:
    import numba
    import numpy as np
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "threads": threads,
        "blas": blas_names(),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
    }
    try:
        import brainlearn
        env["brainlearn"] = brainlearn.__version__
        env["brainlearn_commit"] = _git_commit(os.path.dirname(os.path.abspath(brainlearn.__file__)))
    except Exception:  # noqa: BLE001
        pass
    return env


def describe_environment(env: dict, threads: int, torch_missing: str | None = None) -> list:
    """Header lines for a run: versions, CPU, thread count, BLAS (from :func:`environment`)."""
    commit = f" ({env['brainlearn_commit']})" if env.get("brainlearn_commit") else ""
    lines = [f"brainlearn {env.get('brainlearn', '?')}{commit}, numpy {env['numpy']}, "
             f"numba {env['numba']}, torch {env['torch'] or 'not installed'}; python {env['python']}",
             f"cpu: {env['cpu']} ({env['cpus']} cpus); threads: {threads} (Numba, BLAS, torch)",
             "BLAS: " + ("; ".join(f"{k}: {v}" for k, v in env["blas"].items()) or "unknown")]
    if env["openblas_env"]:
        lines.append("OpenBLAS environment: "
                     + ", ".join(f"{k}={v}" for k, v in env["openblas_env"].items()))
    if env["torch"] is None:
        lines.append(f"torch not available ({torch_missing or 'not installed'}); the torch column "
                     "shows n/a")
    return lines


def _git_commit(folder):
    """Short commit of the checkout holding ``folder`` (+ "-dirty" if it has local changes), or None."""
    import subprocess
    try:
        head = subprocess.run(["git", "-C", folder, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", folder, "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


# -- output ----------------------------------------------------------------------------------------
def fmt_rate(x) -> str:
    """A throughput with thousands separators ("n/a" for None)."""
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def fmt_giga(x, digits: int = 2) -> str:
    """A rate in units of 10^9 ("n/a" for None), e.g. synaptic updates per second."""
    if x is None:
        return "n/a"
    return f"{x / 1e9:.{digits}f}"


def fmt_ratio(x) -> str:
    if x is None:
        return "n/a"
    return f"{x:.2f}x" if x < 100 else f"{x:.0f}x"


def print_table(headers, rows, align=None, file=None) -> None:
    """Print ``rows`` (lists of strings) under ``headers`` as an aligned text table.

    ``align`` is a string of "l"/"r" per column (default: first left, rest right).
    """
    file = file or sys.stdout
    ncol = len(headers)
    align = align or "l" + "r" * (ncol - 1)
    widths = [max(len(str(headers[c])), *(len(str(r[c])) for r in rows)) for c in range(ncol)]

    def line(cells):
        parts = [str(v).ljust(w) if a == "l" else str(v).rjust(w)
                 for v, w, a in zip(cells, widths, align)]
        return "  ".join(parts).rstrip()

    print(line(headers), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for r in rows:
        print(line(r), file=file)


def write_json(path: str, payload: dict) -> None:
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=2, default=float)
        fh.write("\n")
