r"""EEG topographic maps and the topomap teacher of NeuroGaze-Distill (METHODS.md 5.1, step 1).

The teacher sees per-band differential entropy (DE) interpolated onto a 2-D scalp grid and regresses
valence and arousal. The paper's construction is not public; this module's:

- **Projection.** Electrode positions (MNE's template montage, :func:`physioaffect.get_montage`)
  are projected azimuthally and equidistantly about the vertex, as MNE draws topomaps: a unit
  direction :math:`u` from the head origin goes to
  :math:`r (\cos\phi, \sin\phi)` with :math:`r = \arccos u_z` and :math:`\phi = \mathrm{atan2}(u_y, u_x)`,
  then the coordinates are scaled so that the farthest electrode lies at radius ``extent``
  (default 0.9) of the unit disc that the grid covers.
- **Interpolation.** Inside the convex hull of the electrodes, linear (barycentric) interpolation
  on their Delaunay triangulation, which reproduces any linear field exactly; inside the head disc
  but outside the hull, inverse-distance weighting of the ``n_neighbors`` nearest electrodes; 0
  outside the disc. All of it is one fixed matrix ``W`` (grid points x electrodes), so a batch of
  maps is one matrix product.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ...errors import InvalidParameterError
from ...montage import Montage, get_montage
from .._common import check_int, check_prob

__all__ = ["scalp_coordinates", "Topomap", "TopomapCNN"]


def scalp_coordinates(montage, *, extent: float = 0.9) -> np.ndarray:
    """2-D azimuthal equidistant coordinates of a montage's electrodes, in the unit disc.

    Parameters
    ----------
    montage : {"dreamer", "deap", "seed"}, Montage or array-like of shape (n_channels, 3)
        Electrode set, or 3-D positions (metres, head frame: x right, y nasion, z up).
    extent : float in (0, 1], default=0.9
        Radius of the farthest electrode.

    Returns
    -------
    ndarray, shape (n_channels, 2)
        (x, y): x towards the right ear, y towards the nose.
    """
    if isinstance(montage, (str, Montage)):
        pos = get_montage(montage).positions
    else:
        pos = np.asarray(montage, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3 or len(pos) < 3:
        raise InvalidParameterError(f"positions must have shape (n_channels >= 3, 3), got {pos.shape}")
    if not 0 < float(extent) <= 1:
        raise InvalidParameterError(f"`extent` must be in (0, 1], got {extent!r}")
    u = pos / np.linalg.norm(pos, axis=1, keepdims=True)
    r = np.arccos(np.clip(u[:, 2], -1.0, 1.0))
    phi = np.arctan2(u[:, 1], u[:, 0])
    xy = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    return xy * (float(extent) / np.max(np.linalg.norm(xy, axis=1)))


class Topomap:
    r"""Interpolation of per-electrode values onto a square scalp grid.

    .. math:: M[g] = \sum_c W_{gc}\, x_c

    with the rows of :math:`W` barycentric weights of the Delaunay triangle that holds grid point g
    (inside the electrodes' hull), inverse-distance weights
    :math:`w_c \propto d_{gc}^{-2}` of the ``n_neighbors`` nearest electrodes (outside the hull,
    inside the head disc), or zeros (outside the disc). Every row inside the disc sums to 1.

    Parameters
    ----------
    montage : {"dreamer", "deap", "seed"}, Montage or array-like of shape (n_channels, 2)
        Electrode set, or 2-D coordinates in the unit disc (e.g. from :func:`scalp_coordinates`).
    size : int, default=32
        Grid points per side; the grid spans [-1, 1] in x and y.
    extent : float, default=0.9
        See :func:`scalp_coordinates`.
    n_neighbors : int, default=3
        Electrodes used outside the hull.

    Attributes
    ----------
    coords : ndarray, shape (n_channels, 2)
    grid : ndarray, shape (size * size, 2)
        (x, y) of each grid point, row-major with y increasing down the rows
        (``grid.reshape(size, size, 2)[i, j] = (xs[j], ys[i])``).
    weights : ndarray, shape (size * size, n_channels)
        :math:`W`.
    mask : ndarray of bool, shape (size, size)
        Grid points inside the head disc.

    Examples
    --------
    >>> import numpy as np
    >>> topo = Topomap("dreamer", size=16)
    >>> topo(np.ones((2, 14, 5))).shape  # (batch, channels, bands) -> (batch, bands, H, W)
    (2, 5, 16, 16)
    """

    def __init__(self, montage="dreamer", *, size: int = 32, extent: float = 0.9,
                 n_neighbors: int = 3):
        self.size = check_int(size, "size", minimum=2)
        self.n_neighbors = check_int(n_neighbors, "n_neighbors")
        arr = None if isinstance(montage, (str, Montage)) else np.asarray(montage, dtype=np.float64)
        if arr is not None and arr.ndim == 2 and arr.shape[1] == 2:
            self.coords = arr.copy()
        else:
            self.coords = scalp_coordinates(montage, extent=extent)
        self.n_channels = len(self.coords)
        ticks = np.linspace(-1.0, 1.0, self.size)
        X, Y = np.meshgrid(ticks, ticks)
        self.grid = np.stack([X.ravel(), Y.ravel()], axis=1)
        inside = np.linalg.norm(self.grid, axis=1) <= 1.0 + 1e-9
        self.mask = inside.reshape(self.size, self.size)
        self.weights = self.interpolation_matrix(self.grid)
        self.weights[~inside] = 0.0

    def interpolation_matrix(self, points) -> np.ndarray:
        """Weights that interpolate the electrodes' values at arbitrary 2-D points.

        Parameters
        ----------
        points : array-like, shape (n_points, 2)

        Returns
        -------
        ndarray, shape (n_points, n_channels)
            Rows sum to 1.
        """
        from scipy.spatial import Delaunay

        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        tri = Delaunay(self.coords)
        simplex = tri.find_simplex(pts, tol=1e-12)
        W = np.zeros((len(pts), self.n_channels))
        hit = simplex >= 0
        if hit.any():
            T = tri.transform[simplex[hit]]  # (n, 3, 2): inverse affine map and offset
            b = np.einsum("nij,nj->ni", T[:, :2], pts[hit] - T[:, 2])
            bary = np.concatenate([b, 1.0 - b.sum(axis=1, keepdims=True)], axis=1)
            rows = np.flatnonzero(hit)
            W[rows[:, None], tri.simplices[simplex[hit]]] = bary
        miss = np.flatnonzero(~hit)
        if len(miss):
            k = min(self.n_neighbors, self.n_channels)
            d = np.linalg.norm(pts[miss, None, :] - self.coords[None], axis=2)
            near = np.argsort(d, axis=1)[:, :k]
            dn = np.take_along_axis(d, near, axis=1)
            w = 1.0 / np.maximum(dn, 1e-9) ** 2
            w /= w.sum(axis=1, keepdims=True)
            W[miss[:, None], near] = w
        return W

    def __call__(self, values):
        """Maps of per-electrode values.

        Parameters
        ----------
        values : ndarray or Tensor, shape (..., n_channels, n_bands)
            E.g. DE per (window, channel, band) from
            :func:`physioaffect.features.differential_entropy`.

        Returns
        -------
        ndarray or Tensor (as given), shape (..., n_bands, size, size)
            float32.
        """
        is_tensor = isinstance(values, Tensor)
        x = values.detach().cpu().double().numpy() if is_tensor else np.asarray(values, dtype=np.float64)
        if x.ndim < 2 or x.shape[-2] != self.n_channels:
            raise InvalidParameterError(
                f"values must have shape (..., n_channels={self.n_channels}, n_bands), got {x.shape}")
        maps = np.einsum("gc,...cb->...bg", self.weights, x)
        maps = maps.reshape(*x.shape[:-2], x.shape[-1], self.size, self.size).astype(np.float32)
        return torch.from_numpy(maps) if is_tensor else maps

    def __repr__(self) -> str:
        return f"<Topomap {self.n_channels} channels -> {self.size} x {self.size}>"


class TopomapCNN(nn.Module):
    r"""Small CNN on EEG topographic maps that regresses valence and arousal: the EEG teacher of
    `"NeuroGaze-Distill: Brain-informed Distillation and Depression-Inspired Geometric Priors for
    Robust Facial Emotion Recognition" <https://arxiv.org/abs/2509.11916>`_ (architecture chosen
    here; the paper's is not public).

    Three blocks of 3x3 convolution, batch norm and ReLU (widths w, 2w, 4w), the first two followed
    by 2x2 max pooling, then global average pooling and the embedding
    :math:`e = \mathrm{ReLU}(W_e h + b_e) \in \mathbb{R}^{E}`, then the head
    :math:`\hat y = W_o\, \mathrm{Drop}(e) + b_o`. The embedding (the input of ``head``) is what
    :func:`~physioaffect.nets.distill.embed` returns and the prototypes average.

    Parameters
    ----------
    n_bands : int, default=5
        Input maps per window (one per DE band).
    n_outputs : int, default=2
        Regression targets (valence, arousal).
    size : int, default=32
        Side of the input maps (at least 4).
    width : int, default=16
        w.
    embed_dim : int, default=32
        E.
    drop_prob : float, default=0.1
        Dropout before the head.

    Shapes:
        - input: (batch, n_bands, size, size)
        - output: (batch, n_outputs)

    Examples
    --------
    >>> import torch
    >>> net = TopomapCNN(n_bands=5, size=16)
    >>> net(torch.randn(3, 5, 16, 16)).shape
    torch.Size([3, 2])
    """

    def __init__(self, n_bands: int = 5, n_outputs: int = 2, *, size: int = 32, width: int = 16,
                 embed_dim: int = 32, drop_prob: float = 0.1):
        super().__init__()
        self.n_bands = check_int(n_bands, "n_bands")
        self.n_outputs = check_int(n_outputs, "n_outputs")
        self.size = check_int(size, "size", minimum=4)
        self.width = check_int(width, "width")
        self.embed_dim = check_int(embed_dim, "embed_dim")
        self.drop_prob = check_prob(drop_prob, "drop_prob")
        w = self.width

        def block(cin, cout, pool):
            layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
            if pool:
                layers.append(nn.MaxPool2d(2))
            return nn.Sequential(*layers)

        self.features = nn.Sequential(block(self.n_bands, w, True), block(w, 2 * w, True),
                                      block(2 * w, 4 * w, False), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten())
        self.embedding = nn.Sequential(nn.Linear(4 * w, self.embed_dim), nn.ReLU())
        self.drop = nn.Dropout(self.drop_prob)
        self.head = nn.Linear(self.embed_dim, self.n_outputs)
        self.reset_parameters()

    def get_config(self) -> dict:
        """Constructor arguments, for checkpoints."""
        return {"n_bands": self.n_bands, "n_outputs": self.n_outputs, "size": self.size,
                "width": self.width, "embed_dim": self.embed_dim, "drop_prob": self.drop_prob}

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation of every layer."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def embed(self, x: Tensor) -> Tensor:
        """Embedding e of a batch of maps, shape (batch, embed_dim)."""
        if x.ndim != 4 or x.shape[1] != self.n_bands:
            raise InvalidParameterError(
                f"TopomapCNN input must have shape (batch, n_bands={self.n_bands}, H, W), got "
                f"{tuple(x.shape)}")
        return self.embedding(self.features(x))

    def forward(self, x: Tensor) -> Tensor:
        """Valence and arousal of a batch of maps, shape (batch, n_outputs)."""
        return self.head(self.drop(self.embed(x)))

    def extra_repr(self) -> str:
        return (f"n_bands={self.n_bands}, n_outputs={self.n_outputs}, size={self.size}, "
                f"width={self.width}, embed_dim={self.embed_dim}")
