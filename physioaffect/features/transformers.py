"""scikit-learn transformers over epochs: (n_epochs, n_channels, n_times) -> band features."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["DifferentialEntropy", "BandPower"]


class _EpochBandTransformer(TransformerMixin, BaseEstimator):
    """Shared fit/transform over epochs; subclasses define ``_compute(x3d) -> (n, ch, bands)``."""

    def fit(self, X, y=None):
        """Check ``X`` and remember its shape; nothing is learned.

        Parameters
        ----------
        X : array_like, shape (n_epochs, n_channels, n_times) or (n_epochs, n_times)
            A 2-D array is read as single-channel epochs.
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, allow_nd=True, dtype=np.float64, ensure_min_features=1)
        self._check_params()
        self.n_channels_ = 1 if X.ndim == 2 else X.shape[1]
        self.n_times_ = X.shape[-1]
        self.input_ndim_ = X.ndim
        return self

    def transform(self, X):
        """Band features of every epoch.

        Parameters
        ----------
        X : array_like, shape (n_epochs, n_channels, n_times) or (n_epochs, n_times)

        Returns
        -------
        Xt : ndarray
            (n_epochs, n_channels, n_bands); (n_epochs, n_channels * n_bands) with
            ``flatten=True``; (n_epochs, n_bands) for 2-D input.
        """
        check_is_fitted(self)
        X = validate_data(self, X, allow_nd=True, dtype=np.float64, reset=False)
        if X.ndim != self.input_ndim_ or X.shape[-1] != self.n_times_:
            raise ValueError(
                f"X has shape {X.shape[1:]} per epoch, but {type(self).__name__} was fitted on "
                f"epochs of {self.n_channels_} channel(s) x {self.n_times_} samples")
        x3d = X[:, None, :] if X.ndim == 2 else X
        out = self._compute(x3d)
        if X.ndim == 2:
            return out[:, 0, :]
        return out.reshape(len(out), -1) if self.flatten else out

    def _band_names(self):
        from .entropy import DEFAULT_BANDS, PRESETS

        if self.bands is not None:
            return [str(b) for b in self.bands]
        preset = getattr(self, "preset", None)
        return list(PRESETS[preset]["bands"] if preset else DEFAULT_BANDS)

    def get_feature_names_out(self, input_features=None):
        """Names ``"<channel>_<band>"`` of the flattened output columns."""
        check_is_fitted(self)
        bands = self._band_names()
        if self.input_ndim_ == 2:
            return np.asarray(bands, dtype=object)
        chans = (list(input_features) if input_features is not None
                 else [f"ch{i}" for i in range(self.n_channels_)])
        return np.asarray([f"{c}_{b}" for c in chans for b in bands], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags

    def _check_params(self):
        pass


class DifferentialEntropy(_EpochBandTransformer):
    """Differential entropy per (epoch, channel, band) as a scikit-learn transformer.

    Wraps :func:`physioaffect.features.differential_entropy` over whole epochs.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (required).
    bands : dict of str to (float, float), optional
        Band edges in Hz; default delta, theta, alpha, beta, gamma.
    zero_phase : bool, default=True
        Forward-backward filtering (epochs must be longer than the padding, 27 samples for
        order 4) or causal from rest.
    log_base : {"e", 2}, default="e"
    order : int, default=4
    preset : {"torcheeg", "rbtransformer"}, optional
        Published semantics; overrides ``zero_phase``, ``log_base``, ``order`` and ``bands``
        unless those are given explicitly. With a preset each epoch is filtered on its own.
    flatten : bool, default=False
        Return (n_epochs, n_channels * n_bands) for estimators that need 2-D input.

    Attributes
    ----------
    n_features_in_ : int
        Channels seen in ``fit`` (samples for 2-D input).
    n_channels_, n_times_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.features import DifferentialEntropy
    >>> X = np.random.default_rng(0).standard_normal((4, 14, 256))
    >>> DifferentialEntropy(sfreq=128.0).fit_transform(X).shape
    (4, 14, 5)
    """

    def __init__(self, sfreq=None, *, bands=None, zero_phase=True, log_base="e", order=4,
                 preset=None, flatten=False):
        self.sfreq = sfreq
        self.bands = bands
        self.zero_phase = zero_phase
        self.log_base = log_base
        self.order = order
        self.preset = preset
        self.flatten = flatten

    def _compute(self, x3d):
        from .entropy import differential_entropy

        kwargs = {}
        if self.preset is None:
            kwargs.update(zero_phase=self.zero_phase, log_base=self.log_base, order=self.order)
        return differential_entropy(x3d, self.sfreq, bands=self.bands, preset=self.preset,
                                    as_xarray=False, **kwargs)

    def _check_params(self):
        from .._validation import check_sfreq

        check_sfreq(self.sfreq)


class BandPower(_EpochBandTransformer):
    """Welch band power per (epoch, channel, band) as a scikit-learn transformer.

    Wraps :func:`physioaffect.features.band_power` over whole epochs.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (required).
    bands : dict of str to (float, float), optional
    nperseg : int, optional
        Welch segment length; default ``min(n_times, 2 s)``.
    relative : bool, default=False
        Fraction of the power over the span of all bands.
    log : bool, default=False
        Return ``log10`` of the power (a common input scaling for linear models).
    flatten : bool, default=False

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.features import BandPower
    >>> X = np.random.default_rng(0).standard_normal((4, 14, 256))
    >>> BandPower(sfreq=128.0, flatten=True).fit_transform(X).shape
    (4, 70)
    """

    def __init__(self, sfreq=None, *, bands=None, nperseg=None, relative=False, log=False,
                 flatten=False):
        self.sfreq = sfreq
        self.bands = bands
        self.nperseg = nperseg
        self.relative = relative
        self.log = log
        self.flatten = flatten

    def _compute(self, x3d):
        from .spectral import band_power

        p = band_power(x3d, self.sfreq, bands=self.bands, nperseg=self.nperseg,
                       relative=self.relative, as_xarray=False)
        if self.log:
            with np.errstate(divide="ignore"):
                p = np.log10(p)
        return p

    def _check_params(self):
        from .._validation import check_sfreq

        check_sfreq(self.sfreq)
