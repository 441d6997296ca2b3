r"""The audio student: a log-mel front end in torch, a compact CNN backbone (or any torch module,
e.g. a wav2vec 2.0 model), a valence/arousal(/dominance) regression head and a categorical head.

The regression head follows the released "Dawn of the transformer era" model (METHODS.md 6a.2):
dropout, a square linear layer, tanh, dropout, a linear layer to the dimensions. Everything runs in
torch: no filter bank or model is downloaded.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ..._validation import check_sfreq
from ...errors import InvalidParameterError, InvalidSignalError
from .._common import check_int, check_prob
from .face import feature_size, pooled

__all__ = ["hz_to_mel", "mel_to_hz", "mel_filterbank", "LogMel", "AudioCNN", "AudioStudentNet"]


def hz_to_mel(f):
    r"""HTK mel scale: :math:`m = 2595 \log_{10}(1 + f / 700)`."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    r"""Inverse of :func:`hz_to_mel`: :math:`f = 700 (10^{m / 2595} - 1)`."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sfreq: float, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None, *, norm: str | None = None) -> np.ndarray:
    r"""Triangular mel filters on the bins of a one-sided FFT.

    With ``n_mels + 2`` frequencies :math:`f_0 < \dots < f_{M+1}` equally spaced on the HTK mel
    scale between ``fmin`` and ``fmax``, and the bin frequencies :math:`\nu_k = k f_s / N`,

    .. math:: H_m(\nu_k) = \max\Big(0, \min\Big(\frac{\nu_k - f_{m-1}}{f_m - f_{m-1}},
              \frac{f_{m+1} - \nu_k}{f_{m+1} - f_m}\Big)\Big), \quad m = 1, \dots, M.

    ``norm="slaney"`` scales filter m by :math:`2 / (f_{m+1} - f_{m-1})` (equal area).

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    n_fft : int
        FFT length N; there are ``n_fft // 2 + 1`` bins.
    n_mels : int
    fmin : float, default=0.0
    fmax : float, optional
        Default ``sfreq / 2``.
    norm : {None, "slaney"}, default=None

    Returns
    -------
    ndarray, shape (n_fft // 2 + 1, n_mels)
    """
    sfreq = check_sfreq(sfreq)
    n_fft = check_int(n_fft, "n_fft", minimum=2)
    n_mels = check_int(n_mels, "n_mels")
    fmax = sfreq / 2 if fmax is None else float(fmax)
    if not 0 <= float(fmin) < fmax <= sfreq / 2:
        raise InvalidParameterError(
            f"mel filters need 0 <= fmin < fmax <= sfreq / 2 = {sfreq / 2}, got fmin={fmin}, fmax={fmax}")
    if norm not in (None, "slaney"):
        raise InvalidParameterError(f"`norm` must be None or 'slaney', got {norm!r}")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    nu = np.arange(n_fft // 2 + 1) * sfreq / n_fft
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    up = (nu[:, None] - lo) / (mid - lo)
    down = (hi - nu[:, None]) / (hi - mid)
    fb = np.maximum(0.0, np.minimum(up, down))
    if norm == "slaney":
        fb = fb * (2.0 / (hi - lo))
    return fb


class LogMel(nn.Module):
    r"""Log-mel spectrogram in torch.

    .. math:: S_{mt} = \log\Big(\sum_k H_m(\nu_k)\, |X_{kt}|^2 + \epsilon\Big), \quad
              X_{kt} = \sum_{n=0}^{N-1} w_n\, x_{tR + n - N/2}\, e^{-2\pi i k n / N}

    with :math:`w` the periodic Hann window of N = ``n_fft`` samples, hop R = ``hop_length``, the
    signal padded by reflection with N/2 samples at each end (``torch.stft(center=True)``), and
    :math:`H` from :func:`mel_filterbank`.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (required).
    n_fft : int, default=512
    hop_length : int, optional
        Default ``n_fft // 4``.
    n_mels : int, default=64
    fmin : float, default=0.0
    fmax : float, optional
        Default ``sfreq / 2``.
    eps : float, default=1e-6
        :math:`\epsilon`.
    norm : {None, "slaney"}, default=None

    Shapes:
        - input: (batch, n_times) or (batch, 1, n_times)
        - output: (batch, 1, n_mels, 1 + n_times // hop_length)

    Examples
    --------
    >>> import torch
    >>> LogMel(16000.0, n_fft=400, hop_length=160, n_mels=40)(torch.zeros(2, 16000)).shape
    torch.Size([2, 1, 40, 101])
    """

    def __init__(self, sfreq: float, *, n_fft: int = 512, hop_length: int | None = None,
                 n_mels: int = 64, fmin: float = 0.0, fmax: float | None = None,
                 eps: float = 1e-6, norm: str | None = None):
        super().__init__()
        self.sfreq = check_sfreq(sfreq)
        self.n_fft = check_int(n_fft, "n_fft", minimum=2)
        self.hop_length = check_int(hop_length if hop_length is not None else self.n_fft // 4,
                                    "hop_length")
        self.n_mels = check_int(n_mels, "n_mels")
        self.eps = float(eps)
        fb = mel_filterbank(self.sfreq, self.n_fft, self.n_mels, fmin, fmax, norm=norm)
        self.register_buffer("filterbank", torch.as_tensor(fb, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 3 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 2:
            raise InvalidSignalError(
                f"LogMel input must have shape (batch, n_times), got {tuple(x.shape)}")
        if x.shape[1] <= self.n_fft // 2:
            raise InvalidSignalError(
                f"LogMel needs more than n_fft / 2 = {self.n_fft // 2} samples, got {x.shape[1]}")
        with torch.autocast(x.device.type, enabled=False):  # float32 even under AMP
            spec = torch.stft(x.float(), self.n_fft, self.hop_length, window=self.window.float(),
                              center=True, pad_mode="reflect", return_complex=True)
            power = spec.real**2 + spec.imag**2  # (batch, n_freqs, frames)
            mel = torch.einsum("bft,fm->bmt", power, self.filterbank.float())
            return torch.log(mel + self.eps).unsqueeze(1)

    def extra_repr(self) -> str:
        return (f"sfreq={self.sfreq:g}, n_fft={self.n_fft}, hop_length={self.hop_length}, "
                f"n_mels={self.n_mels}")


class AudioCNN(nn.Module):
    r"""Compact CNN over log-mel spectrograms.

    Four blocks of 3x3 convolution, batch norm, ReLU and 2x2 max pooling (widths w, 2w, 4w, 4w;
    pooling stops once an axis has length 1), then global average pooling: features of size 4w.

    Parameters
    ----------
    width : int, default=16
        w.
    in_channels : int, default=1

    Shapes:
        - input: (batch, in_channels, n_mels, frames)
        - output: (batch, 4 * width)
    """

    def __init__(self, width: int = 16, in_channels: int = 1):
        super().__init__()
        self.width = check_int(width, "width")
        w = self.width
        chans = [check_int(in_channels, "in_channels"), w, 2 * w, 4 * w, 4 * w]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False),
                          nn.BatchNorm2d(chans[i + 1]), nn.ReLU())
            for i in range(4))
        self.out_features = 4 * w

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
            if x.shape[-1] > 1 or x.shape[-2] > 1:
                x = nn.functional.max_pool2d(x, (min(2, x.shape[-2]), min(2, x.shape[-1])))
        return x.mean(dim=(2, 3))


