r"""RBTransformer: band-DE tokens and inter-cortical attention (METHODS.md section 2)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validation import check_sfreq
from ..montage import Montage
from ._common import (
    check_input,
    check_int,
    check_prob,
    count_parameters,
    input_order,
    resolve_channels,
)

__all__ = ["RBTransformer", "InterCorticalAttentionBlock"]


class InterCorticalAttentionBlock(nn.Module):
    r"""The inter-cortical attention block of the `"A Brain Wave Encodes a Thousand Tokens:
    Modeling Inter-Cortical Neural Interactions for Effective EEG-based Emotion Recognition"
    <https://arxiv.org/abs/2511.13954>`_ paper: a pre-norm Transformer encoder block over
    electrode tokens,

    .. math::
        h &= x + \mathrm{Drop}\big(W_o\,[A_1 V_1; \dots; A_H V_H]\big), \quad
        A_j = \mathrm{softmax}\!\big(Q_j K_j^\top / \sqrt{d}\big), \quad
        [Q; K; V] = \mathrm{LN}(x)\, W_{qkv}, \\
        y &= h + \mathrm{Drop}\big(W_2\, \mathrm{Drop}(\mathrm{GELU}(W_1 \mathrm{LN}(h) + b_1)) + b_2\big),

    with :math:`W_{qkv}` without bias and dropout also on each attention matrix :math:`A_j`.

    Parameters
    ----------
    embed_dim : int
        Token width E.
    n_heads : int
        Heads H.
    head_dim : int
        Width d of each head (inner width H d).
    ffn_dim : int
        Hidden width of the feed-forward network.
    drop_prob : float
        Dropout probability.

    Shapes:
        - input: (B, N, E)
        - output: (B, N, E); with ``return_attention`` also (B, H, N, N), rows summing to 1
    """

    def __init__(self, embed_dim: int, n_heads: int, head_dim: int, ffn_dim: int,
                 drop_prob: float):
        super().__init__()
        self.n_heads, self.head_dim, self.drop_prob = n_heads, head_dim, drop_prob
        inner = n_heads * head_dim
        self.norm1 = nn.LayerNorm(embed_dim)
        self.qkv = nn.Linear(embed_dim, 3 * inner, bias=False)
        self.attn_drop = nn.Dropout(drop_prob)
        self.proj = nn.Linear(inner, embed_dim)
        self.proj_drop = nn.Dropout(drop_prob)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dim, ffn_dim), nn.GELU(), nn.Dropout(drop_prob),
            nn.Linear(ffn_dim, embed_dim), nn.Dropout(drop_prob))

    def forward(self, x: Tensor, return_attention: bool = False):
        B, N, _ = x.shape
        q, k, v = (self.qkv(self.norm1(x)).view(B, N, 3, self.n_heads, self.head_dim)
                   .permute(2, 0, 3, 1, 4))
        attn = None
        if return_attention:
            attn = (q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)).softmax(dim=-1)
            out = self.attn_drop(attn) @ v
        else:
            drop = self.drop_prob if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        out = out.transpose(1, 2).reshape(B, N, self.n_heads * self.head_dim)
        h = x + self.proj_drop(self.proj(out))
        y = h + self.ffn(self.norm2(h))
        return (y, attn) if return_attention else y


class RBTransformer(nn.Module):
    r"""RBTransformer from the `"A Brain Wave Encodes a Thousand Tokens: Modeling Inter-Cortical
    Neural Interactions for Effective EEG-based Emotion Recognition"
    <https://arxiv.org/abs/2511.13954>`_ paper (2025).

    Inter-cortical attention over band differential-entropy electrode tokens, in the
    configuration of all the paper's runs (METHODS.md section 2.3). Each electrode c contributes
    a token :math:`x_c \in \mathbb{R}^{4}` of band differential entropies (theta, alpha, beta, gamma;
    ``physioaffect.features.tokens.band_de_tokens(data, sfreq)``, preset ``"rbtransformer"``, whose
    (..., n_windows, n_chans, 4) output flattens to the model's batch):

    .. math::
        z^{(0)}_c &= \mathrm{Drop}\big(W_e x_c + b_e + p_c\big), \qquad
        p \in \mathbb{R}^{N \times E} \text{ (learned electrode identity)}, \\
        z^{(l)} &= \mathrm{Block}_l\big(z^{(l-1)}\big), \quad l = 1..L, \\
        \mathrm{logits} &= \mathrm{MLP}\Big(\mathrm{LN}\big(\tfrac{1}{N}\textstyle\sum_c
        z^{(L)}_c\big)\Big),

    with :math:`\mathrm{Block}_l` an :class:`InterCorticalAttentionBlock` and the MLP
    E -> 256 -> 256 -> 128 -> n_outputs, GELU and dropout between layers. The
    attention matrices :math:`A^{(l)}_j \in \mathbb{R}^{N \times N}` (electrode x electrode) can be
    returned.

    Parameters
    ----------
    n_chans : int, optional
        Number of electrodes N; default: that of ``chs_info`` or ``montage``.
    n_outputs : int
        Number of classes K (SEED 3, DEAP 2 or 9, DREAMER 2 or 5).
    n_times, sfreq : optional
        Accepted for braindecode's constructor vocabulary and stored; the network reads tokens,
        not samples (the tokens of the paper come from 512-sample windows at 128 Hz).
    montage : {"dreamer", "deap", "seed"} or Montage, optional
        Electrode set; with ``chs_info``, input channels are put in the montage's order, so that
        each electrode keeps its identity embedding (and a ``state_dict`` its meaning) whatever
        the input order. Default: the built-in montage whose channels are those of ``chs_info``,
        else none (electrodes taken in input order).
    chs_info : list of dict, optional
        Channel descriptions as ``mne.Info["chs"]`` (each with a ``"ch_name"``), in input order.
    n_bands : int, default=4
        Token width (bands per electrode).
    embed_dim : int, default=128
        Model width E.
    depth : int, default=4
        Attention blocks L.
    n_heads : int, default=6
        Heads per block H.
    head_dim : int, default=32
        Width of each head d.
    ffn_dim : int, default=128
        Hidden width of each block's feed-forward network.
    drop_prob : float, default=0.1
        Dropout probability everywhere.

    Attributes
    ----------
    ch_names : tuple of str
        Input channel names (``ch0``, ``ch1``, ... without ``chs_info`` or ``montage``).
    electrode_embedding : Parameter, shape (1, N, E)
        Electrode identity embedding, initialised N(0, 1), in montage order when a montage is set.

    Notes
    -----
    - Parameter count: :math:`660{,}480 + 128 N + 129 K` for the paper configuration, e.g.
      662,917 for DREAMER 5-class and 662,530 for DREAMER binary (no buffers: total = trainable).
    - Linear and LayerNorm layers keep PyTorch's default initialisation, as the published PyTorch
      code does not override it.
    - Without ``return_attention`` the attention runs through
      :func:`torch.nn.functional.scaled_dot_product_attention` (fused kernels on GPU); with it, the
      matrices are computed explicitly. In eval mode both give the same logits; in training mode
      the dropout masks differ.
    - The returned attention matrices are taken after the softmax and before attention dropout,
      so every row sums to 1.

    Shapes:
        - input: (batch, n_chans, n_bands)
        - output: (batch, n_outputs), logits; with ``return_attention=True`` also
          (batch, depth, n_heads, n_chans, n_chans)

    Examples
    --------
    >>> import torch
    >>> from physioaffect.nets import RBTransformer
    >>> model = RBTransformer(n_chans=14, n_outputs=5)
    >>> model.count_parameters()
    ParameterCount(total=662917, trainable=662917)
    >>> logits, attn = model(torch.randn(2, 14, 4), return_attention=True)
    >>> tuple(logits.shape), tuple(attn.shape)
    ((2, 5), (2, 4, 6, 14, 14))
    """

    def __init__(self, n_chans: int | None = None, *, n_outputs: int, n_times: int | None = None,
                 sfreq: float | None = None, montage: str | Montage | None = None,
                 chs_info: list | None = None, n_bands: int = 4, embed_dim: int = 128,
                 depth: int = 4, n_heads: int = 6, head_dim: int = 32, ffn_dim: int = 128,
                 drop_prob: float = 0.1):
        super().__init__()
        channels = resolve_channels(n_chans, montage, chs_info, model="RBTransformer",
                                    default_montage=None)
        self.n_outputs = check_int(n_outputs, "n_outputs")
        self.n_times = None if n_times is None else check_int(n_times, "n_times")
        self.sfreq = None if sfreq is None else check_sfreq(sfreq)
        self.n_bands = check_int(n_bands, "n_bands")
        self.embed_dim = check_int(embed_dim, "embed_dim")
        self.depth = check_int(depth, "depth", minimum=0)
        self.n_heads = check_int(n_heads, "n_heads")
        self.head_dim = check_int(head_dim, "head_dim")
        self.ffn_dim = check_int(ffn_dim, "ffn_dim")
        self.drop_prob = check_prob(drop_prob, "drop_prob")
        self.montage_name = None if channels.montage is None else channels.montage.name
        self.ch_names = channels.ch_names
        self.n_chans = channels.n_chans
        order = (None if channels.montage is None
                 else input_order(self.ch_names, channels.montage.ch_names))
        self.register_buffer("input_order", None if order is None else torch.as_tensor(order),
                             persistent=False)

        E = self.embed_dim
        self.token_projection = nn.Linear(self.n_bands, E)
        self.electrode_embedding = nn.Parameter(torch.empty(1, self.n_chans, E))
        self.embed_drop = nn.Dropout(self.drop_prob)
        self.blocks = nn.ModuleList([
            InterCorticalAttentionBlock(E, self.n_heads, self.head_dim, self.ffn_dim,
                                        self.drop_prob)
            for _ in range(self.depth)])
        p = self.drop_prob
        self.head = nn.Sequential(
            nn.LayerNorm(E),
            nn.Linear(E, 256), nn.GELU(), nn.Dropout(p),
            nn.Linear(256, 256), nn.GELU(), nn.Dropout(p),
            nn.Linear(256, 128), nn.GELU(), nn.Dropout(p),
            nn.Linear(128, self.n_outputs))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise every layer (PyTorch defaults; electrode embedding N(0, 1))."""
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        nn.init.normal_(self.electrode_embedding)

    def count_parameters(self):
        """Total and trainable weights (equal: the model has no batch-norm statistics).

        Returns
        -------
        ParameterCount
            ``(total, trainable)``; (662917, 662917) for DREAMER 5-class.
        """
        return count_parameters(self)

    def forward(self, x: Tensor, return_attention: bool = False):
        """Class logits of a batch of token sets.

        Parameters
        ----------
        x : Tensor, shape (batch, n_chans, n_bands)
            Band-DE tokens, electrodes in ``ch_names`` order.
        return_attention : bool, default=False
            Also return every block's electrode x electrode attention matrices.

        Returns
        -------
        logits : Tensor, shape (batch, n_outputs)
        attention : Tensor, shape (batch, depth, n_heads, n_chans, n_chans)
            Only with ``return_attention``: softmax attention of each block and head, rows
            (queries) and columns (keys) in ``ch_names`` order; every row sums to 1.
        """
        check_input(x, (self.n_chans, self.n_bands), ("n_chans", "n_bands"), "RBTransformer")
        if self.input_order is not None:
            x = x.index_select(1, self.input_order)
        z = self.embed_drop(self.token_projection(x) + self.electrode_embedding)
        maps = []
        for block in self.blocks:
            if return_attention:
                z, attn = block(z, return_attention=True)
                maps.append(attn)
            else:
                z = block(z)
        logits = self.head(z.mean(dim=1))
        if not return_attention:
            return logits
        if maps:
            attn = torch.stack(maps, dim=1)
        else:
            attn = x.new_zeros(x.shape[0], 0, self.n_heads, self.n_chans, self.n_chans)
        if self.input_order is not None:  # back to input order
            inverse = torch.argsort(self.input_order)
            attn = attn.index_select(-1, inverse).index_select(-2, inverse)
        return logits, attn

    def extra_repr(self) -> str:
        return (f"n_chans={self.n_chans}, n_outputs={self.n_outputs}, n_bands={self.n_bands}, "
                f"montage={self.montage_name!r}")
