"""The one place that imports Numba, with the library's defaults.

Import this module only from modules that hold kernels, never from ``physioaffect/__init__.py``,
so that ``import physioaffect`` stays fast.

The kernels are compiled with LLVM's SLP (superword-level parallelism) vectoriser switched on.
Numba leaves it off by default (``NUMBA_SLP_VECTORIZE=0``); the filter kernels lay a block of
channels out as the lanes of an unrolled loop, and SLP is what turns those lanes into AVX
vector instructions (about 1.8x faster than the loop vectoriser alone on the fused DE kernel).
The setting is raised only while one of these kernels compiles, and restored afterwards, so the
user's own Numba code compiles as they configured it.
"""

from __future__ import annotations

import contextlib
import threading

import numba
from numba.core import config as _config

__all__ = ["jit", "numba"]

_lock = threading.RLock()


@contextlib.contextmanager
def _slp_vectorize():
    # Numba reads config.SLP_VECTORIZE each time it builds an optimisation pipeline, i.e. within
    # the compilation of each function (and of every callee compiled on the way).
    with _lock:
        before = _config.SLP_VECTORIZE
        _config.SLP_VECTORIZE = 1
        try:
            yield
        finally:
            _config.SLP_VECTORIZE = before


def _with_slp(dispatcher):
    compile_ = dispatcher.compile

    def compile(sig):
        with _slp_vectorize():
            return compile_(sig)

    compile.__doc__ = compile_.__doc__
    dispatcher.compile = compile
    return dispatcher


def jit(*args, fastmath=None, **kwargs):
    """``numba.njit`` with ``nogil=True``, ``cache=True`` and SLP vectorisation.

    Kernels release the GIL; ``physioaffect._parallel`` runs them on a thread pool, so Numba's own
    parallel runtime is not used. ``fastmath`` defaults to ``{"contract"}``: fused multiply-adds
    only, no reassociation, so results stay within rounding of scipy's.
    """
    options = {
        "nogil": True,
        "cache": True,
        "fastmath": {"contract"} if fastmath is None else fastmath,
        "error_model": "numpy",
    }
    options.update(kwargs)
    if args and callable(args[0]):
        return _with_slp(numba.njit(**options)(args[0]))

    def decorate(func):
        return _with_slp(numba.njit(*args, **options)(func))

    return decorate
