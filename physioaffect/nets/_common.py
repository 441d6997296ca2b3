"""Helpers shared by the network modules: parameter counts, argument checks, channel resolution."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..errors import InvalidParameterError, InvalidSignalError
from ..montage import MONTAGE_NAMES, Montage, get_montage

__all__ = ["ParameterCount", "count_parameters"]


class ParameterCount(NamedTuple):
    """Number of weights of a module, counted as Keras does."""

    total: int
    trainable: int


def count_parameters(module: nn.Module) -> ParameterCount:
    """Total and trainable number of weights, counted the way Keras' ``model.summary()`` does.

    ``trainable`` is the number of elements of the parameters with ``requires_grad``. ``total``
    adds the frozen parameters and the running mean and variance of every batch-norm layer: Keras
    stores those statistics as non-trainable weights, PyTorch as buffers, so published Keras
    counts include them. The batch counter ``num_batches_tracked`` is not a weight and is not
    counted.

    Parameters
    ----------
    module : torch.nn.Module
        Any module.

    Returns
    -------
    ParameterCount
        Named tuple ``(total, trainable)``.

    Examples
    --------
    >>> from torch import nn
    >>> count_parameters(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)))
    ParameterCount(total=16, trainable=12)
    """
    params = list(module.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    total = sum(p.numel() for p in params)
    for sub in module.modules():
        if isinstance(sub, nn.modules.batchnorm._NormBase) and sub.track_running_stats:
            total += sub.running_mean.numel() + sub.running_var.numel()
    return ParameterCount(int(total), int(trainable))


def check_int(value, name: str, *, minimum: int = 1, why: str = "") -> int:
    """Return ``value`` as an int >= ``minimum``, or raise naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        extra = f" ({why})" if why else ""
        raise InvalidParameterError(
            f"`{name}` must be an integer >= {minimum}{extra}, got {value!r}")
    return int(value)


def check_prob(value, name: str) -> float:
    """Return ``value`` as a float in [0, 1), or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise InvalidParameterError(f"`{name}` must be a number in [0, 1), got {value!r}")
    return float(value)


def names_from_chs_info(chs_info) -> list[str]:
    """Channel names from MNE/braindecode ``chs_info`` (dicts with "ch_name") or plain strings."""
    if isinstance(chs_info, (str, bytes)) or not isinstance(chs_info, Sequence):
        raise InvalidParameterError(
            "`chs_info` must be a list of dicts with a 'ch_name' key (as mne.Info['chs']), "
            f"got {type(chs_info).__name__}")
    names = []
    for i, ch in enumerate(chs_info):
        if isinstance(ch, Mapping) and "ch_name" in ch:
            names.append(str(ch["ch_name"]))
        elif isinstance(ch, str):
            names.append(ch)
        else:
            raise InvalidParameterError(
                f"`chs_info[{i}]` must be a dict with a 'ch_name' key, got {ch!r}")
    lowered = [n.lower() for n in names]
    if len(set(lowered)) != len(lowered):
        dup = sorted({n for n in names if lowered.count(n.lower()) > 1})
        raise InvalidParameterError(f"`chs_info` names channels more than once: {dup}")
    return names


def _montage_hint(n: int) -> str:
    known = []
    for key in MONTAGE_NAMES:
        m = get_montage(key)
        if m.n_channels == n:
            known.append(f"montage={key!r}")
    return f"; for {n} channels pass {' or '.join(known)}" if known else ""


class Channels(NamedTuple):
    """Resolved channel layout of a model."""

    montage: Montage | None
    ch_names: tuple[str, ...]  # in the order of the model's input
    n_chans: int


def resolve_channels(n_chans, montage, chs_info, *, model: str,
                     default_montage: str | None) -> Channels:
    """Reconcile ``n_chans``, ``montage`` and ``chs_info`` into one channel layout.

    ``montage=None`` takes the built-in montage whose channel set is that of ``chs_info``, else
    ``default_montage`` (which may be None: no montage, channel names from ``chs_info``). ``chs_info`` fixes the input order and must
    name exactly the montage's channels; without it the input is in the montage's order.
    """
    names = names_from_chs_info(chs_info) if chs_info is not None else None
    if montage is None and names is not None:
        wanted = sorted(n.lower() for n in names)
        for key in MONTAGE_NAMES:
            if sorted(c.lower() for c in get_montage(key).ch_names) == wanted:
                montage = key
                break
    if montage is None:
        montage = default_montage
    mont = None
    if montage is not None:
        if not isinstance(montage, (str, Montage)):
            raise InvalidParameterError(
                f"`montage` must be a Montage or one of {list(MONTAGE_NAMES)}, got {montage!r}")
        mont = get_montage(montage)
    if names is None:
        if mont is None:
            if n_chans is None:
                raise InvalidParameterError(
                    f"{model} needs the number of channels: pass `n_chans`, `chs_info` or `montage`")
            n = check_int(n_chans, "n_chans")
            return Channels(None, tuple(f"ch{i}" for i in range(n)), n)
        names = list(mont.ch_names)
    if mont is not None:
        mine = {c.lower() for c in mont.ch_names}
        theirs = {c.lower() for c in names}
        if mine != theirs:
            missing = [c for c in mont.ch_names if c.lower() not in theirs]
            extra = [c for c in names if c.lower() not in mine]
            raise InvalidParameterError(
                f"`chs_info` must name exactly the {mont.n_channels} channels of montage "
                f"{mont.name!r}; missing {missing}, not in the montage {extra}")
    if n_chans is not None:
        n = check_int(n_chans, "n_chans")
        if n != len(names):
            source = (f"montage {mont.name!r}" if chs_info is None and mont is not None
                      else "`chs_info`")
            raise InvalidParameterError(
                f"`n_chans`={n} does not match {source}, which has {len(names)} channels; "
                f"expected n_chans={len(names)}{_montage_hint(n)}")
    return Channels(mont, tuple(names), len(names))


def input_order(ch_names: Sequence[str], target: Sequence[str]) -> np.ndarray | None:
    """Indices ``idx`` such that ``x[..., idx, :]`` puts input channels in ``target`` order.

    Returns None when the orders already agree.
    """
    lookup = {c.lower(): i for i, c in enumerate(ch_names)}
    idx = np.array([lookup[c.lower()] for c in target], dtype=np.int64)
    if np.array_equal(idx, np.arange(len(idx))):
        return None
    return idx


def check_input(x: torch.Tensor, expected: tuple, names: tuple[str, ...], model: str) -> None:
    """Raise InvalidSignalError unless ``x`` has shape (batch, *expected)."""
    if not isinstance(x, torch.Tensor):
        raise InvalidSignalError(f"{model} input must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != len(expected) + 1 or tuple(x.shape[1:]) != tuple(expected):
        want = ", ".join(["batch", *(f"{n}={v}" for n, v in zip(names, expected, strict=True))])
        raise InvalidSignalError(
            f"{model} input must have shape ({want}), got {tuple(x.shape)}")
