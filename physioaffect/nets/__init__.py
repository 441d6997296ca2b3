"""Neural network models (PyTorch modules).

The published models (HiSTN, RBTransformer, the multitask EDA PINN, the sleep 1D vision transformer
and the cross-modal distillation students) live here, one module per model. Importing this package
does not import torch; each model module does, when one of its names is first used.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "HiSTN": "histn",
    "RBTransformer": "rbtransformer",
    "InterCorticalAttentionBlock": "rbtransformer",
    "ChebGraphFilter": "_graph",
    "count_parameters": "_common",
    "ParameterCount": "_common",
    "EDAPINNet": "eda_pinn",
    "pinn_loss": "eda_pinn",
    "SleepViT": "sleep_vit",
    "SleepViTBlock": "sleep_vit",
    "StochasticDepth": "sleep_vit",
    "survival_probabilities": "sleep_vit",
    "cls_relevance": "sleep_relevance",
    "relevance_over_time": "sleep_relevance",
    "patch_to_samples": "sleep_relevance",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
