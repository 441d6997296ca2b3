r"""Chebyshev graph filter with scalar weights on a torch-geometric graph (HiSTN's "MessagePassing").

From "Emotion Classification from Multi-Channel EEG Signals Using HiSTN: A Hierarchical
Graph-based Spatial-Temporal Approach" (Kuang, Song, Michoski, 2024,
https://arxiv.org/abs/2408.15255), section 1.3 of METHODS.md.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import get_laplacian, remove_self_loops, to_undirected

from ..errors import InvalidParameterError

__all__ = ["ChebGraphFilter", "chebyshev_basis"]


def chebyshev_basis(edge_index: Tensor, num_nodes: int, order: int) -> tuple[Tensor, float]:
    r"""Dense Chebyshev polynomials of the rescaled combinatorial Laplacian of a graph.

    :math:`L = D - A`, :math:`\lambda_{max}` its largest eigenvalue (exact, float64),
    :math:`\tilde L = 2L/\lambda_{max} - I`, :math:`T_0 = I`, :math:`T_1 = \tilde L`,
    :math:`T_k = 2\tilde L T_{k-1} - T_{k-2}`.

    A graph without edges has :math:`L = 0` and hence :math:`\tilde L = -I` whatever the scale;
    its :math:`\lambda_{max}` is reported as 0.

    Parameters
    ----------
    edge_index : Tensor of int64, shape (2, n_edges)
        Edges; made undirected, self loops dropped.
    num_nodes : int
        Number of nodes n.
    order : int
        Highest polynomial order K.

    Returns
    -------
    basis : Tensor of float64, shape (K + 1, n, n)
        :math:`T_0(\tilde L), \dots, T_K(\tilde L)`; each is symmetric.
    lambda_max : float
        Largest eigenvalue of L.
    """
    edge_index = edge_index.to(torch.long).cpu()
    lap_index, lap_weight = get_laplacian(edge_index, normalization=None, dtype=torch.float64,
                                          num_nodes=num_nodes)
    lap = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    lap.index_put_((lap_index[0], lap_index[1]), lap_weight, accumulate=True)
    lambda_max = float(torch.linalg.eigvalsh(lap).abs().max()) if num_nodes else 0.0
    eye = torch.eye(num_nodes, dtype=torch.float64)
    scaled = 2.0 * lap / lambda_max - eye if lambda_max > 0 else -eye
    terms = [eye, scaled]
    for _ in range(2, order + 1):
        terms.append(2.0 * scaled @ terms[-1] - terms[-2])
    return torch.stack(terms[: order + 1]), lambda_max


class ChebGraphFilter(nn.Module):
    r"""The scalar-weight Chebyshev graph filter of the `"Emotion Classification from Multi-Channel
    EEG Signals Using HiSTN: A Hierarchical Graph-based Spatial-Temporal Approach"
    <https://arxiv.org/abs/2408.15255>`_ paper (HiSTN's "MessagePassing" layer).

    For a graph with combinatorial Laplacian
    :math:`L = D - A` and :math:`\tilde L = 2L/\lambda_{max} - I`,

    .. math::
        P = \sum_{k=0}^{K} w_k\, T_k(\tilde L), \qquad Y_{\ldots, j, t} = \sum_i P_{ij}\, X_{\ldots, i, t}

    with :math:`w \in \mathbb{R}^{K+1}` learnable scalars shared over time and features, and
    :math:`\lambda_{max}` the exact largest eigenvalue of L. P is symmetric, so right- and
    left-multiplication agree.

    Parameters
    ----------
    edge_index : Tensor of int64, shape (2, n_edges)
        Graph edges (made undirected; self loops dropped).
    num_nodes : int
        Number of nodes n.
    order : int, default=2
        Highest Chebyshev order K (K + 1 weights).

    Attributes
    ----------
    weight : Parameter, shape (K + 1,)
        The scalars :math:`w_k`.
    basis : Tensor, shape (K + 1, n, n)
        Buffer holding :math:`T_k(\tilde L)`.
    lambda_max : float
        Largest eigenvalue of L (0 for a graph without edges).

    Notes
    -----
    ``torch_geometric.nn.ChebConv`` with its defaults is a different operator: it uses the
    symmetric normalised Laplacian :math:`I - D^{-1/2} A D^{-1/2}`, takes
    :math:`\lambda_{max} = 2` unless told otherwise, and learns a full
    ``in_channels x out_channels`` matrix per order instead of one scalar. It reproduces this
    filter only as ``ChebConv(1, 1, K=K + 1, normalization=None, bias=False)`` called with the
    exact ``lambda_max`` and the time samples folded into the batch (the tests check this).

    The weights are initialised U(-a, a) with :math:`a = \sqrt{6 / (2(K+1))}` (Keras'
    ``glorot_uniform`` for a 1-D weight; U(-1, 1) for K = 2).

    Shapes:
        - input: (..., n, T) with ``dim=-2`` (the node axis may be chosen)
        - output: same shape as the input
    """

    def __init__(self, edge_index: Tensor, num_nodes: int, order: int = 2):
        super().__init__()
        if order < 1:
            raise InvalidParameterError(f"`order` must be an integer >= 1, got {order!r}")
        edge_index = torch.as_tensor(edge_index, dtype=torch.long).reshape(2, -1)
        if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= num_nodes):
            raise InvalidParameterError(
                f"`edge_index` must hold node indices in [0, {num_nodes}), "
                f"got range [{int(edge_index.min())}, {int(edge_index.max())}]")
        edge_index, _ = remove_self_loops(edge_index)
        edge_index = to_undirected(edge_index, num_nodes=num_nodes)
        basis, lambda_max = chebyshev_basis(edge_index, num_nodes, order)
        self.num_nodes = int(num_nodes)
        self.order = int(order)
        self.lambda_max = lambda_max
        self.register_buffer("edge_index", edge_index, persistent=False)
        self.register_buffer("basis", basis.to(torch.get_default_dtype()), persistent=False)
        self.weight = nn.Parameter(torch.empty(order + 1))
        self.reset_parameters()

    @classmethod
    def from_data(cls, data: Data, order: int = 2) -> ChebGraphFilter:
        """Build the filter on a :class:`torch_geometric.data.Data` graph (``edge_index``,
        ``num_nodes``)."""
        return cls(data.edge_index, int(data.num_nodes), order)

    @property
    def graph(self) -> Data:
        """The filter's (undirected) graph as a :class:`torch_geometric.data.Data`."""
        return Data(edge_index=self.edge_index, num_nodes=self.num_nodes)

    def reset_parameters(self) -> None:
        bound = math.sqrt(6.0 / (2 * (self.order + 1)))
        nn.init.uniform_(self.weight, -bound, bound)

    def matrix(self) -> Tensor:
        """The filter matrix P, shape (n, n)."""
        return torch.einsum("k,kij->ij", self.weight, self.basis.to(self.weight.dtype))

    def forward(self, x: Tensor, dim: int = -2) -> Tensor:
        """Filter ``x`` over its node axis ``dim``."""
        x = x.movedim(dim, -1)
        return (x @ self.matrix()).movedim(-1, dim)

    def extra_repr(self) -> str:
        return (f"num_nodes={self.num_nodes}, num_edges={self.edge_index.shape[1] // 2}, "
                f"order={self.order}, lambda_max={self.lambda_max:.4g}")
