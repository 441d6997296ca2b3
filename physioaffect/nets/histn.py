r"""HiSTN: hierarchical spatial-temporal network on raw EEG segments (METHODS.md section 1)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validation import check_sfreq
from ..errors import InvalidParameterError
from ..montage import Montage
from ._common import (
    check_input,
    check_int,
    check_prob,
    count_parameters,
    input_order,
    resolve_channels,
)
from ._graph import ChebGraphFilter

__all__ = ["HiSTN"]


def _glorot_(tensor: Tensor, fan_in: int, fan_out: int) -> None:
    """Keras ``glorot_uniform`` with the fans Keras computes for the layer's kernel."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-bound, bound)


class _BlockDiagonalLinear(nn.Module):
    r"""Independent square linear maps on contiguous channel groups (no bias).

    :math:`Z_{g} = W_g Y_{g}` for each group g of channels; the weights form a block-diagonal matrix.

    Shapes:
        - input: (B, C, T), C = sum(sizes)
        - output: (B, C, T)
    """

    def __init__(self, sizes):
        super().__init__()
        self.sizes = tuple(int(n) for n in sizes)
        self.blocks = nn.ParameterList([nn.Parameter(torch.empty(n, n)) for n in self.sizes])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for block, n in zip(self.blocks, self.sizes, strict=True):
            _glorot_(block, n, n)

    def matrix(self) -> Tensor:
        return torch.block_diag(*self.blocks)

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum("oi,bit->bot", self.matrix(), x)

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"


class _RegionAttention(nn.Module):
    r"""Softmax attention over the channels of each group, then a weighted sum per group.

    For each group g with channels :math:`S_g \in \mathbb{R}^{n_g \times T}`:
    :math:`a_g = \mathrm{softmax}(W_g \bar s_g + b_g)` with :math:`\bar s_g` the time average of
    :math:`S_g`, and the group signal :math:`a_g^\top S_g \in \mathbb{R}^T`. HiSTN's
    ``Region_fusion`` (one group per region) and ``Region_collapse`` (one group of all regions).

    Shapes:
        - input: (B, C, T), C = sum(sizes)
        - output: (B, G, T); with ``return_weights`` also the weights (B, C)
    """

    def __init__(self, sizes):
        super().__init__()
        self.sizes = tuple(int(n) for n in sizes)
        self.blocks = nn.ParameterList([nn.Parameter(torch.empty(n, n)) for n in self.sizes])
        self.bias = nn.Parameter(torch.empty(sum(self.sizes)))
        member = torch.zeros(len(self.sizes), sum(self.sizes))
        start = 0
        for g, n in enumerate(self.sizes):
            member[g, start:start + n] = 1.0
            start += n
        self.register_buffer("membership", member, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for block, n in zip(self.blocks, self.sizes, strict=True):
            _glorot_(block, n, n)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, return_weights: bool = False):
        logits = F.linear(x.mean(dim=-1), torch.block_diag(*self.blocks), self.bias)
        if len(self.sizes) == 1:
            weights = logits.softmax(dim=-1)
        else:
            weights = torch.cat([g.softmax(dim=-1) for g in logits.split(self.sizes, dim=-1)], -1)
        out = torch.einsum("gc,bct->bgt", self.membership.to(x.dtype), x * weights.unsqueeze(-1))
        return (out, weights) if return_weights else out

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"


