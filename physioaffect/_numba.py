"""The one place that imports Numba, with the library's defaults.

Import this module only from modules that hold kernels, never from ``physioaffect/__init__.py``,
so that ``import physioaffect`` stays fast.
"""

from __future__ import annotations

import numba

__all__ = ["jit", "numba"]


def jit(*args, fastmath=None, **kwargs):
    """``numba.njit`` with ``nogil=True`` and ``cache=True``.

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
        return numba.njit(**options)(args[0])
    return numba.njit(*args, **options)
