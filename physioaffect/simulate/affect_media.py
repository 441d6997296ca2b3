"""Simulated faces and sounds whose latent valence and arousal are known, and EEG of the same states.

For testing cross-modal distillation (METHODS.md sections 5 and 6): a teacher learns valence and
arousal from EEG simulated by :func:`physioaffect.simulate.eeg` for a set of latent states, and a
student learns from images or sounds rendered from the same kind of states.

- :func:`affect_states`: class labels (FER classes by default) and latent (valence, arousal) drawn
  around each class's cell centre on a valence x arousal grid.
- :func:`faces`: cartoon faces, (N, 3, size, size) in [0, 1]. Valence bends the mouth (smile vs
  frown) and tilts the brows (inner ends down when negative); arousal opens the eyes and the mouth
  and raises the brows. Nuisance: face position, size and colour, background colour, brightness and
  pixel noise.
- :func:`sounds`: tones, (N, n_times). Valence raises the pitch and moves the added third from
  minor to major; arousal speeds up the amplitude pulses and brightens the timbre (more energy in
  the upper harmonics) and raises the loudness. Nuisance: phase, pulse phase, pitch jitter, gain
  jitter and background noise.
- :func:`paired_eeg`: one EEG window per state, from :func:`physioaffect.simulate.eeg`.

Every function takes ``random_state``; equal seeds give equal output.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError
from .eeg import check_random_state

__all__ = ["affect_states", "faces", "sounds", "paired_eeg"]


def _va(valence, arousal):
    v = np.asarray(valence, dtype=np.float64).reshape(-1)
    a = np.asarray(arousal, dtype=np.float64).reshape(-1)
    if v.shape != a.shape:
        raise InvalidParameterError(f"`valence` and `arousal` must share a length, got {v.shape}, {a.shape}")
    if not (np.all(np.abs(v) <= 1) and np.all(np.abs(a) <= 1)):
        raise InvalidParameterError("latent `valence` and `arousal` must lie in [-1, 1]")
    return v, a


def affect_states(n: int, *, classes=None, cells=None, grid_shape=(5, 5), spread: float = 0.1,
                  random_state=None):
    """Balanced class labels and latent (valence, arousal) around each class's cell centre.

    Parameters
    ----------
    n : int
        Number of states.
    classes : sequence of str, optional
        Class names; default the eight FER classes
        (:data:`physioaffect.nets.distill.FER_CLASSES`).
    cells : dict of str to (int, int), optional
        Cell (valence bin, arousal bin) of each class; default
        :data:`physioaffect.nets.distill.DEFAULT_FER_CELLS`.
    grid_shape : (int, int), default=(5, 5)
        The grid spans [-1, 1] x [-1, 1].
    spread : float, default=0.1
        Standard deviation of the latent values around the cell centre (clipped to [-1, 1]).
    random_state : int, Generator or None

    Returns
    -------
    labels : ndarray of int, shape (n,)
        Class indices into ``classes`` (as equal in number as ``n`` allows, shuffled).
    valence, arousal : ndarray, shape (n,)
        Latent values in [-1, 1].

    Examples
    --------
    >>> y, v, a = affect_states(16, random_state=0)
    >>> np.bincount(y).tolist()
    [2, 2, 2, 2, 2, 2, 2, 2]
    """
    from ..nets.distill._fer import FER_CLASSES, fer_cell_mapping

    rng = check_random_state(random_state)
    classes = FER_CLASSES if classes is None else tuple(classes)
    flat = fer_cell_mapping(classes, cells, grid_shape)
    nv, na = (int(g) for g in grid_shape)
    vc = -1 + (2 * (flat // na) + 1) / nv
    ac = -1 + (2 * (flat % na) + 1) / na
    labels = rng.permutation(np.arange(int(n)) % len(classes))
    v = np.clip(vc[labels] + spread * rng.standard_normal(n), -1, 1)
    a = np.clip(ac[labels] + spread * rng.standard_normal(n), -1, 1)
    return labels.astype(np.int64), v, a


def _soft(d, width):
    """Soft inside indicator of a signed distance ``d`` (negative inside)."""
    return 1.0 / (1.0 + np.exp(np.clip(d / width, -50, 50)))


def faces(valence, arousal, *, size: int = 32, noise: float = 0.05, random_state=None):
    """Cartoon faces whose expression encodes valence and arousal.

    Parameters
    ----------
    valence, arousal : array-like, shape (n,)
        Latent values in [-1, 1].
    size : int, default=32
        Image side in pixels.
    noise : float, default=0.05
        Standard deviation of the additive pixel noise.
    random_state : int, Generator or None

    Returns
    -------
    ndarray of float32, shape (n, 3, size, size)
        RGB in [0, 1].
    """
    v, a = _va(valence, arousal)
    rng = check_random_state(random_state)
    n = len(v)
    px = 2.0 / size
    t = (np.arange(size) + 0.5) * px - 1.0
    Y, X = np.meshgrid(t, t, indexing="ij")  # y grows downwards
    cx = rng.uniform(-0.08, 0.08, n)[:, None, None]
    cy = rng.uniform(-0.08, 0.08, n)[:, None, None]
    s = rng.uniform(0.85, 0.97, n)[:, None, None]
    x = (X[None] - cx) / s
    y = (Y[None] - cy) / s
    vv, aa = v[:, None, None], a[:, None, None]
    w = px / s  # edge softness in face units
    face = _soft(np.sqrt((x / 0.8) ** 2 + (y / 0.95) ** 2) - 1.0, w)
    # eyes: ellipses whose height grows with arousal
    eye_h = 0.04 + 0.12 * (aa + 1) / 2
    eyes = np.zeros_like(x)
    for side in (-1, 1):
        d = np.sqrt(((x - side * 0.33) / 0.15) ** 2 + ((y + 0.22) / eye_h) ** 2) - 1.0
        eyes = np.maximum(eyes, _soft(d * np.minimum(0.15, eye_h), w))
    # brows: short bars above the eyes, raised by arousal, inner ends lowered by negative valence
    brows = np.zeros_like(x)
    for side in (-1, 1):
        u = (x - side * 0.33)
        centre = -0.47 - 0.1 * aa - 0.6 * vv * side * u
        d = np.maximum(np.abs(y - centre) - 0.035, np.abs(u) - 0.17)
        brows = np.maximum(brows, _soft(d, w))
    # mouth: a curve y = m0 - k (x^2 - x0^2), k > 0 a smile; opened by arousal
    k = 2.5 * vv
    m0 = 0.45
    half = 0.32 + 0.04 * aa
    curve = m0 - k * (x**2 - 0.05)
    opening = 0.03 + 0.1 * np.clip(aa, 0, None)
    d = np.maximum(np.abs(y - curve) - opening, np.abs(x) - half)
    mouth = _soft(d, w)
    features = np.clip(eyes + brows + mouth, 0, 1) * face
    bg = rng.uniform(0.0, 0.5, (n, 1)) + rng.uniform(-0.1, 0.1, (n, 3))
    skin = rng.uniform(0.7, 1.0, (n, 1)) * np.array([1.0, 0.85, 0.7]) + rng.uniform(-0.05, 0.05, (n, 3))
    ink = rng.uniform(0.0, 0.2, (n, 3))
    img = (bg[:, :, None, None] * (1 - face[:, None]) + skin[:, :, None, None] * face[:, None])
    img = img * (1 - features[:, None]) + ink[:, :, None, None] * features[:, None]
    img = img * rng.uniform(0.8, 1.2, (n, 1, 1, 1)) + noise * rng.standard_normal(img.shape)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def sounds(valence, arousal, *, sfreq: float = 8000.0, duration: float = 1.0,
           noise: float = 0.05, variability: float = 1.0, random_state=None):
    """Tones whose pitch, harmony, tempo, timbre and loudness encode valence and arousal.

    A note at :math:`f_0 = 220 \\cdot 2^{0.5 v + 0.2 s \\xi}` Hz (:math:`\\xi` standard normal, s
    = ``variability``: a speaker's own pitch) with 6 harmonics of amplitude
    :math:`h^{-(2.2 - 1.2 (a + 1) / 2)}` plus a third at :math:`f_0 \\cdot 2^{(3.5 + 0.5 v) / 12}`
    (minor at v = -1, major at v = 1), under an amplitude pulse of rate
    :math:`2 + 3 (a + 1) + 0.5 s \\xi'` Hz and overall gain
    :math:`(0.3 + 0.2 (a + 1) / 2)(1 + 0.3 s u)`, u uniform in [-1, 1].

    Parameters
    ----------
    valence, arousal : array-like, shape (n,)
        Latent values in [-1, 1].
    sfreq : float, default=8000.0
        Sampling rate in Hz.
    duration : float, default=1.0
        Seconds.
    noise : float, default=0.05
        Standard deviation of the white background noise.
    variability : float, default=1.0
        Scale of the nuisance variation of pitch, tempo and gain (0: none).
    random_state : int, Generator or None

    Returns
    -------
    ndarray of float32, shape (n, round(duration * sfreq))
    """
    from .._validation import check_sfreq

    v, a = _va(valence, arousal)
    sfreq = check_sfreq(sfreq)
    rng = check_random_state(random_state)
    n, m = len(v), int(round(duration * sfreq))
    tt = np.arange(m) / sfreq
    sv = float(variability)
    f0 = 220.0 * 2.0 ** (0.5 * v + 0.2 * sv * rng.standard_normal(n))
    third = f0 * 2.0 ** ((3.5 + 0.5 * v) / 12.0)
    tilt = 2.2 - 1.2 * (a + 1) / 2
    out = np.zeros((n, m))
    for h in range(1, 7):
        amp = (h ** -tilt)[:, None]
        for base in (f0, third):
            f = h * base
            ok = (f < sfreq / 2)[:, None]
            out += ok * amp * np.sin(2 * np.pi * f[:, None] * tt + rng.uniform(0, 2 * np.pi, (n, 1)))
    rate = np.maximum(2.0 + 3.0 * (a + 1) + 0.5 * sv * rng.standard_normal(n), 0.5)
    env = (0.5 + 0.5 * np.cos(2 * np.pi * rate[:, None] * tt + rng.uniform(0, 2 * np.pi, (n, 1)))) ** 2
    gain = (0.3 + 0.2 * (a + 1) / 2) * (1 + 0.3 * sv * rng.uniform(-1, 1, n))
    out = gain[:, None] * env * out / 3.0 + noise * rng.standard_normal((n, m))
    return out.astype(np.float32)


def paired_eeg(valence, arousal, *, montage="dreamer", sfreq=None, duration: float = 2.0,
               effect_size: float = 1.0, random_state=None, **kwargs):
    """One simulated EEG window per latent state, from :func:`physioaffect.simulate.eeg`.

    Parameters
    ----------
    valence, arousal : array-like, shape (n,)
        Latent values in [-1, 1], e.g. those of :func:`affect_states`.
    montage : str or Montage, default="dreamer"
    sfreq : float or None, default=None
        Default: the montage's rate.
    duration : float, default=2.0
        Seconds per window.
    effect_size : float, default=1.0
    random_state : int, Generator or None
    **kwargs
        Further arguments of :func:`physioaffect.simulate.eeg` (e.g. ``blink_rate``).

    Returns
    -------
    ndarray, shape (n, n_channels, n_times)
        EEG in volts.
    """
    from .eeg import eeg

    v, a = _va(valence, arousal)
    rng = check_random_state(random_state)
    seeds = rng.integers(0, 2**63 - 1, len(v))
    return np.stack([eeg(montage, sfreq=sfreq, duration=duration, valence=float(vi),
                         arousal=float(ai), effect_size=effect_size, random_state=int(s), **kwargs)
                     for vi, ai, s in zip(v, a, seeds, strict=True)])
