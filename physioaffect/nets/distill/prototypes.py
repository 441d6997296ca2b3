r"""The valence x arousal prototype grid of NeuroGaze-Distill (METHODS.md section 5.1, step 2).

A teacher embeds labelled validation windows; the windows are binned on a grid of valence x arousal
cells (5 x 5 in the paper); each cell's prototype is the mean embedding of its windows,
L2-normalised; cells without a window are filled from their neighbours. The grid is then frozen and
guides the student (:func:`~physioaffect.nets.distill.losses.proto_kd_cosine`).

Aggregation rule (the paper's is not public; this is the library's choice):

1. optionally centre: subtract the mean embedding over all windows (``center=True``). Teacher
   embeddings after a ReLU share a large common component, which would make every pair of
   prototypes nearly parallel; centring keeps only what varies with affect. The centre is stored and
   applied to any embedding compared with the grid (:meth:`PrototypeGrid.normalize`).
2. bin: window i goes to cell ``(iv, ia)`` with ``v_edges[iv] <= v_i < v_edges[iv + 1]`` (the last
   bin includes its upper edge); values beyond the outer edges go to the outer bins.
3. average and L2-normalise per cell.
4. fill: in passes, every empty cell with at least one filled cell among its 8 neighbours takes
   the mean of those neighbours (values of the previous pass, so the result does not depend on the
   order of the cells), re-normalised; repeated until every cell is filled.
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidParameterError

__all__ = ["PrototypeGrid", "embed"]

_KIND = "physioaffect.prototype_grid"


def _edges(edges, n_bins, value_range, name):
    if edges is None:
        lo, hi = (float(v) for v in value_range)
        if not hi > lo:
            raise InvalidParameterError(f"`value_range` must be (low, high) with low < high, got {value_range!r}")
        return np.linspace(lo, hi, int(n_bins) + 1)
    out = np.asarray(edges, dtype=np.float64)
    if out.ndim != 1 or len(out) < 2 or not np.all(np.diff(out) > 0) or not np.all(np.isfinite(out)):
        raise InvalidParameterError(
            f"`{name}` must be at least 2 strictly increasing finite edges, got {edges!r}")
    return out


def _bin(values, edges):
    inner = edges[1:-1]
    return np.searchsorted(inner, np.asarray(values, dtype=np.float64), side="right")


def _normalize_rows(x, eps=1e-12):
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, eps)


class PrototypeGrid:
    r"""Frozen prototypes on a valence x arousal grid.

    Build one with :meth:`from_embeddings`; save and load it with :meth:`save` and :meth:`load`.

    Parameters
    ----------
    prototypes : ndarray, shape (n_valence, n_arousal, n_features)
        One unit vector per cell.
    v_edges : ndarray, shape (n_valence + 1,)
        Valence bin edges, increasing.
    a_edges : ndarray, shape (n_arousal + 1,)
        Arousal bin edges, increasing.
    counts : ndarray of int, shape (n_valence, n_arousal), optional
        Windows averaged in each cell (0 for a filled cell); default zeros.
    center : ndarray, shape (n_features,) or None, default=None
        Mean embedding subtracted before averaging (None: no centring).

    Attributes
    ----------
    shape : (int, int)
        ``(n_valence, n_arousal)``.
    n_features : int
    flat : ndarray, shape (n_valence * n_arousal, n_features)
        Prototypes cell-major: flat index ``iv * n_arousal + ia``.
    filled : ndarray of bool, shape (n_valence, n_arousal)
        Cells whose prototype came from the neighbour fill.
    provenance : dict
        Provenance read from a file (empty for a grid built in memory).

    Examples
    --------
    >>> import numpy as np
    >>> emb = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    >>> grid = PrototypeGrid.from_embeddings(emb, [0.1, 0.2, 0.9], [0.1, 0.1, 0.9], n_bins=2,
    ...                                      value_range=(0, 1), center=False)
    >>> grid.prototypes[0, 0], grid.prototypes[1, 1]
    (array([1., 0.]), array([0., 1.]))
    >>> grid.prototypes[0, 1]  # filled: mean of its neighbours (1, 0) and (0, 1), normalised
    array([0.70710678, 0.70710678])
    """

    def __init__(self, prototypes, v_edges, a_edges, counts=None, center=None):
        protos = np.asarray(prototypes, dtype=np.float64)
        if protos.ndim != 3:
            raise InvalidParameterError(
                f"`prototypes` must have shape (n_valence, n_arousal, n_features), got {protos.shape}")
        self.prototypes = protos
        self.v_edges = _edges(v_edges, None, None, "v_edges")
        self.a_edges = _edges(a_edges, None, None, "a_edges")
        if (len(self.v_edges) - 1, len(self.a_edges) - 1) != protos.shape[:2]:
            raise InvalidParameterError(
                f"{len(self.v_edges)} valence and {len(self.a_edges)} arousal edges make a "
                f"{len(self.v_edges) - 1} x {len(self.a_edges) - 1} grid, but `prototypes` has "
                f"shape {protos.shape}")
        self.counts = (np.zeros(protos.shape[:2], dtype=np.int64) if counts is None
                       else np.asarray(counts, dtype=np.int64).reshape(protos.shape[:2]))
        self.center = None if center is None else np.asarray(center, dtype=np.float64).reshape(-1)
        if self.center is not None and len(self.center) != protos.shape[2]:
            raise InvalidParameterError(
                f"`center` must have {protos.shape[2]} values, got {len(self.center)}")
        self.provenance = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def from_embeddings(cls, embeddings, valence, arousal, *, v_edges=None, a_edges=None,
                        n_bins: int = 5, value_range=(1.0, 5.0), center: bool = True):
        r"""Bin embeddings by valence and arousal, average, normalise and fill.

        .. math:: p_{uv} = \frac{m_{uv}}{\lVert m_{uv} \rVert}, \quad
                  m_{uv} = \frac{1}{|I_{uv}|} \sum_{i \in I_{uv}} (e_i - \bar e)

        with :math:`I_{uv}` the windows of cell (u, v) and :math:`\bar e` the mean embedding
        (0 without centring); empty cells are filled as the module docstring describes.

        Parameters
        ----------
        embeddings : array-like, shape (n_windows, n_features)
            Teacher embeddings of validation windows (see :func:`embed`).
        valence, arousal : array-like, shape (n_windows,)
            The windows' ratings or latent values.
        v_edges, a_edges : array-like, optional
            Bin edges; default ``n_bins`` equal bins over ``value_range``.
        n_bins : int, default=5
        value_range : (float, float), default=(1.0, 5.0)
            DREAMER's rating scale; (-1, 1) for the simulator's latent values.
        center : bool, default=True
            Subtract the mean embedding first.

        Returns
        -------
        PrototypeGrid

        Raises
        ------
        InvalidParameterError
            On mismatched lengths, non-finite values, or when no window falls in any cell.
        """
        emb = np.asarray(embeddings, dtype=np.float64)
        v = np.asarray(valence, dtype=np.float64).reshape(-1)
        a = np.asarray(arousal, dtype=np.float64).reshape(-1)
        if emb.ndim != 2 or not (len(emb) == len(v) == len(a)) or len(emb) == 0:
            raise InvalidParameterError(
                "`embeddings` (n_windows, n_features), `valence` and `arousal` (n_windows,) must "
                f"share one non-zero length, got {emb.shape}, {v.shape}, {a.shape}")
        if not (np.all(np.isfinite(emb)) and np.all(np.isfinite(v)) and np.all(np.isfinite(a))):
            raise InvalidParameterError("`embeddings`, `valence` and `arousal` must be finite")
        if isinstance(n_bins, bool) or int(n_bins) != n_bins or n_bins < 1:
            raise InvalidParameterError(f"`n_bins` must be an integer >= 1, got {n_bins!r}")
        ve = _edges(v_edges, n_bins, value_range, "v_edges")
        ae = _edges(a_edges, n_bins, value_range, "a_edges")
        nv, na, d = len(ve) - 1, len(ae) - 1, emb.shape[1]
        mean = emb.mean(axis=0) if center else None
        x = emb - mean if center else emb
        iv, ia = _bin(v, ve), _bin(a, ae)
        sums = np.zeros((nv, na, d))
        counts = np.zeros((nv, na), dtype=np.int64)
        np.add.at(sums, (iv, ia), x)
        np.add.at(counts, (iv, ia), 1)
        protos = np.zeros_like(sums)
        have = counts > 0
        protos[have] = _normalize_rows(sums[have] / counts[have][:, None])
        protos = fill_from_neighbours(protos, have)
        return cls(protos, ve, ae, counts=counts, center=mean)

    # ------------------------------------------------------------------ using
    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.prototypes.shape[:2])

    @property
    def n_features(self) -> int:
        return int(self.prototypes.shape[2])

    @property
    def flat(self) -> np.ndarray:
        return self.prototypes.reshape(-1, self.n_features)

    @property
    def filled(self) -> np.ndarray:
        return self.counts == 0

    def cell_index(self, valence, arousal) -> np.ndarray:
        """Flat cell index ``iv * n_arousal + ia`` of each (valence, arousal) pair.

        Values beyond the outer edges go to the outer cells.
        """
        iv = _bin(np.asarray(valence, dtype=np.float64), self.v_edges)
        ia = _bin(np.asarray(arousal, dtype=np.float64), self.a_edges)
        return (iv * self.shape[1] + ia).astype(np.int64)

    def cell_centers(self) -> np.ndarray:
        """(valence, arousal) centre of every cell, shape (n_cells, 2), flat order."""
        vc = (self.v_edges[:-1] + self.v_edges[1:]) / 2
        ac = (self.a_edges[:-1] + self.a_edges[1:]) / 2
        V, A = np.meshgrid(vc, ac, indexing="ij")
        return np.stack([V.ravel(), A.ravel()], axis=1)

    def normalize(self, embeddings) -> np.ndarray:
        """Embeddings centred like the grid's and L2-normalised, shape (n, n_features)."""
        x = np.asarray(embeddings, dtype=np.float64)
        if self.center is not None:
            x = x - self.center
        return _normalize_rows(x)

    def nearest_cell(self, embeddings) -> np.ndarray:
        """Flat index of the most cosine-similar prototype of each embedding."""
        return np.argmax(self.normalize(embeddings) @ self.flat.T, axis=1)

    def tensor(self, device=None, dtype=None):
        """The flat prototypes as a torch tensor without gradient, shape (n_cells, n_features)."""
        import torch

        return torch.as_tensor(self.flat, dtype=dtype or torch.float32, device=device).detach()

    def __repr__(self) -> str:
        return (f"<PrototypeGrid {self.shape[0]} x {self.shape[1]} cells, {self.n_features} "
                f"features, {int(self.filled.sum())} filled from neighbours>")

    # ------------------------------------------------------------------ files
    def to_xarray(self):
        """The grid as an :class:`xarray.Dataset` (variables prototypes, counts, edges, center)."""
        import xarray as xr

        nv, na = self.shape
        vc = (self.v_edges[:-1] + self.v_edges[1:]) / 2
        ac = (self.a_edges[:-1] + self.a_edges[1:]) / 2
        ds = xr.Dataset(
            {
                "prototypes": (("valence", "arousal", "feature"), self.prototypes),
                "counts": (("valence", "arousal"), self.counts),
                "valence_edges": (("valence_edge",), self.v_edges),
                "arousal_edges": (("arousal_edge",), self.a_edges),
            },
            coords={"valence": vc, "arousal": ac, "feature": np.arange(self.n_features)},
            attrs={"kind": _KIND, "centered": int(self.center is not None)},
        )
        if self.center is not None:
            ds["center"] = (("feature",), self.center)
        return ds

    def save(self, path, *, provenance=None, overwrite: bool = False):
        """Write the grid to NetCDF (atomically) with provenance.

        Parameters
        ----------
        path : str or Path
        provenance : dict, optional
            E.g. the teacher's checkpoint identity and the data it saw; stored as
            ``provenance_*`` attributes by :func:`physioaffect.io.store.save_features`. The grid's
            own shape and edges are added under ``parameters``.
        overwrite : bool, default=False

        Returns
        -------
        pathlib.Path
        """
        from ...io.store import save_features

        prov = dict(provenance or {})
        params = {"grid_shape": list(self.shape), "n_features": self.n_features,
                  "v_edges": self.v_edges.tolist(), "a_edges": self.a_edges.tolist(),
                  "centered": self.center is not None}
        if "parameters" in prov and isinstance(prov["parameters"], dict):
            params = {**params, **prov["parameters"]}
        prov["parameters"] = params
        return save_features(self.to_xarray(), path, provenance=prov, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        """Read a grid written by :meth:`save`; its provenance goes to ``provenance``.

        Raises
        ------
        InvalidParameterError
            If the file does not hold a prototype grid.
        """
        from ...io.store import PROVENANCE_PREFIX, load_features

        ds = load_features(path)
        if not hasattr(ds, "data_vars") or ds.attrs.get("kind") != _KIND:
            raise InvalidParameterError(f"{str(path)!r} does not hold a physioaffect prototype grid")
        center = ds["center"].values if "center" in ds else None
        grid = cls(ds["prototypes"].values, ds["valence_edges"].values, ds["arousal_edges"].values,
                   counts=ds["counts"].values, center=center)
        grid.provenance = {k[len(PROVENANCE_PREFIX):]: v for k, v in ds.attrs.items()
                           if str(k).startswith(PROVENANCE_PREFIX)}
        grid.provenance.update({k: v for k, v in ds.attrs.items() if str(k).startswith("physioaffect_")})
        return grid


def fill_from_neighbours(prototypes, have):
    """Fill the cells where ``have`` is False from their filled 8-neighbours, pass by pass.

    Parameters
    ----------
    prototypes : ndarray, shape (n_valence, n_arousal, n_features)
    have : ndarray of bool, shape (n_valence, n_arousal)

    Returns
    -------
    ndarray, shape (n_valence, n_arousal, n_features)
        A copy with every cell set (unit vectors in the filled cells).
    """
    protos = np.array(prototypes, dtype=np.float64)
    have = np.array(have, dtype=bool)
    if not have.any():
        raise InvalidParameterError("no window falls in any cell: cannot build prototypes")
    nv, na = have.shape
    while not have.all():
        new_have = have.copy()
        new = protos.copy()
        for iv in range(nv):
            for ia in range(na):
                if have[iv, ia]:
                    continue
                sl = (slice(max(iv - 1, 0), iv + 2), slice(max(ia - 1, 0), ia + 2))
                mask = have[sl]
                if mask.any():
                    new[iv, ia] = _normalize_rows(protos[sl][mask].mean(axis=0))
                    new_have[iv, ia] = True
        protos, have = new, new_have
    return protos


def embed(model, X, *, layer: str = "head", batch_size: int = 256, device="auto"):
    """Embeddings of a trained model: the input of one of its layers, batch by batch.

    Any trained physioaffect model can teach: HiSTN, RBTransformer and the topomap CNN all end
    in a linear layer called ``head``, whose input is the embedding the prototypes average; for
    the EDA PINN pass ``layer="eda_head"`` (the trunk's output).

    Parameters
    ----------
    model : torch.nn.Module
    X : array-like, tensor, tuple or dict of them
        Inputs as the model takes them (see :func:`physioaffect.training.predict`).
    layer : str, default="head"
        Name of the submodule (``model.get_submodule(layer)``) whose input is returned.
    batch_size : int, default=256
    device : {"auto", "cpu", "cuda"}, default="auto"

    Returns
    -------
    ndarray, shape (n_samples, n_features), float32
        The layer input, flattened after the batch axis.
    """
    import torch

    from ...training import predict

    try:
        target = model.get_submodule(layer)
    except AttributeError:
        raise InvalidParameterError(
            f"{type(model).__name__} has no submodule {layer!r}; pass `layer`, one of "
            f"{[n for n, _ in model.named_modules() if n][:20]}") from None
    captured = []

    def hook(_module, args):
        captured.append(args[0].detach().float().flatten(1).cpu())

    handle = target.register_forward_pre_hook(hook)
    try:
        predict(model, X, batch_size=batch_size, device=device)
    finally:
        handle.remove()
    return torch.cat(captured).numpy()
