r"""Relevance over time of a sleep ViT decision, from the attention of its CLS token.

The sleep ViT (:class:`physioaffect.nets.sleep_vit.SleepViT`) classifies an epoch from its CLS
token, so how much the CLS token draws from each patch token says which stretch of the epoch the
decision rests on (METHODS.md 4.4: the CLS row over the patch tokens is mapped back to time,
patch i covering samples :math:`iP \dots iP + P - 1`). Two aggregations are offered; the
reference leaves the choice open.

``"rollout"`` (default; attention rollout, Abnar & Zuidema 2020) follows information through
every block, the residual path counted as half of each block's mixing:

.. math::
    \bar A_l = \tfrac12\Big(\tfrac1H \sum_{h=1}^{H} A_{l,h} + I\Big), \qquad
    R = \bar A_L \bar A_{L-1} \cdots \bar A_1, \qquad
    r_i = \frac{R_{0,\,i+1}}{\sum_{j=1}^{N} R_{0,\,j}},

``"last"`` reads the last block only:

.. math::
    r_i = \frac{\bar a_{0,\,i+1}}{\sum_{j=1}^{N} \bar a_{0,\,j}}, \qquad
    \bar a = \tfrac1H \sum_{h=1}^{H} A_{L,h},

with :math:`A_{l,h}` the softmax attention of block l and head h (token 0 the CLS token, token
i + 1 patch i). Either way the CLS token's attention to itself is left out and the patch relevance
:math:`r \in \mathbb{R}^N` sums to 1. On the time axis each sample carries its patch's relevance
spread evenly over the patch's P samples, :math:`\rho_t = r_{\lfloor t/P \rfloor} / P`, so the
relevance of an epoch sums to 1 over its samples too; samples past the last whole patch (ignored
by the network) get 0.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError

__all__ = ["cls_relevance", "patch_to_samples", "relevance_over_time", "RELEVANCE_METHODS"]

RELEVANCE_METHODS = ("rollout", "last")


def _as_tensor(attention):
    import torch

    if isinstance(attention, torch.Tensor):
        return attention.detach().to(torch.float64)
    return torch.as_tensor(np.asarray(attention, dtype=np.float64))


def cls_relevance(attention, *, method: str = "rollout"):
    r"""Relevance of each patch to the CLS token, from a model's attention maps.

    Parameters
    ----------
    attention : Tensor or ndarray, shape (batch, depth, n_heads, N + 1, N + 1)
        Softmax attention of every block and head (``SleepViT(...)(x, return_attention=True)
        ["attention"]``), token 0 the CLS token.
    method : {"rollout", "last"}, default="rollout"
        Aggregation across blocks and heads; see the module documentation.

    Returns
    -------
    ndarray of float64, shape (batch, N)
        Patch relevance, non-negative, each row summing to 1.

    Shapes:
        - input: (B, L, H, N + 1, N + 1)
        - output: (B, N)

    Examples
    --------
    >>> import numpy as np
    >>> A = np.full((1, 1, 2, 3, 3), 1 / 3)
    >>> A[0, 0, :, 0] = [0.2, 0.6, 0.2]  # the CLS token attends mostly to patch 0
    >>> cls_relevance(A, method="last").round(2)
    array([[0.75, 0.25]])
    """
    import torch

    if method not in RELEVANCE_METHODS:
        raise InvalidParameterError(f"`method` must be one of {list(RELEVANCE_METHODS)}, "
                                    f"got {method!r}")
    A = _as_tensor(attention)
    if A.dim() != 5 or A.shape[-1] != A.shape[-2] or A.shape[-1] < 2 or A.shape[1] < 1:
        raise InvalidParameterError(
            "`attention` must have shape (batch, depth >= 1, n_heads, N + 1, N + 1), got "
            f"{tuple(A.shape)}")
    mean = A.mean(dim=2)  # (B, L, N+1, N+1)
    if method == "last":
        row = mean[:, -1, 0, 1:]
    else:
        eye = torch.eye(A.shape[-1], dtype=A.dtype)
        R = eye.expand(A.shape[0], -1, -1)
        for layer in range(A.shape[1]):
            R = (0.5 * (mean[:, layer] + eye)) @ R
        row = R[:, 0, 1:]
    row = row.clamp_min(0.0)
    total = row.sum(dim=-1, keepdim=True)
    row = torch.where(total > 0, row / total.clamp_min(1e-300),
                      torch.full_like(row, 1.0 / row.shape[-1]))
    return row.numpy()


def patch_to_samples(patch_relevance, patch_size: int, n_times: int) -> np.ndarray:
    r"""Spread patch relevance over the samples each patch covers.

    .. math::
        \rho_t = r_{\lfloor t / P \rfloor} / P \quad (t < NP), \qquad \rho_t = 0 \quad (t \ge NP)

    Parameters
    ----------
    patch_relevance : array-like, shape (..., N)
        Relevance of each patch (e.g. from :func:`cls_relevance`).
    patch_size : int
        Samples per patch P.
    n_times : int
        Samples per epoch T, at least N P.

    Returns
    -------
    ndarray of float64, shape (..., n_times)
        Per-sample relevance; sums over time to the patches' sum.

    Shapes:
        - input: (..., N)
        - output: (..., T)

    Examples
    --------
    >>> patch_to_samples([[0.75, 0.25]], 2, 5)
    array([[0.375, 0.375, 0.125, 0.125, 0.   ]])
    """
    r = np.asarray(patch_relevance, dtype=np.float64)
    P, T = int(patch_size), int(n_times)
    if P < 1 or r.ndim < 1 or r.shape[-1] * P > T:
        raise InvalidParameterError(
            f"{r.shape[-1] if r.ndim else 0} patches of {P} samples do not fit in n_times={T}; "
            "expected patch_size >= 1 and n_patches * patch_size <= n_times")
    out = np.zeros(r.shape[:-1] + (T,))
    out[..., : r.shape[-1] * P] = np.repeat(r / P, P, axis=-1)
    return out


def relevance_over_time(model, x, *, method: str = "rollout", batch_size: int = 64,
                        device=None) -> np.ndarray:
    r"""Per-sample relevance of a sleep ViT's decision for each epoch.

    Runs ``model`` in eval mode with ``return_attention=True`` and applies
    :func:`cls_relevance` then :func:`patch_to_samples`. The relevance is that of the shared
    CLS representation, so it serves both the stage and the apnea output.

    Parameters
    ----------
    model : SleepViT
        A (trained) model.
    x : array-like or Tensor, shape (n_epochs, n_chans, n_times)
        Prepared epochs, as the model takes them.
    method : {"rollout", "last"}, default="rollout"
    batch_size : int, default=64
    device : str or torch.device, optional
        Default: the device of the model's parameters.

    Returns
    -------
    ndarray of float64, shape (n_epochs, n_times)
        Non-negative; every row sums to 1 (see the module documentation).

    Shapes:
        - input: (B, C, T)
        - output: (B, T)
    """
    import torch

    if method not in RELEVANCE_METHODS:
        raise InvalidParameterError(f"`method` must be one of {list(RELEVANCE_METHODS)}, "
                                    f"got {method!r}")
    was_training = model.training
    model.eval()
    if device is None:
        device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(x, dtype=np.float32)) if not isinstance(x, torch.Tensor) \
        else x.float()
    parts = []
    try:
        with torch.no_grad():
            for s in range(0, len(x), int(batch_size)):
                attn = model(x[s:s + batch_size].to(device), return_attention=True)["attention"]
                parts.append(cls_relevance(attn.cpu(), method=method))
    finally:
        model.train(was_training)
    r = np.concatenate(parts) if parts else np.zeros((0, model.n_patches))
    return patch_to_samples(r, model.patch_size, model.n_times)
