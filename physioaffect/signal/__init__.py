"""Signal core: SOS filter design (scipy) and Numba filtering kernels, one-shot or streaming."""

from .filters import (
    bandpass_sos,
    butter_sos,
    check_sos,
    default_padlen,
    filter_bank,
    highpass_sos,
    lowpass_sos,
    notch_sos,
    sosfilt,
    sosfilt_zi,
    sosfiltfilt,
)
from .resample import StreamingResampler, resample_factors
from .streaming import StreamingFilter

__all__ = [
    "StreamingFilter",
    "StreamingResampler",
    "bandpass_sos",
    "butter_sos",
    "check_sos",
    "default_padlen",
    "filter_bank",
    "highpass_sos",
    "lowpass_sos",
    "notch_sos",
    "resample_factors",
    "sosfilt",
    "sosfilt_zi",
    "sosfiltfilt",
]
