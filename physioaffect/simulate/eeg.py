"""Simulated scalp EEG with known spectral content and known affect effects.

The generator is linear in a few source families, each drawn in the frequency domain:

* background: spatially correlated pink (1/f) noise, correlation ``exp(-d / 5 cm)`` between
  electrodes ``d`` metres apart;
* alpha: a narrow-band rhythm at ``alpha_freq`` (Gaussian spectral peak, s.d. 0.6 Hz), one source
  common to all electrodes plus an independent one per electrode, weighted posteriorly;
* beta (14-30 Hz) and gamma (30-45 Hz, capped below Nyquist) band-limited noise;
* frontal-midline theta (Gaussian peak, s.d. 0.8 Hz), one source weighted by closeness to the
  frontal midline; absent from :func:`eeg`, present in every subject of
  :func:`physioaffect.simulate.study`;
* white sensor noise (none in :func:`eeg`);
* eye blinks: gamma-shaped deflections (peak after 0.12 s) at Poisson times, weighted by the
  distance from the eyes (``exp(-d / 4.5 cm)``, 1 at Fp1);
* line noise: a sinusoid at ``line_freq`` with a random gain per electrode.

Affect enters as gains on the source families (with ``e = effect_size``, valence ``v`` and arousal
``a`` in [-1, 1]):

* valence: frontal alpha asymmetry. The alpha amplitude of an electrode is multiplied by
  ``exp(0.5 v e x f)``, with ``x`` in [-1, 1] the electrode's lateral position (right positive) and
  ``f`` in [0, 1] its frontal weight, so positive valence lowers left-frontal alpha power and raises
  right-frontal alpha power: ``log(alpha_right) - log(alpha_left)`` grows with valence.
* arousal: alpha amplitude times ``exp(-0.35 a e)``, beta times ``exp(0.4 a e)``, gamma times
  ``exp(0.5 a e)``.

With ``effect_size=1`` the effects are larger than those reported for real recordings; they are
meant to be found reliably by tests and demonstrations. Use a smaller value for harder problems.

These are the gains of :func:`eeg`, one typical subject. :func:`physioaffect.simulate.study` draws
them per subject instead: alpha frequency and peak width, which frontal pairs carry the valence
asymmetry and how strongly, two further valence routes (lateral temporal beta/gamma and
frontal-midline theta), the split of arousal between beta and gamma, noise levels, and offsets
present only while a stimulus is watched.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
from dataclasses import dataclass

import numpy as np

from .._validation import check_sfreq
from ..errors import InvalidParameterError
from ..montage import Montage, _template_positions, get_montage

__all__ = ["eeg"]

# Source amplitudes (volts RMS before gains).
_BG_RMS = 10e-6
_ALPHA_RMS = 10e-6
_BETA_RMS = 2.5e-6
_GAMMA_RMS = 2.5e-6
_ALPHA_COMMON = 0.7          # share of alpha variance common to all electrodes
_ALPHA_WIDTH = 0.6           # Hz, s.d. of the alpha spectral peak
_THETA_WIDTH = 0.8           # Hz, s.d. of the frontal-midline theta peak
_BG_LENGTH = 0.05            # m, spatial correlation length of the background
_BLINK_LENGTH = 0.045        # m, decay length of blink amplitude with distance from the eyes
_BLINK_AMPLITUDE = 120e-6    # V, median blink amplitude at Fp1
_BLINK_PEAK = 0.12           # s, time from blink onset to peak
_BLINK_ORDER = 3.0           # shape of the gamma-shaped blink

# Affect gains (natural-log amplitude change per unit of valence or arousal at effect_size 1).
_K_VALENCE = 0.5
_K_AROUSAL_ALPHA = 0.35
_K_AROUSAL_BETA = 0.4
_K_AROUSAL_GAMMA = 0.5

# Eye positions in the template frame (x right, y anterior, z up; metres): 3.2 cm either side of the
# midline, behind and below the nasion.
_EYE_OFFSETS = np.array([[-0.032, -0.017, -0.007], [0.032, -0.017, -0.007]])


# --------------------------------------------------------------------------------------------------
# shared checks for the simulate package


def check_random_state(random_state) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from None, an int or a Generator.

    A Generator passed in is used as is, so its state advances.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InvalidParameterError(
                f"`random_state` must be a non-negative int, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise InvalidParameterError(
        "`random_state` must be None, a non-negative int or a numpy.random.Generator, "
        f"got {type(random_state).__name__}: {random_state!r}")


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float > 0 (or >= 0), or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < 0 or (value == 0 and not allow_zero):
        expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise InvalidParameterError(f"`{name}` must be {expected}, got {value!r}")
    return float(value)


def check_unit_interval(value, name: str) -> float:
    """Return ``value`` as a float in [-1, 1], or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not -1 <= value <= 1:
        raise InvalidParameterError(f"`{name}` must be a number in [-1, 1], got {value!r}")
    return float(value)