class AudioStudentNet(nn.Module):
    r"""Audio emotion student: front end, backbone, dimensional and categorical heads.

    .. math:: z = f(\mathrm{LogMel}(x)), \quad
              \hat y = W_2\, \mathrm{Drop}(\tanh(W_1\, \mathrm{Drop}(z) + b_1)) + b_2, \quad
              \mathrm{logits} = W_c z + b_c

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (required).
    n_dims : int, default=2
        Regressed dimensions: (valence, arousal), or 3 with dominance.
    n_classes : int, default=0
        Categorical classes; 0 for no categorical head.
    backbone : torch.nn.Module, optional
        Any module mapping the front end's output (or the raw waveform when ``frontend=None``) to
        features (batch, d), (batch, time, d) (averaged over time) or a transformers output
        (``last_hidden_state`` averaged over time), e.g. ``Wav2Vec2Model``. Default
        :class:`AudioCNN`.
    frontend : {"logmel", None}, default="logmel"
        None passes the waveform (batch, n_times) to the backbone unchanged.
    n_times : int, default=16000
        Samples of the example input used to measure a user backbone's feature size.
    n_fft, hop_length, n_mels, fmin, fmax : see :class:`LogMel`
        Defaults 512, n_fft // 4, 64, 0, sfreq / 2.
    width : int, default=16
        Width of the built-in :class:`AudioCNN`.
    drop_prob : float, default=0.1

    Shapes:
        - input: (batch, n_times)
        - output: dict ``{"va": (batch, n_dims)}``, plus ``"logits": (batch, n_classes)`` when
          ``n_classes > 0``

    Examples
    --------
    >>> import torch
    >>> net = AudioStudentNet(8000.0, n_classes=4, n_fft=256, n_mels=32, width=8)
    >>> out = net(torch.randn(2, 8000))
    >>> out["va"].shape, out["logits"].shape
    (torch.Size([2, 2]), torch.Size([2, 4]))
    """

    def __init__(self, sfreq: float, *, n_dims: int = 2, n_classes: int = 0,
                 backbone: nn.Module | None = None, frontend: str | None = "logmel",
                 n_times: int = 16000, n_fft: int = 512, hop_length: int | None = None,
                 n_mels: int = 64, fmin: float = 0.0, fmax: float | None = None, width: int = 16,
                 drop_prob: float = 0.1):
        super().__init__()
        self.sfreq = check_sfreq(sfreq)
        self.n_dims = check_int(n_dims, "n_dims")
        self.n_classes = check_int(n_classes, "n_classes", minimum=0)
        self.drop_prob = check_prob(drop_prob, "drop_prob")
        if frontend not in ("logmel", None):
            raise InvalidParameterError(f"`frontend` must be 'logmel' or None, got {frontend!r}")
        self.frontend = (LogMel(self.sfreq, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                                fmin=fmin, fmax=fmax) if frontend == "logmel" else None)
        if backbone is None:
            backbone = AudioCNN(width=width)
            d = backbone.out_features
        else:
            example = torch.zeros(2, check_int(n_times, "n_times", minimum=2))
            if self.frontend is not None:
                example = self.frontend(example)
            d = feature_size(backbone, example)
        self.backbone = backbone
        self.feature_dim = int(d)
        p = self.drop_prob
        self.regressor = nn.Sequential(nn.Dropout(p), nn.Linear(d, d), nn.Tanh(), nn.Dropout(p),
                                       nn.Linear(d, self.n_dims))
        self.classifier = nn.Linear(d, self.n_classes) if self.n_classes else None

    def features(self, x: Tensor) -> Tensor:
        """Backbone features z, shape (batch, feature_dim)."""
        if self.frontend is not None:
            x = self.frontend(x)
        return pooled(self.backbone(x))

    def forward(self, x: Tensor) -> dict:
        z = self.features(x)
        out = {"va": self.regressor(z)}
        if self.classifier is not None:
            out["logits"] = self.classifier(z)
        return out

    def extra_repr(self) -> str:
        return (f"sfreq={self.sfreq:g}, n_dims={self.n_dims}, n_classes={self.n_classes}, "
                f"feature_dim={self.feature_dim}")
