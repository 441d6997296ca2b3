"""Neural network models (PyTorch modules).

The published models (HiSTN, RBTransformer, the multitask EDA PINN, the sleep 1D vision transformer
and the cross-modal distillation students) live here, one module per model. Importing this package
does not import torch; each model module does, when one of its names is first used.
"""

from __future__ import annotations

from .._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
