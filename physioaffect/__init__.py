"""physioaffect: physiological recordings to emotion, stress and sleep predictions.

Subpackages load on first use, so ``import physioaffect`` pulls in neither torch, mne, numba nor
torch_geometric::

    import physioaffect as pa
    de = pa.features.differential_entropy(x, sfreq=128.0, window=1.0)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "datasets",
    "errors",
    "estimators",
    "evaluation",
    "features",
    "io",
    "montage",
    "nets",
    "preprocess",
    "signal",
    "simulate",
    "training",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'physioaffect' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
