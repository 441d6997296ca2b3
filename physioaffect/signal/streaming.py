"""Causal filtering of a recording that arrives in chunks, state carried from chunk to chunk."""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_signal
from ..errors import InvalidParameterError, InvalidSignalError
from .filters import check_sos, sosfilt, sosfilt_zi

__all__ = ["StreamingFilter"]


class StreamingFilter:
    """Apply second-order sections chunk by chunk, carrying the filter delays across chunks.

    Feeding a recording in any number of chunks gives exactly the output of one
    :func:`physioaffect.signal.sosfilt` call over the whole recording (with the same initial state).

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
        Filter as second-order sections (see :func:`physioaffect.signal.butter_sos`).
    n_channels : int
        Number of channels (rows) in every chunk.
    init : {"zeros", "steady"}, default="zeros"
        Initial delays: zero (scipy's ``sosfilt`` default), or the step-response steady state scaled
        by each channel's first sample (suppresses the onset transient of a DC offset).
    backend : {"numba", "scipy"}, default="numba"

    Attributes
    ----------
    zi : ndarray, shape (n_sections, n_channels, 2)
        Current delays; ``None`` until the first chunk when ``init="steady"``.
    n_samples_seen : int
        Samples processed so far per channel.

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.signal import StreamingFilter, bandpass_sos, sosfilt
    >>> sos = bandpass_sos(8.0, 14.0, sfreq=128.0)
    >>> x = np.random.default_rng(0).standard_normal((3, 1000))
    >>> f = StreamingFilter(sos, n_channels=3)
    >>> y = np.concatenate([f.process(x[:, :300]), f.process(x[:, 300:])], axis=-1)
    >>> bool(np.array_equal(y, sosfilt(sos, x)))
    True
    """

    def __init__(self, sos, n_channels: int, *, init: str = "zeros", backend: str = "numba"):
        self.sos = check_sos(sos)
        if isinstance(n_channels, bool) or not isinstance(n_channels, (int, np.integer)) or n_channels < 1:
            raise InvalidParameterError(f"`n_channels` must be a positive integer, got {n_channels!r}")
        self.n_channels = int(n_channels)
        self.init = check_choice(init, ("zeros", "steady"), "init")
        self.backend = check_choice(backend, ("numba", "scipy"), "backend")
        self.reset()

    def reset(self) -> None:
        """Forget the carried state: the next chunk starts a new recording."""
        n_sections = self.sos.shape[0]
        self.zi = np.zeros((n_sections, self.n_channels, 2)) if self.init == "zeros" else None
        self.n_samples_seen = 0

    def process(self, chunk) -> np.ndarray:
        """Filter the next chunk.

        Parameters
        ----------
        chunk : array_like, shape (n_channels, n_chunk_times)

        Returns
        -------
        out : ndarray, shape (n_channels, n_chunk_times), float64
        """
        chunk = check_signal(chunk, name="chunk", min_ndim=2, max_ndim=2)
        if chunk.shape[0] != self.n_channels:
            raise InvalidSignalError(
                f"`chunk` has {chunk.shape[0]} channels, the filter was built for {self.n_channels}")
        if chunk.shape[1] == 0:
            return chunk.copy()
        if self.zi is None:
            self.zi = sosfilt_zi(self.sos)[:, None, :] * chunk[None, :, :1]
        out, self.zi = sosfilt(self.sos, chunk, zi=self.zi, backend=self.backend)
        self.n_samples_seen += chunk.shape[1]
        return out

    def __repr__(self) -> str:
        return (f"StreamingFilter(n_sections={self.sos.shape[0]}, n_channels={self.n_channels}, "
                f"init={self.init!r}, n_samples_seen={self.n_samples_seen})")
