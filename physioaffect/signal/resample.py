"""Rational-factor resampling of a recording that arrives in chunks.

:class:`StreamingResampler` gives, chunk by chunk, exactly the output of one
:func:`scipy.signal.resample_poly` call over the whole recording (default Kaiser window,
``padtype="constant"``): the polyphase FIR filter is applied to a sliding buffer that holds only
the input samples the next outputs still need.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._validation import check_signal
from ..errors import InvalidParameterError, InvalidSignalError

__all__ = ["StreamingResampler", "resample_factors"]


def resample_factors(sfreq: float, new_sfreq: float, *, max_denominator: int = 1000):
    """Up and down factors taking ``sfreq`` to ``new_sfreq`` exactly.

    Parameters
    ----------
    sfreq, new_sfreq : float
        Rates in Hz.
    max_denominator : int, default=1000
        Largest factor allowed.

    Returns
    -------
    up, down : int
        Coprime, with ``sfreq * up / down == new_sfreq``.

    Raises
    ------
    InvalidParameterError
        A rate that is not positive, or a ratio that no factors up to ``max_denominator`` give
        exactly (to 1e-9 relative).
    """
    for name, value in (("sfreq", sfreq), ("new_sfreq", new_sfreq)):
        if not (isinstance(value, (int, float, np.floating, np.integer)) and np.isfinite(value)
                and value > 0):
            raise InvalidParameterError(f"`{name}` must be a positive rate in Hz, got {value!r}")
    ratio = Fraction(float(new_sfreq) / float(sfreq)).limit_denominator(max_denominator)
    if ratio.numerator > max_denominator or abs(
            float(ratio) * sfreq - new_sfreq) > 1e-9 * new_sfreq:
        raise InvalidParameterError(
            f"cannot resample {sfreq:g} Hz to {new_sfreq:g} Hz with integer factors up to "
            f"{max_denominator}; choose a rate whose ratio to {sfreq:g} Hz is a simple fraction")
    return ratio.numerator, ratio.denominator


class StreamingResampler:
    """Resample by ``up / down`` chunk by chunk, as :func:`scipy.signal.resample_poly` would.

    Parameters
    ----------
    up, down : int
        Resampling factors (reduced by their greatest common divisor).
    n_channels : int
        Rows in every chunk.

    Attributes
    ----------
    n_samples_seen : int
        Input samples per channel given so far.
    n_samples_out : int
        Output samples per channel returned so far.

    Notes
    -----
    Output sample ``m`` depends on the input samples within the filter's half length (``10 *
    max(up, down)`` samples at the upsampled rate) of ``m * down / up``, so :meth:`process`
    returns what the input seen so far determines, and :meth:`finish` the rest (the input is
    taken as zero past its end, as scipy does). Concatenating every returned block equals
    ``scipy.signal.resample_poly(x, up, down, axis=-1)`` to rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.signal import resample_poly
    >>> x = np.random.default_rng(0).standard_normal((2, 1000))
    >>> r = StreamingResampler(2, 3, n_channels=2)
    >>> y = np.concatenate([r.process(x[:, :400]), r.process(x[:, 400:]), r.finish()], axis=-1)
    >>> bool(np.allclose(y, resample_poly(x, 2, 3, axis=-1)))
    True
    """

    def __init__(self, up: int, down: int, n_channels: int):
        for name, value in (("up", up), ("down", down), ("n_channels", n_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InvalidParameterError(f"`{name}` must be a positive integer, got {value!r}")
        from scipy.signal import firwin

        g = math.gcd(int(up), int(down))
        self.up, self.down = int(up) // g, int(down) // g
        self.n_channels = int(n_channels)
        self.identity = self.up == self.down == 1
        max_rate = max(self.up, self.down)
        half_len = 10 * max_rate
        if self.identity:  # scipy returns a copy of the input
            h = np.ones(1)
        else:
            h = firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * self.up
        n_pre_pad = self.down - half_len % self.down
        self._h = np.concatenate([np.zeros(n_pre_pad), h])
        self._remove = (half_len + n_pre_pad) // self.down
        self.reset()

    def reset(self) -> None:
        """Forget the buffered input: the next chunk starts a new recording."""
        self._buffer = np.zeros((self.n_channels, 0))
        self._buffer_start = 0
        self.n_samples_seen = 0
        self.n_samples_out = 0
        self._finished = False

    def _first_needed(self, m: int) -> int:
        # Lowest input index that output m depends on, floored to a multiple of ``down``.
        j = m + self._remove
        k = -((len(self._h) - 1 - j * self.down) // self.up)  # ceil((j*down - Lh + 1) / up)
        k = max(k, 0)
        return (k // self.down) * self.down

    def _emit(self, m_stop: int) -> np.ndarray:
        from scipy.signal import upfirdn

        m0 = self.n_samples_out
        if m_stop <= m0:
            return np.zeros((self.n_channels, 0))
        start = self._first_needed(m0)
        offset = start - self._buffer_start
        segment = self._buffer[:, offset:]
        y = upfirdn(self._h, segment, self.up, self.down, axis=-1)
        j0 = m0 + self._remove - start * self.up // self.down
        out = y[:, j0:j0 + (m_stop - m0)]
        if out.shape[1] != m_stop - m0:  # pad: zero input past the end gives zero output
            out = np.concatenate([out, np.zeros((self.n_channels, m_stop - m0 - out.shape[1]))],
                                 axis=-1)
        self.n_samples_out = m_stop
        keep = self._first_needed(m_stop) - self._buffer_start
        self._buffer = self._buffer[:, keep:]
        self._buffer_start += keep
        return out

    def process(self, chunk) -> np.ndarray:
        """Take the next chunk; return every output sample it completes.

        Parameters
        ----------
        chunk : array_like, shape (n_channels, n_chunk_times)

        Returns
        -------
        out : ndarray, shape (n_channels, n_new_out), float64
        """
        if self._finished:
            raise InvalidSignalError("the resampler has finished; call reset() to start again")
        chunk = check_signal(chunk, name="chunk", min_ndim=2, max_ndim=2)
        if chunk.shape[0] != self.n_channels:
            raise InvalidSignalError(
                f"`chunk` has {chunk.shape[0]} channels, the resampler was built for "
                f"{self.n_channels}")
        if self.identity:
            self.n_samples_seen += chunk.shape[1]
            self.n_samples_out += chunk.shape[1]
            return chunk.copy()
        self._buffer = np.concatenate([self._buffer, chunk], axis=-1)
        self.n_samples_seen += chunk.shape[1]
        m_stop = (self.n_samples_seen * self.up - 1) // self.down - self._remove + 1
        return self._emit(max(m_stop, self.n_samples_out))

    def finish(self) -> np.ndarray:
        """Return the output samples that remain once the input has ended.

        Returns
        -------
        out : ndarray, shape (n_channels, n_rest)
        """
        if self._finished or self.identity:
            self._finished = True
            return np.zeros((self.n_channels, 0))
        n_out = -(-self.n_samples_seen * self.up // self.down)
        out = self._emit(n_out)
        self._finished = True
        return out
