"""Features per (window, channel, band): differential entropy, band power, peripheral features.

Numba kernels and neurokit2 load when a function that needs them first runs.
"""

from __future__ import annotations

from .._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
