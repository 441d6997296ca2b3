"""Features per (window, channel, band): differential entropy, band power, peripheral features.

Numba kernels and neurokit2 load when a function that needs them first runs.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DEFAULT_BANDS": "entropy",
    "PRESETS": "entropy",
    "differential_entropy": "entropy",
    "de_from_variance": "entropy",
    "band_power": "spectral",
    "relative_band_power": "spectral",
    "DifferentialEntropy": "transformers",
    "BandPower": "transformers",
    "eda_features": "peripheral",
    "eda_decompose": "peripheral",
    "ppg_features": "peripheral",
    "respiration_features": "peripheral",
    "band_de_tokens": "tokens",
    "eda_inputs": "eda_inputs",
    "wesad_eda_inputs": "eda_inputs",
    "EDAInputs": "eda_inputs",
    "prepare_psg_epochs": "psg_inputs",
    "read_psg_epochs": "psg_inputs",
    "hypnogram_epochs": "psg_inputs",
    "map_stage": "psg_inputs",
    "stage_codes": "psg_inputs",
    "FlatChannelWarning": "psg_inputs",
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