def n_samples(duration, sfreq: float, name: str = "duration") -> int:
    """Number of samples in ``duration`` seconds at ``sfreq`` Hz (at least one)."""
    duration = check_positive(duration, name)
    n = int(round(duration * sfreq))
    if n < 1:
        raise InvalidParameterError(
            f"`{name}` must last at least one sample (1/{sfreq:g} s), got {duration} s")
    return n


def single_threaded_blas():
    """Context limiting BLAS to one thread: the mixing products here are small, and BLAS threads
    on a busy machine cost more than they save."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def spectral_noise(rng: np.random.Generator, shape, n_times: int, sfreq: float,
                   amplitude: np.ndarray) -> np.ndarray:
    """Gaussian noise with a given amplitude spectrum, scaled to unit variance in expectation.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int
        Leading shape of the output.
    n_times : int
    sfreq : float
        Hz.
    amplitude : ndarray, shape (n_times // 2 + 1,)
        Amplitude spectrum on ``numpy.fft.rfftfreq(n_times, 1 / sfreq)``.

    Returns
    -------
    ndarray, shape (*shape, n_times // 2 + 1), complex
        rfft coefficients; ``numpy.fft.irfft(coef, n_times)`` has unit variance per sample.
    """
    shape = tuple(shape)
    n_freqs = n_times // 2 + 1
    coef = rng.standard_normal((*shape, n_freqs)) + 1j * rng.standard_normal((*shape, n_freqs))
    coef[..., 0] = coef[..., 0].real
    weights = np.full(n_freqs, 4.0)
    weights[0] = 1.0
    if n_times % 2 == 0:
        coef[..., -1] = coef[..., -1].real
        weights[-1] = 1.0
    power = np.sum(weights * amplitude**2) / n_times**2
    if power == 0:
        return np.zeros((*shape, n_freqs), dtype=complex)
    return coef * (amplitude / np.sqrt(power))


def band_shape(freqs: np.ndarray, low: float, high: float, taper: float = 2.0) -> np.ndarray:
    """Amplitude 1 in [low, high] with raised-cosine edges of width ``taper`` Hz, 0 elsewhere."""
    out = np.zeros_like(freqs)
    out[(freqs >= low) & (freqs <= high)] = 1.0
    lo = (freqs > low - taper) & (freqs < low)
    out[lo] = 0.5 - 0.5 * np.cos(np.pi * (freqs[lo] - (low - taper)) / taper)
    hi = (freqs > high) & (freqs < high + taper)
    out[hi] = 0.5 + 0.5 * np.cos(np.pi * (freqs[hi] - high) / taper)
    return out


# --------------------------------------------------------------------------------------------------
# geometry


@functools.lru_cache(maxsize=1)
def _head_sphere() -> tuple[np.ndarray, float]:
    """Centre (m) and radius (m) of the sphere fitted to the template 10-05 positions."""
    pos = np.array(list(_template_positions()["ch_pos"].values()))
    design = np.c_[2 * pos, np.ones(len(pos))]
    sol = np.linalg.lstsq(design, (pos**2).sum(axis=1), rcond=None)[0]
    centre = sol[:3]
    return centre, float(np.sqrt(sol[3] + centre @ centre))


@dataclass(frozen=True)
class _Layout:
    """Per-montage spatial weights, all shape (n_channels,) or (n_channels, n_channels)."""

    background_mix: np.ndarray   # Cholesky factor of the background correlation
    alpha_weight: np.ndarray     # posterior-dominant alpha weight in [0.3, 1]
    lateral: np.ndarray          # x / radius, clipped to [-1, 1], right positive
    frontal: np.ndarray          # frontal weight in [0, 1]
    temporal: np.ndarray         # lateral temporal weight in [0, 1] (about 0.9 at T7 and T8)
    midfrontal: np.ndarray       # frontal-midline weight in [0, 1] (about 1 at Fz)
    blink_weight: np.ndarray     # 1 at Fp1, decaying away from the eyes
    distance: np.ndarray         # electrode distances, m


def layout(montage: Montage) -> _Layout:
    """Spatial weights of the simulator for one montage."""
    pos = montage.positions
    centre, radius = _head_sphere()
    unit = (pos - centre) / radius
    distance = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    corr = np.exp(-distance / _BG_LENGTH)
    background_mix = np.linalg.cholesky(corr + 1e-9 * np.eye(len(pos)))
    posterior = 1.0 / (1.0 + np.exp(6.0 * unit[:, 1]))
    frontal = 1.0 / (1.0 + np.exp(-6.0 * (unit[:, 1] - 0.2)))
    temporal = (np.exp(-(unit[:, 1] / 0.5) ** 2)
                / (1.0 + np.exp(-12.0 * (np.abs(unit[:, 0]) - 0.7)))
                / (1.0 + np.exp(8.0 * (unit[:, 2] - 0.5))))
    nasion = _template_positions()["nasion"]
    eyes = nasion + _EYE_OFFSETS

    def blink(points):
        d = np.linalg.norm(points[:, None, :] - eyes[None, :, :], axis=-1)
        return np.exp(-d / _BLINK_LENGTH).sum(axis=1)

    reference = blink(_template_positions()["ch_pos"]["fp1"][None, :])[0]
    return _Layout(
        background_mix=background_mix,
        alpha_weight=0.3 + 0.7 * posterior,
        lateral=np.clip(unit[:, 0], -1.0, 1.0),
        frontal=frontal,
        temporal=temporal,
        midfrontal=np.exp(-(unit[:, 0] / 0.5) ** 2) * frontal,
        blink_weight=blink(pos) / reference,
        distance=distance,
    )


# --------------------------------------------------------------------------------------------------
# generator


@dataclass(frozen=True)
class _Profile:
    """Per-subject constants of the generator (see ``study``).

    The affect gains are natural-log amplitude changes per unit of valence or arousal at
    ``effect_size`` 1; :func:`default_profile` holds the values :func:`eeg` uses.
    """

    gain: np.ndarray             # (n_channels,) amplifier / electrode gain
    mixing: np.ndarray | None    # (n_channels, n_channels) extra volume conduction, or None
    alpha_trait: np.ndarray      # (n_channels,) log alpha amplitude offsets (trait asymmetry)
    alpha_freq: float            # Hz
    valence_alpha: np.ndarray    # (n_channels,) log alpha gain per unit valence
    valence_fast: np.ndarray     # (n_channels,) log beta and gamma gain per unit valence
    arousal_alpha: float = _K_AROUSAL_ALPHA   # log alpha loss per unit arousal
    arousal_beta: float = _K_AROUSAL_BETA     # log beta gain per unit arousal
    arousal_gamma: float = _K_AROUSAL_GAMMA   # log gamma gain per unit arousal
    alpha_width: float = _ALPHA_WIDTH         # Hz, s.d. of the alpha peak
    alpha_scale: float = 1.0
    background_scale: float = 1.0
    sensor_noise: float = 0.0    # V RMS of white noise per electrode
    fast_trait: np.ndarray | float = 0.0   # (n_channels,) log beta and gamma amplitude offsets
    theta_rms: float = 0.0       # V RMS of the frontal-midline theta rhythm at full weight
    theta_freq: float = 6.0      # Hz
    valence_theta: float = 0.0   # log frontal-midline theta gain per unit valence
    blink_rate: float = 12.0     # per minute


def default_profile(lay: _Layout, *, gain: np.ndarray, alpha_freq: float,
                    blink_rate: float) -> _Profile:
    """The profile of :func:`eeg`: the module's fixed affect gains, no subject variation."""
    n_ch = gain.shape[0]
    return _Profile(gain=gain, mixing=None, alpha_trait=np.zeros(n_ch), alpha_freq=alpha_freq,
                    valence_alpha=_K_VALENCE * lay.lateral * lay.frontal,
                    valence_fast=np.zeros(n_ch), blink_rate=blink_rate)


def _blinks(rng, n_times, sfreq, rate_per_min) -> np.ndarray:
    """Blink time course at Fp1, shape (n_times,), volts."""
    out = np.zeros(n_times)
    if rate_per_min == 0:
        return out
    duration = n_times / sfreq
    mean_interval = 60.0 / rate_per_min
    n_max = int(duration / mean_interval * 2 + 10)
    onsets = np.cumsum(0.5 + rng.exponential(max(mean_interval - 0.5, 1e-3), n_max))
    onsets = onsets - rng.uniform(0, mean_interval)
    onsets = onsets[(onsets >= 0) & (onsets < duration)]
    amplitudes = _BLINK_AMPLITUDE * rng.lognormal(0.0, 0.3, onsets.size)
    index = np.minimum((onsets * sfreq).astype(np.intp), n_times - 1)
    np.add.at(out, index, amplitudes)
    t = np.arange(int(np.ceil(1.0 * sfreq))) / sfreq / _BLINK_PEAK
    kernel = t**_BLINK_ORDER * np.exp(_BLINK_ORDER * (1.0 - t))
    return np.convolve(out, kernel)[:n_times]


def simulate(montage: Montage, lay: _Layout, profile: _Profile, *, sfreq: float, n_times: int,
             valence: float, arousal: float, effect_size: float, line_freq: float | None,
             line_noise: float, rng: np.random.Generator) -> np.ndarray:
    """One recording, shape (n_channels, n_times), volts. Inputs are already validated."""
    n_ch = montage.n_channels
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    nyquist = sfreq / 2.0
    e = effect_size

    pink = np.zeros_like(freqs)
    pink[1:] = 1.0 / np.sqrt(np.maximum(freqs[1:], 1.0))
    alpha_shape = np.exp(-0.5 * ((freqs - profile.alpha_freq) / profile.alpha_width) ** 2)
    beta_shape = band_shape(freqs, 14.0, min(30.0, 0.9 * nyquist))
    gamma_shape = (band_shape(freqs, 30.0, min(45.0, 0.9 * nyquist))
                   if 30.0 < 0.9 * nyquist else np.zeros_like(freqs))

    background = lay.background_mix @ spectral_noise(rng, (n_ch,), n_times, sfreq, pink)
    background *= _BG_RMS * profile.background_scale

    alpha_sources = spectral_noise(rng, (n_ch + 1,), n_times, sfreq, alpha_shape)
    alpha = (np.sqrt(_ALPHA_COMMON) * alpha_sources[:1]
             + np.sqrt(1.0 - _ALPHA_COMMON) * alpha_sources[1:])
    log_alpha_gain = (profile.alpha_trait
                      + e * (valence * profile.valence_alpha - arousal * profile.arousal_alpha))
    alpha *= (_ALPHA_RMS * profile.alpha_scale * lay.alpha_weight
              * np.exp(log_alpha_gain))[:, None]

    beta = lay.background_mix @ spectral_noise(rng, (n_ch,), n_times, sfreq, beta_shape)
    log_fast_gain = profile.fast_trait + valence * e * profile.valence_fast
    beta *= (_BETA_RMS * profile.background_scale
             * np.exp(profile.arousal_beta * arousal * e + log_fast_gain))[:, None]
    gamma = spectral_noise(rng, (n_ch,), n_times, sfreq, gamma_shape)
    gamma *= (_GAMMA_RMS * profile.background_scale
              * np.exp(profile.arousal_gamma * arousal * e + log_fast_gain))[:, None]

    spectrum = background + alpha + beta + gamma
    if profile.theta_rms > 0:
        theta_shape = np.exp(-0.5 * ((freqs - profile.theta_freq) / _THETA_WIDTH) ** 2)
        theta = spectral_noise(rng, (1,), n_times, sfreq, theta_shape)
        spectrum = spectrum + theta * (profile.theta_rms * lay.midfrontal
                                       * np.exp(valence * e * profile.valence_theta))[:, None]
    if profile.mixing is not None:
        spectrum = profile.mixing @ spectrum
    data = np.fft.irfft(spectrum, n=n_times, axis=-1)

    data += lay.blink_weight[:, None] * _blinks(rng, n_times, sfreq, profile.blink_rate)[None, :]
    if profile.sensor_noise > 0:
        data += profile.sensor_noise * rng.standard_normal(data.shape)
    data *= profile.gain[:, None]
    if line_freq is not None and line_noise > 0:
        t = np.arange(n_times) / sfreq
        channel_gain = rng.uniform(0.7, 1.3, n_ch)
        phase = rng.uniform(0, 2 * np.pi) + rng.normal(0, 0.1, n_ch)
        data += (line_noise * channel_gain)[:, None] * np.sin(
            2 * np.pi * line_freq * t[None, :] + phase[:, None])
    return data


def check_line(line_freq, line_noise, sfreq):
    """Validate the line-noise parameters; return (line_freq or None, line_noise)."""
    line_noise = check_positive(line_noise, "line_noise", allow_zero=True)
    if line_freq is None or line_noise == 0:
        return None, line_noise
    line_freq = check_positive(line_freq, "line_freq")
    if line_freq >= sfreq / 2:
        raise InvalidParameterError(
            f"`line_freq` must be below the Nyquist frequency {sfreq / 2:g} Hz at sfreq={sfreq:g}, "
            f"got {line_freq:g} Hz; pass line_noise=0 or line_freq=None to leave line noise out")
    return line_freq, line_noise


def check_alpha_freq(alpha_freq, sfreq):
    alpha_freq = check_positive(alpha_freq, "alpha_freq")
    if not 4.0 <= alpha_freq <= min(16.0, 0.45 * sfreq):
        raise InvalidParameterError(
            f"`alpha_freq` must lie in [4, {min(16.0, 0.45 * sfreq):g}] Hz at sfreq={sfreq:g}, "
            f"got {alpha_freq:g}")
    return alpha_freq


def eeg(montage="dreamer", *, sfreq=None, duration=60.0, valence=0.0, arousal=0.0,
        effect_size=1.0, subject_gain=None, line_freq=50.0, line_noise=2e-6, blink_rate=12.0,
        alpha_freq=10.0, random_state=None, as_xarray=False):
    """Simulate one scalp EEG recording with known spectral content and affect effects.

    Parameters
    ----------
    montage : {"dreamer", "deap", "seed"} or Montage, default="dreamer"
        Electrode set; positions drive the spatial structure.
    sfreq : float or None, default=None
        Sampling rate in Hz; None takes the montage's ``sfreq_default`` (128 Hz for DREAMER and
        DEAP, 200 Hz for SEED).
    duration : float, default=60.0
        Seconds; n_times = round(duration * sfreq).
    valence, arousal : float in [-1, 1], default=0.0
        Latent affect. Valence drives frontal alpha asymmetry, arousal drives beta and gamma up
        and alpha down (see the module notes for the gains).
    effect_size : float >= 0, default=1.0
        Multiplier of both affect effects; 0 gives no affect effect.
    subject_gain : array-like of shape (n_channels,) or None, default=None
        Positive gain per channel applied to the whole signal (electrode and amplifier gain).
    line_freq : float or None, default=50.0
        Mains frequency in Hz; must be below Nyquist unless ``line_noise`` is 0.
    line_noise : float >= 0, default=2e-6
        Peak amplitude of the mains sinusoid in volts (per channel times a random gain in
        [0.7, 1.3]).
    blink_rate : float >= 0, default=12.0
        Mean number of eye blinks per minute.
    alpha_freq : float, default=10.0
        Peak frequency of the alpha rhythm in Hz, in [4, 16].
    random_state : int, numpy.random.Generator or None, default=None
        Seed; equal seeds give identical output.
    as_xarray : bool, default=False
        Return an :class:`xarray.DataArray` instead of an array.

    Returns
    -------
    ndarray of shape (n_channels, n_times), float64, or xarray.DataArray
        EEG in volts (background about 10 µV RMS, posterior alpha about 10 µV RMS, blinks about
        120 µV at Fp1). The DataArray has dims ("channel", "time"), coords channel names and time
        in seconds, and attrs ``sfreq``, ``units`` ("V"), ``montage``, ``valence``, ``arousal``.

    Raises
    ------
    InvalidParameterError
        On an unknown montage, a non-positive duration or sfreq, valence or arousal outside
        [-1, 1], a line frequency at or above Nyquist, or a gain of the wrong shape.

    See Also
    --------
    physioaffect.simulate.study : many subjects and trials with rated affect.

    Examples
    --------
    >>> x = eeg("dreamer", sfreq=128.0, duration=2.0, random_state=0)
    >>> x.shape
    (14, 256)
    """
    mont = get_montage(montage)
    sfreq = mont.sfreq_default if sfreq is None else check_sfreq(sfreq)
    n_times = n_samples(duration, sfreq)
    valence = check_unit_interval(valence, "valence")
    arousal = check_unit_interval(arousal, "arousal")
    effect_size = check_positive(effect_size, "effect_size", allow_zero=True)
    blink_rate = check_positive(blink_rate, "blink_rate", allow_zero=True)
    alpha_freq = check_alpha_freq(alpha_freq, sfreq)
    line_freq, line_noise = check_line(line_freq, line_noise, sfreq)
    if subject_gain is None:
        gain = np.ones(mont.n_channels)
    else:
        gain = np.asarray(subject_gain, dtype=np.float64)
        if gain.shape != (mont.n_channels,) or not np.all(np.isfinite(gain)) or np.any(gain <= 0):
            raise InvalidParameterError(
                f"`subject_gain` must be {mont.n_channels} positive finite gains, one per channel "
                f"of montage {mont.name!r}, got shape {gain.shape}")
    rng = check_random_state(random_state)
    lay = layout(mont)
    profile = default_profile(lay, gain=gain, alpha_freq=alpha_freq, blink_rate=blink_rate)
    with single_threaded_blas():
        data = simulate(mont, lay, profile, sfreq=sfreq, n_times=n_times,
                        valence=valence, arousal=arousal, effect_size=effect_size,
                        line_freq=line_freq, line_noise=line_noise, rng=rng)
    if not as_xarray:
        return data
    import xarray as xr

    return xr.DataArray(
        data, dims=("channel", "time"),
        coords={"channel": list(mont.ch_names), "time": np.arange(n_times) / sfreq},
        attrs={"sfreq": sfreq, "units": "V", "montage": mont.name, "valence": valence,
               "arousal": arousal},
    )
