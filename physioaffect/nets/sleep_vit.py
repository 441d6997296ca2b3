r"""Multitask 1D vision transformer for sleep staging and sleep apnea (METHODS.md section 4)."""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor, nn

from .._validation import check_sfreq
from ..errors import InvalidParameterError
from ._common import check_input, check_int, check_prob, count_parameters, names_from_chs_info

__all__ = ["SleepViT", "SleepViTBlock", "StochasticDepth", "survival_probabilities"]


def survival_probabilities(depth: int, last: float = 0.7, first: float = 1.0) -> list[float]:
    r"""Survival probabilities of the residual branches, linear over the blocks.

    .. math::
        p_l = p_1 + (p_L - p_1)\,\frac{l - 1}{L - 1}, \qquad l = 1, \dots, L,

    with :math:`p_1` = ``first`` and :math:`p_L` = ``last`` (a single block gets ``first``).

    Parameters
    ----------
    depth : int
        Number of blocks L.
    last : float, default=0.7
        Survival probability of the last block (the published 0.7).
    first : float, default=1.0
        Survival probability of the first block.

    Returns
    -------
    list of float
        One probability per block.

    Examples
    --------
    >>> [round(p, 2) for p in survival_probabilities(6)]
    [1.0, 0.94, 0.88, 0.82, 0.76, 0.7]
    """
    depth = check_int(depth, "depth", minimum=0)
    for name, value in (("last", last), ("first", first)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
            raise InvalidParameterError(f"`{name}` survival probability must be in (0, 1], "
                                        f"got {value!r}")
    if depth == 1:
        return [float(first)]
    return [float(first + (last - first) * i / (depth - 1)) for i in range(depth)]


def _glorot_(tensor: Tensor, fan_in: int, fan_out: int) -> None:
    """Keras ``glorot_uniform``: U(-b, b) with b = sqrt(6 / (fan_in + fan_out))."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-bound, bound)


class StochasticDepth(nn.Module):
    r"""Stochastic depth of one residual branch (Huang et al. 2016, not inverted).

    .. math::
        \mathrm{SD}(r) = \begin{cases} b\, r, \quad b \sim \mathrm{Bernoulli}(p)
        \text{ per sample} & \text{training} \\ p\, r & \text{inference} \end{cases}

    so the branch's expected contribution is the same in training and inference. This is the
    semantics of the reference model's ``StochasticDepth([shortcut, residual])`` layer, which
    scales at inference instead of dividing by :math:`p` in training.

    Parameters
    ----------
    survival_prob : float in (0, 1]
        Probability p that a sample keeps the branch.

    Shapes:
        - input: (B, ...)
        - output: (B, ...)
    """

    def __init__(self, survival_prob: float):
        super().__init__()
        self.survival_prob = float(survival_prob)

    def forward(self, residual: Tensor) -> Tensor:
        p = self.survival_prob
        if p >= 1.0:
            return residual
        if not self.training:
            return residual * p
        shape = (residual.shape[0],) + (1,) * (residual.dim() - 1)
        keep = torch.bernoulli(residual.new_full(shape, p))
        return residual * keep

    def extra_repr(self) -> str:
        return f"survival_prob={self.survival_prob:.4g}"


class SleepViTBlock(nn.Module):
    r"""One pre-norm encoder block of the sleep ViT with stochastic depth on both branches.

    .. math::
        h &= x + \mathrm{SD}_p\Big(W_o\,[A_1 V_1; \dots; A_H V_H]\Big), \quad
        A_j = \mathrm{softmax}\big(Q_j K_j^\top / \sqrt{d}\big), \quad
        Q_j, K_j, V_j = \mathrm{LN}_1(x)\,W^{q,k,v}_j, \\
        y &= h + \mathrm{SD}_p\Big(\mathrm{Drop}\big(W_2\,\mathrm{Drop}(\mathrm{GELU}(W_1
        \mathrm{LN}_2(h) + b_1)) + b_2\big)\Big),

    with :math:`W^{q,k,v}_j` and :math:`W_o` without bias (Keras ``MultiHeadAttention(
    use_bias=False)``), inner width :math:`H d` (252 for 6 heads of 42) projected back to E.

    Parameters
    ----------
    embed_dim : int
        Token width E.
    n_heads : int
        Heads H.
    head_dim : int
        Width d of each head.
    mlp_dim : int
        Hidden width of the feed-forward network.
    survival_prob : float
        Survival probability p of both residual branches.
    drop_prob : float
        Dropout probability of the feed-forward network.

    Shapes:
        - input: (B, N, E)
        - output: (B, N, E); with ``return_attention`` also (B, H, N, N), rows summing to 1
    """

    def __init__(self, embed_dim: int, n_heads: int, head_dim: int, mlp_dim: int,
                 survival_prob: float, drop_prob: float = 0.0):
        super().__init__()
        self.embed_dim, self.n_heads, self.head_dim = embed_dim, n_heads, head_dim
        inner = n_heads * head_dim
        self.norm1 = nn.LayerNorm(embed_dim, eps=1e-6)
        self.query = nn.Linear(embed_dim, inner, bias=False)
        self.key = nn.Linear(embed_dim, inner, bias=False)
        self.value = nn.Linear(embed_dim, inner, bias=False)
        self.out = nn.Linear(inner, embed_dim, bias=False)
        self.drop_path1 = StochasticDepth(survival_prob)
        self.norm2 = nn.LayerNorm(embed_dim, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim, mlp_dim), nn.GELU(), nn.Dropout(drop_prob),
            nn.Linear(mlp_dim, embed_dim), nn.Dropout(drop_prob))
        self.drop_path2 = StochasticDepth(survival_prob)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weights and zero biases (Keras defaults); LayerNorm to (1, 0)."""
        inner = self.n_heads * self.head_dim
        for lin in (self.query, self.key, self.value):
            # Keras EinsumDense kernels (E, H, d): fan_in E, fan_out H d
            _glorot_(lin.weight, self.embed_dim, inner)
        _glorot_(self.out.weight, inner, self.embed_dim)
        for lin in (self.mlp[0], self.mlp[3]):
            _glorot_(lin.weight, lin.in_features, lin.out_features)
            nn.init.zeros_(lin.bias)
        self.norm1.reset_parameters()
        self.norm2.reset_parameters()

    def forward(self, x: Tensor, return_attention: bool = False):
        B, N, _ = x.shape
        h = self.norm1(x)

        def heads(t):
            return t.view(B, N, self.n_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.query(h)), heads(self.key(h)), heads(self.value(h))
        if return_attention:
            attn = (q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)).softmax(dim=-1)
            a = attn @ v
        else:
            attn = None
            a = nn.functional.scaled_dot_product_attention(q, k, v)
        a = self.out(a.transpose(1, 2).reshape(B, N, self.n_heads * self.head_dim))
        x = x + self.drop_path1(a)
        x = x + self.drop_path2(self.mlp(self.norm2(x)))
        return (x, attn) if return_attention else x


