r"""Distillation losses of NeuroGaze-Distill (METHODS.md section 5.2) and Music2Emo (section 6b).

Each loss is a plain function of tensors that returns a scalar tensor (a mean over the batch), so
it composes into any ``loss_fn(outputs, targets)`` of :func:`physioaffect.training.train`.

The published NeuroGaze-Distill code was not available: only its hyper-parameters are known
(``proto_kd``: mode cos, weight 0.12, tau 0.90, temperature 5.0; ``d_geo``: weight 0.012 on
happiness and surprise, "late_cosine" from epoch 20 to 60, hard gate 0.2, intra-class). The
formulas below are the choices of this library, documented on each function:

- :func:`proto_kd_cosine`: :math:`1 - \cos(g(z), p_{c(y)})`.
- :func:`proto_kd_soft`: cross-entropy between :math:`\mathrm{softmax}(\cos(g(z), P) / T)` over all
  cells and a target distribution over the cells, :func:`cell_targets`, which puts ``tau`` on the
  class's cell and spreads ``1 - tau`` over its grid neighbours (so the grid's ordering of valence
  and arousal enters the target).
- :func:`dgeo_loss`: squared distance of L2-normalised projections to their batch class centroid,
  for the "high-valence" classes only, for the samples whose gate score reaches ``gate``.
- :func:`dgeo_weight`: the "late cosine" ramp of the D-Geo weight between two epochs.
- :func:`logit_kd_loss` and :func:`mix_kd`: Music2Emo's KD, ``w * KL + (1 - w) * task``.
- :func:`ccc` and :func:`ccc_loss`: Lin's concordance correlation and ``1 - CCC`` (section 6a).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...errors import InvalidParameterError

__all__ = [
    "proto_kd_cosine",
    "proto_kd_soft",
    "cell_targets",
    "dgeo_loss",
    "dgeo_weight",
    "logit_kd_loss",
    "mix_kd",
    "ccc",
    "ccc_loss",
]


def _check_2d(x: Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor) or x.ndim != 2:
        raise InvalidParameterError(
            f"`{name}` must be a 2-D tensor (batch, features), got "
            f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    return x


def _cosines(z: Tensor, prototypes: Tensor) -> Tensor:
    """Cosine similarity of every row of ``z`` (B, D) with every prototype (K, D) -> (B, K)."""
    _check_2d(z, "z")
    _check_2d(prototypes, "prototypes")
    if z.shape[1] != prototypes.shape[1]:
        raise InvalidParameterError(
            f"`z` has {z.shape[1]} features but the prototypes have {prototypes.shape[1]}; "
            "project the student's features to the prototype dimension first")
    zn = F.normalize(z.float(), dim=1, eps=1e-8)
    pn = F.normalize(prototypes.float(), dim=1, eps=1e-8)
    return zn @ pn.T


def proto_kd_cosine(z: Tensor, prototypes: Tensor, cells: Tensor) -> Tensor:
    r"""Proto-KD, cosine form: pull each projected feature towards its class's prototype.

    .. math:: L = \frac{1}{B} \sum_i \big(1 - \cos(z_i, p_{c_i})\big),
              \quad \cos(u, v) = \frac{u^\top v}{\lVert u \rVert \lVert v \rVert}

    Parameters
    ----------
    z : Tensor, shape (B, D)
        Student features projected to the prototype space, :math:`g(z)`.
    prototypes : Tensor, shape (K, D)
        Prototypes, flattened cell-major (``PrototypeGrid.flat``); need not be normalised.
    cells : Tensor of int, shape (B,)
        Target cell of each sample, :math:`c_i = c(y_i)`.

    Returns
    -------
    Tensor, scalar
        In [0, 2]; 0 when every feature points at its prototype.

    Shapes:
        - z: (B, D), prototypes: (K, D), cells: (B,)
        - output: ()

    Examples
    --------
    >>> import torch
    >>> P = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> z = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    >>> round(float(proto_kd_cosine(z, P, torch.tensor([0, 0]))), 6)  # (0 + 1 - 1/sqrt 2) / 2
    0.146447
    """
    cos = _cosines(z, prototypes)
    cells = cells.reshape(-1).long()
    if len(cells) != len(z):
        raise InvalidParameterError(f"`cells` must hold one cell per row of `z` ({len(z)}), got {len(cells)}")
    return (1.0 - cos.gather(1, cells[:, None])[:, 0]).mean()


def cell_targets(cells, grid_shape=(5, 5), tau: float = 0.9) -> Tensor:
    r"""Target distributions over the grid cells: ``tau`` on the cell, the rest on its neighbours.

    .. math:: q_i(k) = \tau\, 1[k = c_i] + \frac{1 - \tau}{|N(c_i)|}\, 1[k \in N(c_i)]

    with :math:`N(c)` the 4-neighbours of cell c on the (valence, arousal) grid (2 to 4 of them).
    ``tau = 1`` gives one-hot targets.

    Parameters
    ----------
    cells : array-like or Tensor of int, shape (B,)
        Flat cell indices ``iv * n_arousal + ia``.
    grid_shape : (int, int), default=(5, 5)
        Valence bins x arousal bins.
    tau : float in (0, 1], default=0.9
        Mass on the target cell (the ``tau`` of NeuroGaze-Distill's ``proto_kd``, read here as
        the target's confidence).

    Returns
    -------
    Tensor, shape (B, n_valence * n_arousal), float32
        Rows sum to 1.

    Examples
    --------
    >>> cell_targets([0], (2, 2), tau=0.8)
    tensor([[0.8000, 0.1000, 0.1000, 0.0000]])
    """
    nv, na = (int(g) for g in grid_shape)
    if not 0.0 < float(tau) <= 1.0:
        raise InvalidParameterError(f"`tau` must be in (0, 1], got {tau!r}")
    cells = torch.as_tensor(cells).reshape(-1).long().cpu()
    k = nv * na
    if len(cells) and (cells.min() < 0 or cells.max() >= k):
        raise InvalidParameterError(f"`cells` must be in [0, {k - 1}] for a {nv} x {na} grid")
    table = torch.zeros(k, k)
    for c in range(k):
        iv, ia = divmod(c, na)
        nbrs = [(iv + dv) * na + (ia + da) for dv, da in ((-1, 0), (1, 0), (0, -1), (0, 1))
                if 0 <= iv + dv < nv and 0 <= ia + da < na]
        if nbrs and tau < 1.0:
            table[c, c] = float(tau)
            table[c, nbrs] = (1.0 - float(tau)) / len(nbrs)
        else:
            table[c, c] = 1.0
    return table[cells]


def proto_kd_soft(z: Tensor, prototypes: Tensor, targets: Tensor,
                  temperature: float = 5.0) -> Tensor:
    r"""Proto-KD, soft form: cross-entropy of a softmax over the cosines to all prototypes.

    .. math:: L = -\frac{1}{B} \sum_i \sum_k q_i(k) \log
              \frac{\exp(\cos(z_i, p_k) / T)}{\sum_j \exp(\cos(z_i, p_j) / T)}

    Parameters
    ----------
    z : Tensor, shape (B, D)
        Projected student features.
    prototypes : Tensor, shape (K, D)
    targets : Tensor, shape (B,) of int or (B, K) of float
        Target cell per sample, or target distributions over the cells (e.g. :func:`cell_targets`).
    temperature : float > 0, default=5.0
        :math:`T`. Cosines lie in [-1, 1], so large T flattens the softmax and makes the loss a
        gentle pull; small T (e.g. 0.1) makes it a sharp cell classifier.

    Returns
    -------
    Tensor, scalar

    Shapes:
        - z: (B, D), prototypes: (K, D), targets: (B,) or (B, K)
        - output: ()

    Examples
    --------
    >>> import torch
    >>> P = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(proto_kd_soft(torch.tensor([[1.0, 0.0]]), P, torch.tensor([0]), 1.0)), 6)
    0.313262
    """
    if not float(temperature) > 0:
        raise InvalidParameterError(f"`temperature` must be > 0, got {temperature!r}")
    logits = _cosines(z, prototypes) / float(temperature)
    logp = torch.log_softmax(logits, dim=1)
    if targets.is_floating_point():
        if targets.shape != logits.shape:
            raise InvalidParameterError(
                f"soft `targets` must have shape {tuple(logits.shape)}, got {tuple(targets.shape)}")
        return -(targets.float() * logp).sum(1).mean()
    return F.nll_loss(logp, targets.reshape(-1).long())


def dgeo_loss(z: Tensor, labels: Tensor, positive_classes: Sequence[int], *,
              scores: Tensor | None = None, gate: float = 0.2) -> Tensor:
    r"""D-Geo: contract the high-valence classes around their batch centroids.

    With :math:`\hat z_i = z_i / \lVert z_i \rVert`, the set
    :math:`S = \{i : y_i \in C_+,\ s_i \ge \gamma\}` of gated samples of the positive classes
    :math:`C_+`, and :math:`\mu_c` the mean of :math:`\hat z_i` over the samples of S in class c,

    .. math:: L = \frac{1}{|S|} \sum_{i \in S} \lVert \hat z_i - \mu_{y_i} \rVert^2

    (0 when S is empty). Classes with a single gated sample contribute 0.

    Parameters
    ----------
    z : Tensor, shape (B, D)
        Projected student features.
    labels : Tensor of int, shape (B,)
        Class indices.
    positive_classes : sequence of int
        :math:`C_+`, e.g. the indices of happiness and surprise.
    scores : Tensor, shape (B,), optional
        Gate score :math:`s_i` of each sample, e.g. the student's (detached) probability of the
        sample's class; None lets every sample through.
    gate : float, default=0.2
        :math:`\gamma`, the hard gate.

    Returns
    -------
    Tensor, scalar

    Shapes:
        - z: (B, D), labels: (B,), scores: (B,)
        - output: ()

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    >>> float(dgeo_loss(z, torch.tensor([1, 1, 0]), [1]))  # centroid (0.5, 0.5): 2 * 0.5 / 2
    0.5
    """
    _check_2d(z, "z")
    labels = labels.reshape(-1).long()
    zn = F.normalize(z.float(), dim=1, eps=1e-8)
    pos = torch.as_tensor(list(positive_classes), dtype=torch.long, device=labels.device)
    keep = torch.isin(labels, pos)
    if scores is not None:
        keep = keep & (scores.reshape(-1).detach().float() >= float(gate))
    if not bool(keep.any()):
        return zn.sum() * 0.0
    zs, ls = zn[keep], labels[keep]
    total = zn.new_zeros(())
    for c in torch.unique(ls):
        members = zs[ls == c]
        total = total + ((members - members.mean(0, keepdim=True)) ** 2).sum()
    return total / len(zs)


def dgeo_weight(epoch: float, weight: float = 0.012, start: float = 20, end: float = 60) -> float:
    r"""The "late cosine" ramp of the D-Geo weight.

    .. math:: w(e) = \begin{cases} 0 & e < e_0 \\
              \tfrac{w}{2}\big(1 - \cos(\pi \frac{e - e_0}{e_1 - e_0})\big) & e_0 \le e < e_1 \\
              w & e \ge e_1 \end{cases}

    Parameters
    ----------
    epoch : float
        Current epoch (0-based; fractional for a step inside an epoch).
    weight : float, default=0.012
        Final weight :math:`w`.
    start, end : float, default=20, 60
        :math:`e_0 < e_1`; with ``start == end`` the weight jumps to ``w`` at ``start``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(dgeo_weight(40, 0.012, 20, 60), 6)  # half way
    0.006
    """
    if end < start:
        raise InvalidParameterError(f"D-Geo ramp needs start <= end, got start={start}, end={end}")
    if epoch < start:
        return 0.0
    if epoch >= end:
        return float(weight)
    return float(weight) * 0.5 * (1.0 - math.cos(math.pi * (epoch - start) / (end - start)))


def logit_kd_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0, *,
                  t_squared: bool = False) -> Tensor:
    r"""Logit distillation: KL divergence from the teacher's to the student's tempered softmax.

    .. math:: L_{KD} = \frac{1}{B} \sum_i \sum_k q_{ik} (\log q_{ik} - \log p_{ik}), \quad
              q_i = \mathrm{softmax}(t_i / T),\ p_i = \mathrm{softmax}(s_i / T)

    as ``torch.nn.KLDivLoss(reduction="batchmean")`` on ``log_softmax(s / T)`` (Music2Emo,
    METHODS.md 6b.3, T = 1). Music2Emo also applies it to a 2-d valence/arousal output, where the
    softmax runs over the two values; pass those outputs as ``student_logits`` to reproduce that.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor, shape (B, K)
        The teacher's are treated as constants (detached).
    temperature : float > 0, default=1.0
    t_squared : bool, default=False
        Multiply by :math:`T^2` (Hinton et al.'s gradient-scale correction); Music2Emo does not.

    Returns
    -------
    Tensor, scalar

    Shapes:
        - student_logits, teacher_logits: (B, K)
        - output: ()

    Examples
    --------
    >>> import torch
    >>> s = torch.zeros(1, 2); t = torch.log(torch.tensor([[0.75, 0.25]]))
    >>> round(float(logit_kd_loss(s, t)), 6)  # 0.75 ln 1.5 + 0.25 ln 0.5
    0.130812
    """
    _check_2d(student_logits, "student_logits")
    if teacher_logits.shape != student_logits.shape:
        raise InvalidParameterError(
            f"teacher logits {tuple(teacher_logits.shape)} and student logits "
            f"{tuple(student_logits.shape)} must share one shape")
    T = float(temperature)
    if not T > 0:
        raise InvalidParameterError(f"`temperature` must be > 0, got {temperature!r}")
    logp = torch.log_softmax(student_logits.float() / T, dim=1)
    logq = torch.log_softmax(teacher_logits.detach().float() / T, dim=1)
    out = (logq.exp() * (logq - logp)).sum(1).mean()
    return out * T * T if t_squared else out


def mix_kd(kd: Tensor, task: Tensor, weight: float = 0.8) -> Tensor:
    r"""Music2Emo's mixture of the distillation and task losses: :math:`w L_{KD} + (1 - w) L_{task}`.

    Parameters
    ----------
    kd, task : Tensor, scalar
    weight : float in [0, 1], default=0.8
        :math:`w` (0.8 in Music2Emo).

    Returns
    -------
    Tensor, scalar

    Examples
    --------
    >>> import torch
    >>> float(mix_kd(torch.tensor(1.0), torch.tensor(2.0), 0.75))
    1.25
    """
    w = float(weight)
    if not 0.0 <= w <= 1.0:
        raise InvalidParameterError(f"the KD weight must be in [0, 1], got {weight!r}")
    return w * kd + (1.0 - w) * task


def ccc(pred: Tensor, target: Tensor, eps: float = 1e-12) -> Tensor:
    r"""Lin's concordance correlation coefficient per column, with population moments.

    .. math:: \rho_c = \frac{2 \sigma_{xy}}{\sigma_x^2 + \sigma_y^2 + (\mu_x - \mu_y)^2}

    Parameters
    ----------
    pred, target : Tensor, shape (N,) or (N, d)
    eps : float, default=1e-12
        Added to the denominator.

    Returns
    -------
    Tensor, shape () for 1-D inputs or (d,)

    Shapes:
        - pred, target: (N,) or (N, d)
        - output: () or (d,)

    Examples
    --------
    >>> import torch
    >>> round(float(ccc(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 3.0, 4.0]))), 6)
    0.571429
    """
    x, y = pred.float(), target.float()
    if x.shape != y.shape or x.ndim not in (1, 2) or len(x) == 0:
        raise InvalidParameterError(
            f"`pred` and `target` must share a shape (N,) or (N, d), got {tuple(x.shape)} and "
            f"{tuple(y.shape)}")
    mx, my = x.mean(0), y.mean(0)
    vx, vy = ((x - mx) ** 2).mean(0), ((y - my) ** 2).mean(0)
    cov = ((x - mx) * (y - my)).mean(0)
    return 2.0 * cov / (vx + vy + (mx - my) ** 2 + eps)


def ccc_loss(pred: Tensor, target: Tensor) -> Tensor:
    r"""One minus the CCC, averaged over the output columns (a batch statistic).

    .. math:: L = 1 - \frac{1}{d} \sum_j \rho_{c,j}

    Shapes:
        - pred, target: (N,) or (N, d)
        - output: ()

    Examples
    --------
    >>> import torch
    >>> round(float(ccc_loss(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 3.0, 4.0]))), 6)
    0.428571
    """
    return 1.0 - ccc(pred, target).mean()
