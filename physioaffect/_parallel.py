"""Run nogil Numba tasks on a shared thread pool.

Kernels release the GIL, so plain threads run them side by side without Numba's parallel runtime
(which costs compile time and a start-up on first use).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def default_n_jobs() -> int:
    """Threads to use: ``PHYSIOAFFECT_NUM_THREADS`` if set, else the CPUs this process may use."""
    env = os.environ.get("PHYSIOAFFECT_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_n_jobs(n_jobs) -> int:
    """``None`` -> :func:`default_n_jobs`; negative values count back from it (-1 = all)."""
    from .errors import InvalidParameterError

    total = default_n_jobs()
    if n_jobs is None:
        return total
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise InvalidParameterError(f"`n_jobs` must be a non-zero integer or None, got {n_jobs!r}")
    return n_jobs if n_jobs > 0 else max(1, total + 1 + n_jobs)


def _get_pool(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="physioaffect")
            _pool_size = size
        return _pool


def run_tasks(fn, tasks, n_jobs: int) -> None:
    """Call ``fn(*args)`` for every ``args`` in ``tasks``, on up to ``n_jobs`` threads."""
    tasks = list(tasks)
    if n_jobs <= 1 or len(tasks) <= 1:
        for args in tasks:
            fn(*args)
        return
    pool = _get_pool(n_jobs)
    futures = [pool.submit(fn, *args) for args in tasks]
    for f in futures:
        f.result()