class SleepViT(nn.Module):
    r"""Multitask 1D vision transformer from `"Multitask Explainable Sleep Stage and Sleep Apnea
    Classification Using Vision Transformer" <https://arxiv.org/abs/2502.17486>`_ (Kazemi et al.,
    EMBC 2025).

    A 30-s epoch :math:`x \in \mathbb{R}^{C \times T}` of cardio-respiratory signals (PPG,
    respiratory flow, thoracic and abdominal effort; see
    :func:`physioaffect.features.psg_inputs.prepare_psg_epochs`) is cut into
    :math:`N = \lfloor T / P \rfloor` non-overlapping patches of P samples, each embedded by one
    convolution (kernel = stride = P):

    .. math::
        z^{(0)} &= \big[c;\; W_p * x\big] + e_{\mathrm{pos}}, \qquad
        c \in \mathbb{R}^{E},\; e_{\mathrm{pos}} \in \mathbb{R}^{(N+1) \times E}
        \text{ (learned)}, \\
        z^{(l)} &= \mathrm{Block}_l\big(z^{(l-1)}\big), \quad l = 1..L, \qquad
        u = \mathrm{GELU}\big(W_s\, \mathrm{LN}(z^{(L)})_0 + b_s\big), \\
        \hat y_{\mathrm{stage}} &= W_1 u + b_1, \qquad \hat y_{\mathrm{apnea}} = W_2 u + b_2,

    with :math:`\mathrm{Block}_l` a pre-norm :class:`SleepViTBlock` whose residual branches
    survive with probability :math:`p_l` linear from 1.0 (block 1) to 0.7 (block L), and the
    128-unit shared layer :math:`W_s` feeding the two output branches. Training weights the two
    cross-entropies 1 and 2 (:attr:`LOSS_WEIGHTS`).

    Parameters
    ----------
    n_chans : int, optional
        Input channels C (the reference training used 5; 4 named ones are PPG, flow, thorax and
        abdomen); default: the length of ``chs_info``.
    n_outputs : int, default=5
        Sleep-stage classes (W, N1, N2, N3, REM).
    n_apnea : int
        Apnea classes (not stated by the paper; e.g. 4 for none, obstructive, central,
        hypopnea).
    n_times : int, default=2000
        Samples per epoch T (2000 in the reference training script, 1920 at 64 Hz in the paper).
    sfreq : float, optional
        Sampling rate of the input in Hz; stored (default ``n_times / 30``: 30-s epochs) and used
        to put relevance on a time axis.
    chs_info : list of dict or str, optional
        Channel descriptions (``mne.Info["chs"]`` or names), in input order.
    patch_size : int, default=20
        Samples per patch P (0.3125 s at 64 Hz).
    embed_dim : int, default=256
        Token width E.
    depth : int, default=6
        Encoder blocks L.
    n_heads : int, default=6
        Attention heads H.
    head_dim : int, optional
        Width d of each head; default ``embed_dim // n_heads`` (42: inner width 252, as Keras'
        ``key_dim=256 // 6``).
    mlp_dim : int, default=128
        Hidden width of each block's feed-forward network.
    shared_dim : int, default=128
        Width of the shared layer of the multitask head.
    survival_prob : float, default=0.7
        Survival probability of the last block's residual branches (the first block's is 1.0).
    drop_prob : float, default=0.0
        Dropout of the token embedding and the feed-forward networks (0 as published).

    Attributes
    ----------
    ch_names : tuple of str
        Input channel names (``ch0``, ... without ``chs_info``).
    n_patches : int
        N; trailing samples beyond ``N * patch_size`` are ignored, as by Keras' valid
        convolution.
    cls_token : Parameter, shape (1, 1, E)
    pos_embedding : Parameter, shape (1, N + 1, E)
    LOSS_WEIGHTS : dict
        ``{"stage": 1.0, "apnea": 2.0}``, the published weights of the two losses.

    Notes
    -----
    - Parameter count: :math:`1{,}984{,}773 + 5120\,C + 256\,N + 129\,K_a` for the published
      configuration with ``n_outputs=5`` (LayerNorms, attention without bias, MLP with bias,
      GELU shared layer), e.g. 2,036,489 for C = 5, T = 2000 (N = 100) and four apnea classes
      and 2,030,345 for C = 4, T = 1920 (N = 96). The paper states no count; this formula is
      regression-tested.
    - The reference code is Keras; the multitask head class is missing from it, so the shared
      layer's activation (GELU here) is a choice. Weights are initialised as Keras would
      (Glorot-uniform kernels, zero biases); the CLS token and the position embedding, whose
      initialisation is not stated, draw from N(0, 0.02^2).
    - Input is (batch, channel, time) as everywhere in physioaffect (the reference code takes
      (batch, time, channel)).
    - Without ``return_attention`` the attention runs through
      :func:`torch.nn.functional.scaled_dot_product_attention`; with it the matrices are computed
      explicitly (same outputs in eval mode).

    Shapes:
        - input: (batch, n_chans, n_times)
        - output: dict ``{"stage": (batch, n_outputs), "apnea": (batch, n_apnea)}`` of logits;
          with ``return_attention=True`` also ``"attention"``:
          (batch, depth, n_heads, n_patches + 1, n_patches + 1), token 0 the CLS token.

    Examples
    --------
    >>> import torch
    >>> from physioaffect.nets.sleep_vit import SleepViT
    >>> model = SleepViT(n_chans=5, n_apnea=4, n_times=2000)
    >>> model.count_parameters()
    ParameterCount(total=2036489, trainable=2036489)
    >>> out = model.eval()(torch.randn(2, 5, 2000), return_attention=True)
    >>> tuple(out["stage"].shape), tuple(out["apnea"].shape), tuple(out["attention"].shape)
    ((2, 5), (2, 4), (2, 6, 6, 101, 101))
    """

    LOSS_WEIGHTS = {"stage": 1.0, "apnea": 2.0}

    def __init__(self, n_chans: int | None = None, *, n_outputs: int = 5, n_apnea: int,
                 n_times: int = 2000, sfreq: float | None = None, chs_info: list | None = None,
                 patch_size: int = 20, embed_dim: int = 256, depth: int = 6, n_heads: int = 6,
                 head_dim: int | None = None, mlp_dim: int = 128, shared_dim: int = 128,
                 survival_prob: float = 0.7, drop_prob: float = 0.0):
        super().__init__()
        names = names_from_chs_info(chs_info) if chs_info is not None else None
        if n_chans is None and names is None:
            raise InvalidParameterError("SleepViT needs the number of channels: pass `n_chans` "
                                        "or `chs_info`")
        n = check_int(n_chans, "n_chans") if n_chans is not None else len(names)
        if names is not None and len(names) != n:
            raise InvalidParameterError(
                f"`n_chans`={n} does not match `chs_info`, which names {len(names)} channels")
        self.n_chans = n
        self.ch_names = tuple(names) if names is not None else tuple(f"ch{i}" for i in range(n))
        self.n_outputs = check_int(n_outputs, "n_outputs")
        self.n_apnea = check_int(n_apnea, "n_apnea")
        self.n_times = check_int(n_times, "n_times")
        self.patch_size = check_int(patch_size, "patch_size")
        if self.patch_size > self.n_times:
            raise InvalidParameterError(
                f"`patch_size`={self.patch_size} exceeds `n_times`={self.n_times}; expected at "
                "most one patch per n_times samples")
        self.sfreq = check_sfreq(sfreq) if sfreq is not None else self.n_times / 30.0
        self._sfreq_given = sfreq is not None
        self.embed_dim = check_int(embed_dim, "embed_dim")
        self.depth = check_int(depth, "depth", minimum=0)
        self.n_heads = check_int(n_heads, "n_heads")
        self.head_dim = (check_int(head_dim, "head_dim") if head_dim is not None
                         else check_int(self.embed_dim // self.n_heads, "embed_dim // n_heads"))
        self.mlp_dim = check_int(mlp_dim, "mlp_dim")
        self.shared_dim = check_int(shared_dim, "shared_dim")
        self.survival_probs = tuple(survival_probabilities(self.depth, survival_prob))
        self.survival_prob = float(survival_prob)
        self.drop_prob = check_prob(drop_prob, "drop_prob")
        self.n_patches = self.n_times // self.patch_size

        E = self.embed_dim
        self.patch_embedding = nn.Conv1d(self.n_chans, E, self.patch_size, stride=self.patch_size)
        self.cls_token = nn.Parameter(torch.empty(1, 1, E))
        self.pos_embedding = nn.Parameter(torch.empty(1, self.n_patches + 1, E))
        self.embed_drop = nn.Dropout(self.drop_prob)
        self.blocks = nn.ModuleList([
            SleepViTBlock(E, self.n_heads, self.head_dim, self.mlp_dim, p, self.drop_prob)
            for p in self.survival_probs])
        self.norm = nn.LayerNorm(E, eps=1e-6)
        self.shared = nn.Linear(E, self.shared_dim)
        self.stage_head = nn.Linear(self.shared_dim, self.n_outputs)
        self.apnea_head = nn.Linear(self.shared_dim, self.n_apnea)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise every weight (Keras defaults; CLS and positions N(0, 0.02^2))."""
        conv = self.patch_embedding
        _glorot_(conv.weight, self.n_chans * self.patch_size, self.embed_dim * self.patch_size)
        nn.init.zeros_(conv.bias)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embedding, std=0.02)
        for block in self.blocks:
            block.reset_parameters()
        self.norm.reset_parameters()
        for lin in (self.shared, self.stage_head, self.apnea_head):
            _glorot_(lin.weight, lin.in_features, lin.out_features)
            nn.init.zeros_(lin.bias)

    def count_parameters(self):
        """Total and trainable weights (equal: no batch-norm statistics).

        Returns
        -------
        ParameterCount
            ``(total, trainable)``; (2036489, 2036489) for 5 channels, 2000 samples, 4 apnea
            classes.
        """
        return count_parameters(self)

    def get_config(self) -> dict:
        """Constructor arguments that rebuild this model (for checkpoints)."""
        return {"n_chans": self.n_chans, "n_outputs": self.n_outputs, "n_apnea": self.n_apnea,
                "n_times": self.n_times, "sfreq": self.sfreq if self._sfreq_given else None,
                "chs_info": list(self.ch_names), "patch_size": self.patch_size,
                "embed_dim": self.embed_dim, "depth": self.depth, "n_heads": self.n_heads,
                "head_dim": self.head_dim, "mlp_dim": self.mlp_dim,
                "shared_dim": self.shared_dim, "survival_prob": self.survival_prob,
                "drop_prob": self.drop_prob}

    def patch_spans(self) -> list[tuple[int, int]]:
        """Sample span ``[start, stop)`` of each patch token (token i + 1 is patch i).

        Returns
        -------
        list of (int, int)
            ``(i * patch_size, (i + 1) * patch_size)`` for i in 0..n_patches - 1.
        """
        P = self.patch_size
        return [(i * P, (i + 1) * P) for i in range(self.n_patches)]

    def forward(self, x: Tensor, return_attention: bool = False) -> dict:
        """Stage and apnea logits of a batch of epochs.

        Parameters
        ----------
        x : Tensor, shape (batch, n_chans, n_times)
            Prepared epochs (resampled to ``n_times`` and scaled per channel).
        return_attention : bool, default=False
            Also return every block's token x token attention.

        Returns
        -------
        dict of Tensor
            ``"stage"`` (batch, n_outputs) and ``"apnea"`` (batch, n_apnea) logits; with
            ``return_attention``, ``"attention"`` (batch, depth, n_heads, N + 1, N + 1): softmax
            attention of each block and head, token 0 the CLS token and token i + 1 patch i;
            every row sums to 1.
        """
        check_input(x, (self.n_chans, self.n_times), ("n_chans", "n_times"), "SleepViT")
        tokens = self.patch_embedding(x).transpose(1, 2)  # (B, N, E)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        z = self.embed_drop(torch.cat([cls, tokens], dim=1) + self.pos_embedding)
        maps = []
        for block in self.blocks:
            if return_attention:
                z, attn = block(z, return_attention=True)
                maps.append(attn)
            else:
                z = block(z)
        u = nn.functional.gelu(self.shared(self.norm(z)[:, 0]))
        out = {"stage": self.stage_head(u), "apnea": self.apnea_head(u)}
        if return_attention:
            N = self.n_patches + 1
            out["attention"] = (torch.stack(maps, dim=1) if maps
                                else z.new_zeros(x.shape[0], 0, self.n_heads, N, N))
        return out

    def extra_repr(self) -> str:
        return (f"n_chans={self.n_chans}, n_outputs={self.n_outputs}, n_apnea={self.n_apnea}, "
                f"n_times={self.n_times}, patch_size={self.patch_size}, "
                f"survival_probs={tuple(round(p, 4) for p in self.survival_probs)}")