class HiSTN(nn.Module):
    r"""HiSTN from the `"Emotion Classification from Multi-Channel EEG Signals Using HiSTN: A
    Hierarchical Graph-based Spatial-Temporal Approach" <https://arxiv.org/abs/2408.15255>`_ paper.

    D. Kuang, X. Song, C. Michoski (2024). The network the paper trains on 1-s DREAMER segments
    for 5-class valence and arousal (METHODS.md section 1.4).

    **Temporal front end.** For a segment :math:`x \in \mathbb{R}^{C \times T}`: F temporal filters
    :math:`h_f` of K taps shared by all electrodes ('same' padding), a per-electrode mix of the F
    filter outputs, batch norm and ELU, a per-electrode L-tap valid convolution, batch norm, ELU,
    average pooling by 2 and dropout:

    .. math::
        X_c = \mathrm{Drop}\,\mathrm{Pool}\,\mathrm{ELU}\,\mathrm{BN}\Big(g_c * \mathrm{ELU}\,
        \mathrm{BN}\big(\textstyle\sum_f m_{cf}\,(h_f * x_c)\big)\Big)
        \in \mathbb{R}^{T'}, \quad T' = \lfloor (T - L + 1)/2 \rfloor.

    **Hierarchy** (electrode, region, global). Electrodes are grouped into the montage's regions;
    :math:`P_r = \sum_{k=0}^{2} w_{r,k} T_k(\tilde L_r)` is a Chebyshev filter with 3 learnable
    scalars on region r's graph (:class:`~physioaffect.nets._graph.ChebGraphFilter`), and
    :math:`P_R` the same on the region graph:

    .. math::
        X_{agg} &= \mathrm{ELU}\,\mathrm{BN}\big[\mathrm{SepConv}_r(P_r^\top X_r)\big]_r, &
        X_{out} &= X + X_{agg}, \\
        X_R &= \mathrm{Fuse}_A(X), &
        X_R^{lat} &= \mathrm{Fuse}_B(X_{agg}), \\
        X_{R,out} &= P_R^\top X_R + X_R^{lat}, &
        X_{G} &= \mathrm{Collapse}_A(X_R) + \mathrm{Collapse}_B(X_R^{lat}),

    where :math:`\mathrm{SepConv}_r` is a depthwise 5-tap ('same') then a pointwise
    :math:`n_r \to n_r` map, :math:`\mathrm{Fuse}(S)_r = a_r^\top S_r` with
    :math:`a_r = \mathrm{softmax}(W_r \bar S_r + b_r)` (time-averaged attention over the region's
    electrodes) and :math:`\mathrm{Collapse}(U) = c^\top U`, :math:`c = \mathrm{softmax}(W\bar U + b)`.

    **Head.** :math:`\mathrm{logits} = W_o\,\mathrm{Drop}\big(\mathrm{mean}_t
    [X_{out}; X_{R,out}; X_G]\big) + b_o`, from :math:`C + R + 1` features.

    Parameters
    ----------
    n_chans : int, optional
        Number of EEG channels C; default: that of ``chs_info`` or ``montage``. Must agree with
        them.
    n_outputs : int
        Number of classes (5 in the paper).
    n_times : int
        Samples per segment T (128: 1 s at 128 Hz in the paper); at least ``depthwise_length + 1``.
    sfreq : float
        Sampling rate in Hz; sets the default temporal kernel length (half a second).
    montage : {"dreamer", "deap", "seed"} or Montage, optional
        Electrode set whose regions, within-region edges and region graph define the hierarchy.
        Default: the built-in montage whose channels are those of ``chs_info``, else ``"dreamer"``
        (the published hierarchy, METHODS.md 1.2).
    chs_info : list of dict, optional
        Channel descriptions as ``mne.Info["chs"]`` (each with a ``"ch_name"``), giving the order
        of the input channels; they must be exactly the montage's channels, in any order. Default:
        the montage's order.
    n_filters : int, default=8
        Temporal filters F of the front end.
    kernel_length : int, optional
        Taps K of the temporal filters; default ``round(sfreq / 2)`` (64 at 128 Hz, as published).
    depthwise_length : int, default=5
        Taps L of the per-electrode temporal convolution of the front end.
    separable_length : int, default=5
        Taps of the depthwise part of the node-level separable convolutions.
    cheb_order : int, default=2
        Highest Chebyshev order K of every graph filter (K + 1 weights each).
    drop_prob : float, default=0.5
        Dropout after the front end and before the head (0.5 in the subject-dependent protocol,
        0.2 in the subject-independent one).
    max_norm : float or None, default=1.0
        MaxNorm bound of the electrode mix, the per-electrode convolution and the pointwise
        weights; None disables it.

    Attributes
    ----------
    ch_names : tuple of str
        Input channel names, in input order.
    hierarchy_ch_names : tuple of str
        Channels in the internal, region-contiguous order in which every per-electrode weight is
        stored (the montage's order for DREAMER).
    region_names : tuple of str
        Regions, in the order of the region-level channels.
    region_sizes : tuple of int
        Electrodes per region.
    n_times_out : int
        Length T' of the time axis after the front end.

    Notes
    -----
    - Input layout is PyTorch's ``(batch, n_chans, n_times)``; the published Keras code uses
      ``(batch, n_times, n_chans)``. The output is logits: the published softmax output is
      ``logits.softmax(-1)``, and its soft-target cross-entropy is
      ``torch.nn.functional.cross_entropy(logits, q)`` with probability targets ``q``.
    - Parameter count: Keras counts the running mean and variance of batch norm as (non-trainable)
      weights; PyTorch keeps them as buffers. :meth:`count_parameters` counts as Keras does: the
      default DREAMER model has 1,265 weights, 1,181 of them trainable parameters
      (``sum(p.numel() for p in model.parameters())`` is 1,181).
    - The F shared temporal filters and the electrode mix are kept as the published weights
      (``temporal_conv``, ``electrode_mix``), but the forward pass filters each electrode once,
      with its mix of the filters :math:`\sum_f m_{cf} h_f` (:meth:`front_filter`), by FFT. By
      linearity this is the same map, with the same gradients, as filtering with all F filters
      and then mixing; on a CPU core it makes a training step two to three times faster (the
      F-filter convolution took most of the time).
    - Keras' MaxNorm is a projection applied after each optimiser step. Here
      :meth:`apply_constraints` projects the weights in place at the start of every forward pass
      (braindecode's convention), so every forward uses constrained weights; call it after the last
      step to constrain the stored weights too. With Keras' default axis, the bound is elementwise
      (:math:`|w| \le 1`) for the electrode mix and the pointwise maps, and on the L2 norm of each
      electrode's kernel for the per-electrode convolution.
    - Batch norm uses Keras' defaults (momentum 0.99, i.e. PyTorch momentum 0.01; eps 1e-3);
      kernels are initialised with Keras' ``glorot_uniform`` and Keras' fans, biases with zeros.
      With that momentum the running statistics need a few hundred steps to settle; after a short
      training run, re-estimate them (``momentum=None`` and one pass over the training data in
      training mode) before evaluating.
    - For montages whose regions are not contiguous in channel order (DEAP, SEED), the input is
      re-ordered to region-contiguous order once; the concatenation order of the published code
      is then the internal order, and the model is equivalent for any input channel order given
      through ``chs_info`` (the same ``state_dict`` loads into either).
    - A region of a single electrode has a graph without edges; its Laplacian is 0 and the
      Chebyshev filter reduces to :math:`(w_0 - w_1 + w_2) I`.

    Shapes:
        - input: (batch, n_chans, n_times)
        - output: (batch, n_outputs), logits

    Examples
    --------
    >>> import torch
    >>> from physioaffect.nets import HiSTN
    >>> model = HiSTN(n_chans=14, n_outputs=5, n_times=128, sfreq=128.0)
    >>> model.count_parameters()
    ParameterCount(total=1265, trainable=1181)
    >>> model(torch.randn(2, 14, 128)).shape
    torch.Size([2, 5])
    """

    def __init__(self, n_chans: int | None = None, *, n_outputs: int, n_times: int, sfreq: float,
                 montage: str | Montage | None = None, chs_info: list | None = None,
                 n_filters: int = 8, kernel_length: int | None = None, depthwise_length: int = 5,
                 separable_length: int = 5, cheb_order: int = 2, drop_prob: float = 0.5,
                 max_norm: float | None = 1.0):
        super().__init__()
        channels = resolve_channels(n_chans, montage, chs_info, model="HiSTN",
                                    default_montage="dreamer")
        mont = channels.montage
        self.sfreq = check_sfreq(sfreq)
        self.n_outputs = check_int(n_outputs, "n_outputs")
        self.n_filters = check_int(n_filters, "n_filters")
        self.depthwise_length = check_int(depthwise_length, "depthwise_length")
        self.separable_length = check_int(separable_length, "separable_length")
        self.cheb_order = check_int(cheb_order, "cheb_order")
        self.drop_prob = check_prob(drop_prob, "drop_prob")
        if kernel_length is None:
            kernel_length = max(1, round(self.sfreq / 2))
        self.kernel_length = check_int(kernel_length, "kernel_length")
        self.pool_length = 2
        min_times = self.depthwise_length - 1 + self.pool_length
        self.n_times = check_int(
            n_times, "n_times", minimum=min_times,
            why=f"the front end's {self.depthwise_length}-tap valid convolution and pooling by "
                f"{self.pool_length} need at least {min_times} samples")
        if max_norm is not None and (isinstance(max_norm, bool) or not max_norm > 0):
            raise InvalidParameterError(
                f"`max_norm` must be a positive number or None, got {max_norm!r}")
        self.max_norm = None if max_norm is None else float(max_norm)
        self.n_times_out = (self.n_times - self.depthwise_length + 1) // self.pool_length

        self.montage_name = mont.name
        self.ch_names = channels.ch_names
        self.n_chans = channels.n_chans
        self.region_names = tuple(mont.regions)
        regions = [tuple(mont.ch_names[i] for i in sorted(mont.indices(chs)))
                   for chs in mont.regions.values()]
        self.region_sizes = tuple(len(chs) for chs in regions)
        self.hierarchy_ch_names = tuple(ch for chs in regions for ch in chs)
        order = input_order(self.ch_names, self.hierarchy_ch_names)
        self.register_buffer("input_order", None if order is None else torch.as_tensor(order),
                             persistent=False)

        C, Fn, R = self.n_chans, self.n_filters, len(regions)
        # Part 1: temporal front end.
        self.temporal_conv = nn.Conv2d(1, Fn, (1, self.kernel_length), bias=False)
        # Keras/TensorFlow 'same' padding: the extra sample of an even kernel goes on the right.
        left = (self.kernel_length - 1) // 2
        self._same_pad = (left, self.kernel_length - 1 - left)
        self.electrode_mix = nn.Conv1d(C * Fn, C, 1, groups=C, bias=False)
        self.bn1 = nn.BatchNorm1d(C, eps=1e-3, momentum=0.01)
        self.electrode_conv = nn.Conv1d(C, C, self.depthwise_length, groups=C, bias=False)
        self.bn2 = nn.BatchNorm1d(C, eps=1e-3, momentum=0.01)
        self.pool = nn.AvgPool1d(self.pool_length)
        self.front_drop = nn.Dropout(self.drop_prob)

        # Part 2: hierarchy. Node graphs from the montage's within-region edges.
        self.node_filters = nn.ModuleList()
        for name, chs in zip(self.region_names, regions, strict=True):
            local = {c.lower(): i for i, c in enumerate(chs)}
            edges = [(local[a.lower()], local[b.lower()])
                     for a, b in mont.region_edges.get(name, ())]
            edge_index = torch.tensor(edges, dtype=torch.long).reshape(-1, 2).T
            self.node_filters.append(ChebGraphFilter(edge_index, len(chs), self.cheb_order))
        self.node_depthwise = nn.Conv1d(C, C, self.separable_length, padding="same", groups=C,
                                        bias=False)
        self.node_pointwise = _BlockDiagonalLinear(self.region_sizes)
        self.node_bn = nn.BatchNorm1d(C, eps=1e-3, momentum=0.01)
        self.region_fusion_a = _RegionAttention(self.region_sizes)
        self.region_fusion_b = _RegionAttention(self.region_sizes)
        rindex = {r: i for i, r in enumerate(self.region_names)}
        redges = [(rindex[a], rindex[b]) for a, b in mont.region_graph]
        self.region_filter = ChebGraphFilter(
            torch.tensor(redges, dtype=torch.long).reshape(-1, 2).T, R, self.cheb_order)
        self.global_collapse_a = _RegionAttention((R,))
        self.global_collapse_b = _RegionAttention((R,))

        # Part 3: head.
        self.head_drop = nn.Dropout(self.drop_prob)
        self.head = nn.Linear(C + R + 1, self.n_outputs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise every weight as the published Keras model (glorot_uniform, zero bias)."""
        C, Fn, K, L = self.n_chans, self.n_filters, self.kernel_length, self.depthwise_length
        _glorot_(self.temporal_conv.weight, K, K * Fn)
        _glorot_(self.electrode_mix.weight, Fn * C, Fn)
        _glorot_(self.electrode_conv.weight, L * C, L)
        start = 0
        S = self.separable_length
        for n in self.region_sizes:
            _glorot_(self.node_depthwise.weight[start:start + n], S * n, S)
            start += n
        for module in (self.bn1, self.bn2, self.node_bn):
            module.reset_parameters()
        for module in (*self.node_filters, self.region_filter, self.node_pointwise,
                       self.region_fusion_a, self.region_fusion_b, self.global_collapse_a,
                       self.global_collapse_b):
            module.reset_parameters()
        _glorot_(self.head.weight, self.head.in_features, self.head.out_features)
        nn.init.zeros_(self.head.bias)
        self.apply_constraints()

    @torch.no_grad()
    def apply_constraints(self) -> None:
        """Project the MaxNorm-constrained weights onto their bound, in place."""
        m = self.max_norm
        if m is None:
            return
        self.electrode_mix.weight.data.clamp_(-m, m)
        w = self.electrode_conv.weight.data
        w.copy_(torch.renorm(w, 2, 0, m))
        for block in self.node_pointwise.blocks:
            block.data.clamp_(-m, m)

    def count_parameters(self):
        """Weights counted as Keras does (batch-norm statistics included in ``total``).

        Returns
        -------
        ParameterCount
            ``(total, trainable)``; (1265, 1181) for the default DREAMER configuration.
        """
        return count_parameters(self)

    def electrode_kernels(self) -> Tensor:
        r"""Each electrode's temporal filter: its mix of the shared temporal filters.

        :math:`g_c = \sum_f m_{cf} h_f`. The shared filters and the electrode mix are linear and
        follow each other, so mixing the F filtered signals is filtering by :math:`g_c`.

        Returns
        -------
        Tensor, shape (n_chans, kernel_length)
            One kernel per electrode, in ``hierarchy_ch_names`` order.
        """
        C, Fn = self.n_chans, self.n_filters
        return torch.einsum("cf,fk->ck", self.electrode_mix.weight.reshape(C, Fn),
                            self.temporal_conv.weight.reshape(Fn, self.kernel_length))

    def front_filter(self, x: Tensor) -> Tensor:
        """The front end's first two layers: the shared temporal filters ('same' padding, as
        TensorFlow pads) and the per-electrode mix of their outputs.

        Computed as one filter per electrode (:meth:`electrode_kernels`) applied by FFT: the
        same linear map as filtering with the F shared filters and mixing their outputs, with
        F times fewer multiplications before the FFT's savings (the convolution with F filters
        per electrode dominated the run time of the whole network).

        Parameters
        ----------
        x : Tensor, shape (batch, n_chans, n_times)
            Segments in ``hierarchy_ch_names`` order.

        Returns
        -------
        Tensor, shape (batch, n_chans, n_times)
        """
        K, T = self.kernel_length, x.shape[-1]
        kernel = self.electrode_kernels()
        # y[t] = sum_k g[k] x[t + k - left]: the linear convolution of x with the reversed kernel,
        # read from sample K - 1 - left on; an FFT of n >= T + K - 1 points does not wrap around.
        n = 1 << (T + K - 2).bit_length()
        spectrum = torch.fft.rfft(x, n=n) * torch.fft.rfft(kernel.flip(-1).to(x.dtype), n=n)
        start = K - 1 - self._same_pad[0]
        return torch.fft.irfft(spectrum, n=n)[..., start:start + T]

    def node_filter_matrix(self) -> Tensor:
        """Block-diagonal matrix of the node-level Chebyshev filters, shape (n_chans, n_chans),
        in ``hierarchy_ch_names`` order."""
        return torch.block_diag(*[f.matrix() for f in self.node_filters])

    def forward(self, x: Tensor) -> Tensor:
        """Class logits of a batch of segments.

        Parameters
        ----------
        x : Tensor, shape (batch, n_chans, n_times)
            EEG segments, channels in ``ch_names`` order.

        Returns
        -------
        Tensor, shape (batch, n_outputs)
            Logits.
        """
        check_input(x, (self.n_chans, self.n_times), ("n_chans", "n_times"), "HiSTN")
        if self.input_order is not None:
            x = x.index_select(1, self.input_order)
        self.apply_constraints()
        # Part 1: (B, C, T) -> (B, C, T) -> (B, C, T').
        h = F.elu(self.bn1(self.front_filter(x)))
        h = F.elu(self.bn2(self.electrode_conv(h)))
        X = self.front_drop(self.pool(h))
        # Part 2: node level, Y_j = sum_i X_i P_ij per region.
        Y = torch.einsum("ij,bit->bjt", self.node_filter_matrix(), X)
        X_agg = F.elu(self.node_bn(self.node_pointwise(self.node_depthwise(Y))))
        X_out = X + X_agg
        # Region and global levels.
        X_R = self.region_fusion_a(X)
        X_R_latter = self.region_fusion_b(X_agg)
        X_R_out = self.region_filter(X_R, dim=1) + X_R_latter
        X_G = self.global_collapse_a(X_R) + self.global_collapse_b(X_R_latter)
        # Part 3: head.
        feats = torch.cat([X_out, X_R_out, X_G], dim=1).mean(dim=-1)
        return self.head(self.head_drop(feats))

    def extra_repr(self) -> str:
        return (f"montage={self.montage_name!r}, n_chans={self.n_chans}, "
                f"n_outputs={self.n_outputs}, n_times={self.n_times}, sfreq={self.sfreq:g}, "
                f"regions={dict(zip(self.region_names, self.region_sizes, strict=True))}")

