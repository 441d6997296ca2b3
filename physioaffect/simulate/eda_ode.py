r"""Skin conductance simulated from the first-order EDA dynamics of the multitask PINN.

The model (METHODS.md section 3.3, a proposal) is a leaky integrator with a time-varying decay:

.. math::

    \frac{d\,\mathrm{EDA}}{dt} = -\alpha(t)\,\mathrm{EDA}(t) + \beta^\top e(t),

with ``"linear-decay"`` :math:`\alpha(t) = \alpha_0 (1 + \gamma t)` or ``"exponential"``
:math:`\alpha(t) = \alpha_0 e^{\gamma t}`, drives :math:`e(t) \in \mathbb{R}^m` and weights
:math:`\beta \in \mathbb{R}^m`. Signals simulated here have known :math:`\alpha_0, \beta, \gamma`,
the ground truth against which :class:`physioaffect.nets.eda_pinn.EDAPINNet` is tested.

``sfreq`` is required: the rate of the drives and of the output.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_sfreq
from ..errors import InvalidParameterError
from .eeg import check_positive, check_random_state

__all__ = ["ODE_FORMS", "decay_rate", "eda_ode"]

#: Forms of the decay rate :math:`\alpha(t)`.
ODE_FORMS = ("linear-decay", "exponential")


def decay_rate(t, alpha0: float, gamma: float, form: str = "linear-decay") -> np.ndarray:
    r"""Decay rate :math:`\alpha(t)` of the EDA dynamics, in 1/s.

    Parameters
    ----------
    t : array-like
        Times in seconds.
    alpha0 : float
        Decay rate at :math:`t = 0`, 1/s.
    gamma : float
        Time scaling, 1/s.
    form : {"linear-decay", "exponential"}, default="linear-decay"
        :math:`\alpha_0 (1 + \gamma t)` or :math:`\alpha_0 e^{\gamma t}`.

    Returns
    -------
    alpha : ndarray
        Same shape as ``t``.

    Examples
    --------
    >>> decay_rate([0.0, 10.0], 0.1, 0.05).tolist()
    [0.1, 0.15000000000000002]
    """
    form = check_choice(form, ODE_FORMS, "form")
    t = np.asarray(t, dtype=np.float64)
    if form == "linear-decay":
        return alpha0 * (1.0 + gamma * t)
    return alpha0 * np.exp(gamma * t)


def eda_ode(drives, sfreq, *, alpha0, beta, gamma, form="linear-decay", eda0=None, t0=0.0,
            noise=0.0, substeps=8, random_state=None, return_clean=False):
    r"""Integrate the EDA dynamics for given drives, then add white measurement noise.

    The drives are held constant over each sampling interval :math:`[t_k, t_k + 1/f_s)` (a
    zero-order hold, as condition-wise self-reports are), and each interval is integrated with
    ``substeps`` classical Runge-Kutta (RK4) steps; the local error is
    :math:`O((\alpha / (f_s \cdot \mathrm{substeps}))^5)`, far below any realistic noise.

    Parameters
    ----------
    drives : array-like, shape (..., n_drives, n_times)
        Drive inputs :math:`e(t)` at ``sfreq``; a 1-D array is one drive.
    sfreq : float
        Sampling rate of ``drives`` and of the output, Hz (required).
    alpha0 : float > 0
        Decay rate at :math:`t = 0`, 1/s.
    beta : float or array-like, shape (n_drives,)
        Weight of each drive, EDA units per second per drive unit.
    gamma : float
        Time scaling of the decay, 1/s.
    form : {"linear-decay", "exponential"}, default="linear-decay"
        Form of :math:`\alpha(t)`; see :func:`decay_rate`.
    eda0 : float, array-like of shape (...) or None, default=None
        Value at the first sample; None starts at the equilibrium
        :math:`\beta^\top e(t_0) / \alpha(t_0)`.
    t0 : float, default=0.0
        Time of the first sample, seconds (enters :math:`\alpha(t)`).
    noise : float >= 0, default=0.0
        Standard deviation of the additive white Gaussian noise, EDA units.
    substeps : int >= 1, default=8
        RK4 steps per sampling interval.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the noise; equal seeds give identical output.
    return_clean : bool, default=False
        Also return the noiseless trajectory.

    Returns
    -------
    eda : ndarray, shape (..., n_times)
        Simulated signal (noisy when ``noise > 0``).
    clean : ndarray, shape (..., n_times)
        Only with ``return_clean``: the exact trajectory.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.ones((1, 400))  # one constant drive, 100 s at 4 Hz
    >>> x = eda_ode(e, 4.0, alpha0=0.2, beta=[0.4], gamma=0.0, eda0=0.0)
    >>> round(float(x[-1]), 4)  # approaches beta / alpha0 = 2
    2.0
    """
    sfreq = check_sfreq(sfreq)
    form = check_choice(form, ODE_FORMS, "form")
    alpha0 = check_positive(alpha0, "alpha0")
    noise = check_positive(noise, "noise", allow_zero=True)
    gamma = float(gamma)
    if isinstance(substeps, bool) or not isinstance(substeps, (int, np.integer)) or substeps < 1:
        raise InvalidParameterError(f"`substeps` must be an integer >= 1, got {substeps!r}")
    e = np.asarray(drives, dtype=np.float64)
    if e.ndim == 1:
        e = e[None]
    if e.ndim < 2 or e.shape[-1] < 1 or not np.all(np.isfinite(e)):
        raise InvalidParameterError(
            f"`drives` must be a finite array (..., n_drives, n_times), got shape {e.shape}")
    b = np.atleast_1d(np.asarray(beta, dtype=np.float64))
    if b.shape != (e.shape[-2],):
        raise InvalidParameterError(
            f"`beta` must have one weight per drive ({e.shape[-2]}), got shape {b.shape}")
    lead, n_times = e.shape[:-2], e.shape[-1]
    u = np.einsum("m,...mt->...t", b, e).reshape(-1, n_times)  # beta^T e(t), (batch, n_times)
    t = float(t0) + np.arange(n_times) / sfreq
    if eda0 is None:
        x = u[:, 0] / decay_rate(t[0], alpha0, gamma, form)
    else:
        x = np.broadcast_to(np.asarray(eda0, dtype=np.float64), lead).reshape(-1).copy()
    out = np.empty_like(u)
    out[:, 0] = x
    h = 1.0 / (sfreq * substeps)

    # alpha at the RK4 nodes t_k + j h / 2, j = 0 .. 2 substeps, of every interval at once
    nodes = t[:-1, None] + np.arange(2 * substeps + 1) * (h / 2)
    a = decay_rate(nodes, alpha0, gamma, form)
    for k in range(n_times - 1):
        uk = u[:, k]
        ak = a[k]
        for s in range(substeps):
            a1, a2, a3 = ak[2 * s], ak[2 * s + 1], ak[2 * s + 2]
            k1 = uk - a1 * x
            k2 = uk - a2 * (x + h / 2 * k1)
            k3 = uk - a2 * (x + h / 2 * k2)
            k4 = uk - a3 * (x + h * k3)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out[:, k + 1] = x
    clean = out.reshape(*lead, n_times)
    noisy = clean
    if noise > 0:
        rng = check_random_state(random_state)
        noisy = clean + noise * rng.standard_normal(clean.shape)
    return (noisy, clean) if return_clean else noisy
